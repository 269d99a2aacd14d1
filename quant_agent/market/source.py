"""Build the history store a session runs on, from the ``data`` config section.

``demo`` generates the deterministic synthetic market (no files, no credentials);
``files`` loads and validates the trader's daily bars and universe; ``questrade`` reads
the universe file's tickers' daily candles from Questrade through an injected ``candles``
callable (``questrade.history.candles_loader``), so this module never touches the network.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from quant_agent.config import DataConfig
from quant_agent.core.errors import ConfigError
from quant_agent.market.history import HistoryStore
from quant_agent.market.synthetic import generate_market
from quant_agent.market.universe import load_universe

#: ``candles(tickers, days)``: tidy daily bars of the last ``days`` calendar days.
CandlesLoader = Callable[[Sequence[str], int], pd.DataFrame]


def load_history(data: DataConfig, candles: CandlesLoader | None = None) -> HistoryStore:
    """Return the daily history named by ``data``; raise ``ConfigError`` if it cannot."""
    if data.source == "demo":
        market = generate_market(
            n_tickers=data.demo_tickers, start=data.demo_start, end=data.demo_end,
            seed=data.demo_seed,
        )  # fmt: skip
        return HistoryStore(market.bars, market.universe)
    if data.source == "files":
        if data.daily_path is None:
            raise ConfigError(["data.daily_path: required when data.source is 'files'"])
        return HistoryStore.from_files(data.daily_path, data.universe_path)
    if data.universe_path is None:
        raise ConfigError(["data.universe_path: required when data.source is 'questrade'"])
    if candles is None:
        raise ConfigError(["data.source: 'questrade' needs a Questrade connection"])
    universe = load_universe(data.universe_path)
    bars = candles(list(universe["ticker"]), data.questrade_history_days)
    return HistoryStore(bars, universe)
