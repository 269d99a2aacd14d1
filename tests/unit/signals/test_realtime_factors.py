"""Factors match historical: today's partial bar folded in gives the history's factors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quant_agent.core.clock import SimClock
from quant_agent.core.market import Quote
from quant_agent.live_signals import session_bars
from quant_agent.market.history import HistoryStore
from quant_agent.market.synthetic import generate_market
from quant_agent.signals.factors import FIELDS, Panel, compute_factors
from quant_agent.signals.names import FACTOR_NAMES
from quant_agent.storage.store import Store
from quant_agent.testkit.signals import generator

CLOSE_ONLY = [n for n in FACTOR_NAMES if n not in {"atr_14", "atr_pct_14", "dist_52w_high"}]
CLOSE_ONLY = [n for n in CLOSE_ONLY if not n.endswith("volume_20")]


def same(a: float, b: float) -> bool:
    return (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b, rel=1e-12, abs=0)


@pytest.mark.shared_data
@pytest.mark.parametrize("day", ["2011-02-18", "2020-03-16", "2025-07-09"])
def test_yesterday_plus_todays_bar_equals_the_historical_factors_on_real_data(
    shared_data: Path, day: str
) -> None:
    tickers = ["SPY", "AAPL", "CHTR", "ACGL", "GEV", "TPL"]
    bars = pd.read_parquet(shared_data / "daily_ohlcv.parquet", filters=[("ticker", "in", tickers)])
    history = HistoryStore(bars)
    today = pd.Timestamp(day)
    full = Panel.from_frames(history.panel(end=today))
    before = Panel.from_frames(history.panel(end=today - pd.Timedelta(days=1)))
    row = {f: getattr(full, f)[-1] for f in FIELDS}

    live = compute_factors(before.with_row(today, row))
    historical = compute_factors(full)

    for name in FACTOR_NAMES:
        for j, ticker in enumerate(full.tickers):
            assert same(live[name][-1, j], historical[name][-1, j]), (ticker, name)


def test_a_quote_at_todays_close_gives_the_historical_close_based_factors(tmp_path: Path) -> None:
    market = generate_market(n_tickers=6, start=date(2023, 1, 3), end=date(2024, 6, 28), seed=3)
    history = HistoryStore(market.bars, market.universe)
    today = date(2024, 6, 28)
    clock = SimClock(datetime(2024, 6, 28, 15, 0, tzinfo=UTC))  # 11:00 New York
    store = Store.open(f"sqlite:///{tmp_path / 'qa.db'}")
    gen = generator(store, history, clock)
    for ticker in history.tickers:
        bar = history.bars(ticker, start=today, end=today).iloc[0]
        close = Decimal(str(bar["close"]))
        gen.update_quote(Quote(ticker=ticker, bid=close, ask=close, last=close,
                               ts_event=clock.now(), ts_init=clock.now()))  # fmt: skip
    full = Panel.from_frames(history.panel(end=today))
    historical = compute_factors(full)

    for ticker in history.tickers:
        live = gen.calculate_realtime_factors(ticker)
        j = full.column(ticker)
        for name in CLOSE_ONLY:
            want = historical[name][-1, j]
            got = np.nan if live[name] is None else live[name]
            assert same(got, want), (ticker, name)
    store.close()


def test_market_scan_with_todays_bars_scores_like_the_premarket_scan_of_tomorrow(
    tmp_path: Path,
) -> None:
    market = generate_market(n_tickers=20, start=date(2023, 1, 3), end=date(2024, 6, 28), seed=5)
    history = HistoryStore(market.bars, market.universe)
    today = date(2024, 6, 28)
    store = Store.open(f"sqlite:///{tmp_path / 'qa.db'}")
    clock = SimClock(datetime(2024, 6, 28, 15, 0, tzinfo=UTC))
    gen = generator(store, history, clock)
    live = gen.run_market_hours_scan(bars=session_bars(history, today))
    historical = gen.run_premarket_scan(asof=today)

    assert live.output is not None and historical.output is not None
    assert [(s.ticker, s.composite_score) for s in live.output.signals] == [
        (s.ticker, s.composite_score) for s in historical.output.signals
    ]
    store.close()
