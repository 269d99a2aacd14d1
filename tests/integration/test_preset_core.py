"""``momentum-top3`` through the live core equals the fast preset fill for fill.

The core path is ``backtest.run_backtest`` (scans, ``TradeExecutor``, ``RiskMonitor``,
``OrderManager``, paper venue with the touch fill model) on ``preset_config()``: only
settings of the same modules. Its fill list must equal ``run_preset``'s (itself checked by
hand, against a plain loop and against backtrader), on the hand-built market of
tests/unit/backtest/test_preset_by_hand.py (on NYSE sessions: the core trades the
exchange calendar) and on a year of 12 real tickers (2015-07..2016-06)."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from quant_agent.backtest import core_fills, run_backtest
from quant_agent.backtest_preset import Market, preset_config, run_preset
from quant_agent.cli import app
from quant_agent.market.calendar import get_calendar
from quant_agent.market.source import load_history
from quant_agent.testkit.hand_market import DAYS, FINAL_EQUITY, expected_rows, hand_market


def core_run(bars: pd.DataFrame, folder: Path, first: int) -> tuple[list[tuple[str, ...]], float]:
    """The core backtest of the preset on ``bars`` from session ``first`` (the fast preset
    cannot trade before session 126: no momentum): its fill rows and final equity."""
    path = folder / "bars.parquet"
    bars.to_parquet(path)
    config = preset_config({"data": {"source": "files", "daily_path": str(path)}})
    history = load_history(config.data)
    days = history.dates
    result = run_backtest(config, history, (days[first].date(), days[-1].date()),
                          out_dir=folder / "runs")  # fmt: skip
    rows = core_fills(f"sqlite:///{result.db_path}", "reference").itertuples(index=False)
    return [tuple(str(v) for v in r) for r in rows], float(result.summary.equity)


def fast_rows(bars: pd.DataFrame) -> tuple[list[tuple[str, ...]], float]:
    result = run_preset(Market.from_bars(bars))
    return [tuple(str(v) for v in f.row()) for f in result.fills], result.final_equity


def test_the_cli_core_engine_fills_the_hand_market_like_the_preset(tmp_path: Path) -> None:
    sessions = get_calendar("NYSE").trading_days(date(2023, 6, 1), date(2024, 6, 1))[:DAYS]
    dates = pd.DatetimeIndex(sessions)
    bars = hand_market(dates)
    bars.to_parquet(tmp_path / "bars.parquet")
    out = tmp_path / "fills.csv"
    result = CliRunner().invoke(app, [
        "backtest", "--preset", "momentum-top3", "--engine", "core", "--data",
        str(tmp_path / "bars.parquet"), "--start", f"{dates[120]:%Y-%m-%d}", "--json",
        "--fills-out", str(out), "--out-dir", str(tmp_path / "runs"),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (tmp_path / "runs" / f"{summary['run_id']}.db").exists()
    with out.open() as fh:
        core = [tuple(r) for r in csv.reader(fh)][1:]
    fast, fast_equity = fast_rows(bars)
    assert core == fast == [tuple(str(v) for v in r) for r in expected_rows(dates)]
    assert summary["trades"] == 5
    assert summary["final_equity"] == pytest.approx(fast_equity, abs=0.005)
    assert summary["final_equity"] == pytest.approx(FINAL_EQUITY)


@pytest.mark.shared_data
def test_the_core_path_fills_a_real_year_like_the_preset(shared_data: Path, tmp_path: Path) -> None:
    bars = pd.read_parquet(shared_data / "panel_2520.parquet")
    tickers = sorted(bars["ticker"].unique())
    keep = tickers[:: len(tickers) // 12][:12]
    bars = bars[bars["ticker"].isin(keep) & (pd.to_datetime(bars["date"]) <= "2016-06-30")]
    core, equity = core_run(bars, tmp_path, 100)
    fast, fast_equity = fast_rows(bars)
    assert len(fast) >= 30  # a meaningful comparison: stops, targets, max holds, re-entries
    assert core == fast
    assert equity == pytest.approx(fast_equity, abs=0.005)


def test_intraday_mode_takes_the_exits_from_the_intraday_path(tmp_path: Path) -> None:
    """Session 129: D's daily bar touches its stop (9.98) and its target (11.55), and the
    daily rule says the stop wins; its intraday bars show the target first (10:00 at 11.60,
    the low only at 11:00), so intraday mode sells at the target."""
    sessions = get_calendar("NYSE").trading_days(date(2023, 6, 1), date(2024, 6, 1))[:DAYS]
    dates = pd.DatetimeIndex(sessions)
    bars = hand_market(dates)
    day = dates[129]
    paths = {"A": [100.0] * 4, "B": [60.0] * 4, "C": [22.0] * 4, "D": [10.5, 11.6, 9.9, 10.0]}
    times = ["09:31", "10:00", "11:00", "15:59"]
    rows = [{"ts": pd.Timestamp(f"{day:%Y-%m-%d} {at}"), "ticker": tk, "open": p, "high": p,
             "low": p, "close": p, "volume": 1000}
            for tk, path in paths.items() for at, p in zip(times, path, strict=True)]  # fmt: skip
    pd.DataFrame(rows).to_parquet(tmp_path / "intraday.parquet")
    bars.to_parquet(tmp_path / "bars.parquet")
    out = tmp_path / "fills.csv"
    result = CliRunner().invoke(app, [
        "backtest", "--preset", "momentum-top3", "--engine", "core", "--data",
        str(tmp_path / "bars.parquet"), "--start", f"{dates[120]:%Y-%m-%d}",
        "--end", f"{day:%Y-%m-%d}", "--intraday", str(tmp_path / "intraday.parquet"),
        "--json", "--fills-out", str(out), "--out-dir", str(tmp_path / "runs"),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    with out.open() as fh:
        fills = [tuple(r) for r in csv.reader(fh)][1:]
    daily = [tuple(str(v) for v in r) for r in expected_rows(dates)][:6]
    assert fills[:5] == daily[:5]  # the same until D's exit
    assert fills[5] == (f"{day:%Y-%m-%d}", "D", "SELL", "3100", "11.55")  # not the stop 9.98
