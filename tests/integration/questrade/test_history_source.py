"""``data.source: questrade``: daily history from the sandbox's candles endpoint, complete
and without the still-forming bar, then a ``HistoryStore`` over the universe file."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from quant_agent.config import DataConfig
from quant_agent.core.errors import ConfigError
from quant_agent.market.source import load_history
from quant_agent.questrade.history import candle_bars

from .conftest import START, harness, history


def fetch(tmp_path: Path, tickers: Sequence[str], start: date, end: date) -> pd.DataFrame:
    async def main() -> pd.DataFrame:
        async with harness(tmp_path) as h:
            return await candle_bars(h.rest, tickers, start, end, now=h.clock.now())

    return asyncio.run(main())


def test_candles_become_the_daily_bars_without_the_partial_one(tmp_path: Path) -> None:
    tickers = history().tickers[:2]
    start = START.date() - timedelta(days=400)
    bars = fetch(tmp_path, tickers, start, START.date())
    for ticker in tickers:
        got = bars[bars.ticker == ticker].set_index("date")
        want = history().bars(ticker)
        want = want[(want.index >= pd.Timestamp(start)) & (want.index < pd.Timestamp(START.date()))]
        assert list(got.index) == list(want.index)  # in order, complete, no today's partial bar
        assert got["close"].to_numpy() == pytest.approx(want["close"].to_numpy(), abs=0.01)


def test_load_history_from_questrade_needs_a_universe_and_a_connection(tmp_path: Path) -> None:
    universe = tmp_path / "universe.csv"
    tickers = history().tickers[:3]
    universe.write_text("ticker,sector\n" + "".join(f"{t},Tech\n" for t in tickers))
    asked: list[tuple[list[str], int]] = []

    def candles(names: Sequence[str], days: int) -> pd.DataFrame:
        asked.append((list(names), days))
        return fetch(tmp_path, names, START.date() - timedelta(days=days), START.date())

    config = DataConfig(source="questrade", universe_path=universe, questrade_history_days=120)
    store = load_history(config, candles)
    assert asked == [(list(tickers), 120)] and sorted(store.tickers) == sorted(tickers)
    assert store.sector(tickers[0]) == "Tech"
    with pytest.raises(ConfigError, match="Questrade connection"):
        load_history(config)
    with pytest.raises(ConfigError, match="universe_path"):
        load_history(DataConfig(source="questrade"), candles)
