"""Build the history store a session runs on, from the ``data`` config section.

``demo`` generates the deterministic synthetic market (no files, no credentials);
``files`` loads and validates the trader's daily bars and universe; ``questrade`` reads
candles from the broker and is not available until the Questrade adapter exists.
"""

from __future__ import annotations

from quant_agent.config import DataConfig
from quant_agent.core.errors import ConfigError
from quant_agent.market.history import HistoryStore
from quant_agent.market.synthetic import generate_market


def load_history(data: DataConfig) -> HistoryStore:
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
    raise ConfigError(
        [
            "data.source: 'questrade' needs the Questrade adapter, which is not built yet; "
            "allowed for now: 'demo', 'files'"
        ]
    )
