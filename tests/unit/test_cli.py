"""The command line, run in-process against a temporary SQLite database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from quant_agent.cli import app
from quant_agent.storage import migrate
from quant_agent.storage.store import Store

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)  # no config file here: embedded defaults
    return {
        "QA_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "QA_DATA__DEMO_TICKERS": "12",
        "QA_DATA__DEMO_START": "2023-01-03",
    }


SHORT = ["--replay", "2024-02-08:2024-02-09"]


def test_run_starts_a_paper_session_on_embedded_defaults(env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["run", "--json", *SHORT], env=env)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["window"] == ["2024-02-08", "2024-02-09"] and summary["steps"] > 0
    status = summary["session"]
    assert status["mode"] == "paper" and status["data_source"] == "demo"
    assert status["schema_revision"] == migrate.head_revision()
    assert status["tickers"] >= 12 and status["last_session"] == "2024-12-31"
    assert 0 < len(status["leaders"]) <= 10
    store = Store.open(env["QA_DATABASE_URL"])
    with store.unit_of_work() as uow:
        assert uow.system_state.get("heartbeat")["mode"] == "paper"
    store.close()


def test_run_prints_a_readable_status(env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["run", *SHORT], env=env)
    assert result.exit_code == 0, result.output
    assert "paper session" in result.output and "momentum leaders" in result.output
    assert "paper replay" in result.output and "trades" in result.output


def test_run_with_bad_config_exits_2_naming_the_field(env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["run"], env={**env, "QA_TRADING__MODE": "demo"})
    assert result.exit_code == 2
    assert "trading.mode" in result.output


def test_db_upgrade_is_idempotent(env: dict[str, str]) -> None:
    for _ in range(2):
        result = CliRunner().invoke(app, ["db", "upgrade"], env=env)
        assert result.exit_code == 0, result.output
        assert f"at revision {migrate.head_revision()}" in result.output


def test_calendar_shows_early_close_and_holiday() -> None:
    result = CliRunner().invoke(app, ["calendar", "--day", "2025-11-28"])
    assert result.exit_code == 0, result.output
    assert "09:30-13:00" in result.output and "early close" in result.output
    result = CliRunner().invoke(app, ["calendar", "--day", "2025-07-01", "--exchange", "TSX"])
    assert "closed" in result.output


def test_data_check_fails_on_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bars.csv"
    bad.write_text(
        "date,ticker,open,high,low,close,volume\n"
        "2025-01-02,AAA,10,11,9,10.5,100\n"
        "2025-01-02,AAA,10,11,9,10.5,100\n"
    )
    result = CliRunner().invoke(app, ["data", "check", str(bad)])
    assert result.exit_code == 1
    assert "bars.csv" in result.output and "duplicate" in result.output.lower()


def test_console_script_is_installed() -> None:
    exe = Path(sys.executable).parent / "quant-agent"
    result = subprocess.run([exe, "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "config" in result.stdout


def test_wall_clock_reads_outside_core_clock_are_banned() -> None:
    """Ruff's banned-API rule (project config) flags datetime.now / time.time in domain code."""
    source = (
        "import time\nfrom datetime import datetime\n\n"
        "def f() -> float:\n    return datetime.now().timestamp() + time.time()\n"
    )
    ruff = Path(sys.executable).parent / "ruff"
    args = [ruff, "check", "--select", "TID251", "--output-format", "concise"]
    for filename, expected in (("quant_agent/probe.py", 2), ("quant_agent/core/clock.py", 0)):
        result = subprocess.run(
            [*args, "--stdin-filename", filename, "-"],
            input=source, capture_output=True, text=True, cwd=REPO, check=False,
        )  # fmt: skip
        assert result.stdout.count("TID251") == expected, result.stdout
