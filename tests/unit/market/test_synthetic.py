"""The synthetic market: deterministic, valid bars on NYSE sessions, with findable momentum."""

from __future__ import annotations

from datetime import date, timedelta

import exchange_calendars as xcals
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_agent.market.history import validate_daily_bars
from quant_agent.market.synthetic import (
    BENCHMARK_SECTOR,
    SECTORS,
    SyntheticMarket,
    generate_market,
    synthetic_tickers,
)


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return generate_market(n_tickers=40, start=date(2024, 6, 3), end=date(2025, 12, 31), seed=7)


def assert_ohlc_invariants(bars: pd.DataFrame) -> None:
    o, h, lo, c = (bars[col].to_numpy() for col in ("open", "high", "low", "close"))
    assert (lo <= np.minimum(o, c)).all()
    assert (np.maximum(o, c) <= h).all()
    assert (lo >= 1.0).all()
    assert np.isfinite(np.stack([o, h, lo, c])).all()
    assert (np.round(np.stack([o, h, lo, c]), 2) == np.stack([o, h, lo, c])).all()  # cents
    assert bars["volume"].dtype == np.int64
    assert (bars["volume"] > 0).all()


def test_same_seed_gives_identical_frames() -> None:
    a = generate_market(n_tickers=20, seed=3)
    b = generate_market(n_tickers=20, seed=3)
    pd.testing.assert_frame_equal(a.bars, b.bars)
    pd.testing.assert_frame_equal(a.universe, b.universe)


def test_different_seed_differs() -> None:
    a = generate_market(n_tickers=20, seed=3)
    b = generate_market(n_tickers=20, seed=4)
    assert a.bars[["date", "ticker"]].equals(b.bars[["date", "ticker"]])  # same layout
    assert not np.array_equal(a.bars["close"].to_numpy(), b.bars["close"].to_numpy())


def test_schema_and_invariants(market: SyntheticMarket) -> None:
    bars = market.bars
    assert list(bars.columns) == ["date", "ticker", "open", "high", "low", "close", "volume"]
    assert bars["date"].dtype == np.dtype("datetime64[ns]")
    assert all(bars[c].dtype == np.float64 for c in ("open", "high", "low", "close"))
    assert_ohlc_invariants(bars)
    key = pd.MultiIndex.from_arrays([bars["ticker"], bars["date"]])
    assert key.is_monotonic_increasing and key.is_unique


def test_passes_validation_without_errors_or_warnings(market: SyntheticMarket) -> None:
    report = validate_daily_bars(market.bars, "synthetic")
    assert report.ok, report.errors[:5]
    assert report.warnings == ()
    assert report.tickers == 41


def test_contains_benchmark_and_sectors(market: SyntheticMarket) -> None:
    universe = market.universe.set_index("ticker")
    assert universe.loc["SPY", "sector"] == BENCHMARK_SECTOR
    assert set(universe["sector"]) == {*SECTORS, BENCHMARK_SECTOR}
    assert set(universe["exchange"]) == {"NYSE"}
    assert list(market.universe.columns) == ["ticker", "sector", "exchange"]
    assert market.tickers == tuple(sorted(market.bars["ticker"].unique()))
    assert market.store().sector("SPY") == BENCHMARK_SECTOR


def test_sessions_are_nyse_trading_days(market: SyntheticMarket) -> None:
    nyse = xcals.get_calendar("XNYS", start="2024-01-01", end="2026-12-31")
    expected = nyse.sessions_in_range("2024-06-03", "2025-12-31")
    assert market.sessions.equals(pd.DatetimeIndex(expected.tz_localize(None)))
    assert pd.Timestamp("2025-11-27") not in market.sessions  # Thanksgiving
    assert pd.Timestamp("2025-11-28") in market.sessions
    per_ticker = market.bars.groupby("ticker").size()
    assert (per_ticker == len(market.sessions)).all()


def test_tickers_are_stable_unique_and_pronounceable() -> None:
    names = synthetic_tickers(7225)
    assert len(set(names)) == 7225
    assert synthetic_tickers(5) == names[:5]
    assert all(len(n) == 4 and n[1] in "AEIOU" and n[3] in "AEIOU" for n in names)
    a = generate_market(n_tickers=5, seed=1).universe["ticker"].tolist()
    b = generate_market(n_tickers=5, seed=2).universe["ticker"].tolist()
    assert a == b


def test_dates_outside_the_default_calendar_window() -> None:
    market = generate_market(n_tickers=2, start=date(1998, 12, 1), end=date(1999, 1, 31))
    assert len(market.sessions) == 41  # 1998-12-25 and 1999-01-01, 01-18 are holidays
    assert validate_daily_bars(market.bars, "synthetic").warnings == ()


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="n_tickers"):
        generate_market(n_tickers=-1)
    with pytest.raises(ValueError, match="no NYSE session"):
        generate_market(start=date(2025, 12, 25), end=date(2025, 12, 25))


def test_momentum_persists_across_months() -> None:
    """12-1 month momentum ranks predict the next month's ranks (what a scorer looks for)."""
    close = generate_market(n_tickers=150, seed=42).store().wide("close")
    logs = np.log(close.drop(columns="SPY"))
    ics = []
    for t in range(252, len(logs) - 21, 21):
        momentum = logs.iloc[t - 21] - logs.iloc[t - 252]
        forward = logs.iloc[t + 21] - logs.iloc[t]
        ics.append(momentum.rank().corr(forward.rank()))
    assert np.mean(ics) > 0.02


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    n_tickers=st.integers(min_value=0, max_value=6),
    offset=st.integers(min_value=0, max_value=3000),
    days=st.integers(min_value=7, max_value=120),
)
def test_any_small_market_is_valid(seed: int, n_tickers: int, offset: int, days: int) -> None:
    start = date(2010, 1, 1) + timedelta(days=offset)
    market = generate_market(n_tickers, start, start + timedelta(days=days), seed=seed)
    assert_ohlc_invariants(market.bars)
    assert len(market.universe) == n_tickers + 1
    assert validate_daily_bars(market.bars, "synthetic").ok
