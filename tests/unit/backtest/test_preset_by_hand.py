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
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from quant_agent.backtest_preset import Market, run_preset, write_fills
from quant_agent.cli import app
from quant_agent.testkit.reference_loop import reference_fills

DAYS = 150
EXPECTED = [
    (127, "A", "BUY", 307, "130.00"),
    (127, "B", "BUY", 666, "60.00"),
    (127, "C", "BUY", 5, "22.00"),
    (128, "A", "SELL", 307, "100.00"),  # gap through the stop: the open
    (129, "D", "BUY", 3100, "10.50"),
    (129, "D", "SELL", 3100, "9.98"),  # both exits touched: the stop
    (130, "B", "SELL", 666, "66.00"),  # target
    (131, "B", "BUY", 573, "65.00"),
    (147, "C", "SELL", 5, "22.50"),  # max hold, at the open
]
FINAL_EQUITY = 55_922.5 + 573 * 65.0


def _series(base: float, changes: dict[int, float | tuple[float, float, float, float]]) -> list:
    bars, level = [], base
    for t in range(DAYS):
        found = changes.get(t)
        if isinstance(found, tuple):
            bars.append(found)
            level = found[3]
        else:
            level = found if found is not None else level
            bars.append((level, level, level, level))
    return bars


def hand_market(dates: pd.DatetimeIndex | None = None) -> pd.DataFrame:
    """The market above, on ``dates`` (default: business days from 2024-01-01)."""
    spec = {
        "A": _series(100.0, {126: 130.0, 128: (100.0, 101.0, 99.0, 100.0)}),
        "B": _series(50.0, {126: 60.0, 130: (60.0, 66.5, 59.5, 65.0)}),
        "C": _series(20.0, {126: 22.0, 147: (22.5, 22.5, 20.0, 20.0)}),
        "D": _series(10.0, {128: 10.5, 129: (10.5, 11.6, 9.9, 10.0)}),
    }
    dates = pd.bdate_range("2024-01-01", periods=DAYS) if dates is None else dates
    rows = [
        {"date": d, "ticker": tk, "open": b[0], "high": b[1], "low": b[2], "close": b[3],
         "volume": 1_000_000}
        for tk, bars in spec.items() for d, b in zip(dates, bars, strict=True)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def expected_rows(dates: pd.DatetimeIndex) -> list[tuple[str, str, str, int, str]]:
    return [(f"{dates[t]:%Y-%m-%d}", tk, side, q, p) for t, tk, side, q, p in EXPECTED]


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
                                      str(data), "--json", "--fills-out", str(fills)])  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
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
