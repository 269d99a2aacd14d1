"""``make run`` from a fresh clone: ``quant-agent run`` on the embedded defaults (demo
market, default replay window) completes and prints a summary with closed trades, and
writes the after-close report of the last session only."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from quant_agent.cli import app
from quant_agent.storage.store import Store


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
    store = Store.open(env["QA_DATABASE_URL"], upgrade=False)
    with store.unit_of_work() as uow:
        trades = uow.trades.list()
        daily = uow.equity.list(kind="daily")
        var = uow.system_state.get("risk.var")
    store.close()
    assert all(t.signal_id is not None and t.position_id is not None for t in trades)
    assert len(daily) == 57  # one per session of the window
    assert daily[-1].equity == Decimal(summary["equity"])
    assert var["days"] == 250 or Decimal(var["positions_value"]) == 0  # VaR at each close
    reports = sorted(p.name for p in (tmp_path / "var" / "reports").iterdir())
    assert reports == ["report-2024-04-30.html"]  # runner.close_report: last, not one a day
