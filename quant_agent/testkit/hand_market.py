"""The momentum-top3 hand-built market: four tickers, 150 sessions, fills worked by hand.

Shared by the preset's own test (tests/unit/backtest/test_preset_by_hand.py, which tells
the story of every fill) and the core-path equality test.
"""

from __future__ import annotations

import pandas as pd

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
