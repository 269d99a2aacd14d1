"""``make run`` from a fresh clone: ``quant-agent run`` on the embedded defaults (demo
market, default replay window) completes and prints a summary with closed trades."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from quant_agent.cli import app


def test_demo_replay_on_defaults_prints_a_summary_with_closed_trades(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no config file: the embedded defaults, as make run uses
    env = {"QA_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"}
    result = CliRunner().invoke(app, ["run", "--json"], env=env)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["window"] == ["2024-02-08", "2024-04-30"]
    assert summary["trades"] >= 1 and summary["orders"] > summary["trades"]
    assert summary["signals"] >= summary["trades"] and summary["fills"] >= 2 * summary["trades"]
    assert summary["trading_state"] == "RUNNING" and not summary["stopped_early"]
    assert sum(summary["exits"].values()) == summary["trades"]
