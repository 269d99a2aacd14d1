"""The momentum-top3 preset on a hand-built market: fills worked out by hand.

Four tickers, 150 sessions. Flat until day 126, when A, B and C jump (momentum 30 %, 20 %,
10 %): the close of 126 buys A 307 (40 % of 100,000 at 130.00), B 666 (40 % at 60.00) and,
the 20 % reserve binding, only C 5 (128.00 left above the reserve at 22.00), all at the
open of 127. Stops/targets half-up: A 123.50/143.00, B 57.00/66.00, C 20.90/24.20.
Day 128 A gaps to 100.00, below its stop: sold at the open (100.00, not 123.50); D closes
at 10.50 and takes the freed slot: 3100 shares (cash 50,716 - 20 % of equity 90,786).
Day 129 D's bar touches its stop 9.98 and its target 11.55: the stop wins. Day 130 B's
high meets its target 66.00; the close buys B again, 573 at 65.00. C, entered on 127,
leaves at the open of 147 (its 20th held day closed on 146) at 22.50. B stays open.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from quant_agent.backtest_preset import Market, run_preset, write_fills
from quant_agent.cli import app
from quant_agent.testkit.hand_market import DAYS, EXPECTED, FINAL_EQUITY, expected_rows, hand_market
from quant_agent.testkit.reference_loop import reference_fills


def test_the_preset_fills_match_the_hand_worked_list() -> None:
    bars = hand_market()
    result = run_preset(Market.from_bars(bars))
    dates = pd.DatetimeIndex(sorted(bars["date"].unique()))
    assert [f.row() for f in result.fills] == expected_rows(dates)
    assert [f.reason for f in result.fills if f.side == "SELL"] == [
        "stop", "stop", "take", "maxhold"]  # fmt: skip
    assert result.trades == 5
    assert result.final_equity == pytest.approx(FINAL_EQUITY, abs=1e-6)
    assert result.bars == 4 * DAYS


def test_the_plain_loop_agrees_on_the_hand_market() -> None:
    m = Market.from_bars(hand_market())
    fills, final, trades = reference_fills(
        m.dates, m.tickers, m.open.tolist(), m.high.tolist(), m.low.tolist(), m.close.tolist()
    )
    assert fills == [f.row() for f in run_preset(m).fills]
    assert (final, trades) == (pytest.approx(FINAL_EQUITY), 5)


def test_the_cli_preset_writes_json_and_the_fill_csv(tmp_path: Path) -> None:
    data = tmp_path / "bars.parquet"
    bars = hand_market()
    bars.to_parquet(data)
    fills = tmp_path / "fills.csv"
    result = CliRunner().invoke(app, ["backtest", "--preset", "momentum-top3", "--data",
                                      str(data), "--json", "--fills-out", str(fills),
                                      "--out-dir", str(tmp_path / "runs")])  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["run_id"] == "bt-20240101-1"  # stored under a run id, not in live tables
    with sqlite3.connect(tmp_path / "runs" / "bt-20240101-1.db") as db:
        assert db.execute("SELECT count(*) FROM preset_fills").fetchone() == (len(EXPECTED),)
    assert summary["trades"] == 5 and summary["bars"] == 4 * DAYS
    assert summary["final_equity"] == pytest.approx(FINAL_EQUITY)
    assert summary["wall_seconds"] >= 0
    with fills.open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["date", "ticker", "side", "quantity", "price"]
    dates = pd.DatetimeIndex(sorted(bars["date"].unique()))
    assert [tuple(r) for r in rows[1:]] == [
        (d, tk, s, str(q), p) for d, tk, s, q, p in expected_rows(dates)]  # fmt: skip


def test_fills_csv_round_trip(tmp_path: Path) -> None:
    result = run_preset(Market.from_bars(hand_market()))
    text = write_fills(result.fills, tmp_path / "f.csv").read_text().splitlines()
    assert len(text) == 1 + len(EXPECTED)
