"""Daily history from Questrade's candles endpoint (``data.source: questrade``).

Owns turning ``OneDay`` candles into the tidy bars ``HistoryStore`` takes: each ticker is
resolved to its symbol id, its candles fetched over the window (``QuestradeRest.candles``
pages 2,000 per call), and the current, still-forming candle dropped (a partial bar must
never be mistaken for a session's close).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from quant_agent.config import LiveTradingConfig
from quant_agent.core.clock import Clock
from quant_agent.core.errors import ConfigError
from quant_agent.questrade.auth import authenticator_from_config
from quant_agent.questrade.rest import QuestradeRest

NEW_YORK = ZoneInfo("America/New_York")
COLUMNS = ["date", "ticker", "open", "high", "low", "close", "volume"]


async def candle_bars(
    rest: QuestradeRest, tickers: Sequence[str], start: date, end: date, *, now: datetime
) -> pd.DataFrame:
    """Complete daily bars of ``tickers`` from ``start`` to ``end`` (the bar still forming
    at ``now`` left out); an unknown ticker raises ``ConfigError``."""
    symbols = await rest.resolve(tickers)
    unknown = [t for t in tickers if t.strip().upper() not in symbols]
    if unknown:
        raise ConfigError([f"data.universe_path: Questrade does not know {', '.join(unknown)}"])
    first = datetime.combine(start, time(0), NEW_YORK)
    last = datetime.combine(end, time(23, 59, 59), NEW_YORK)
    rows = []
    for ticker in tickers:
        symbol = symbols[ticker.strip().upper()]
        for c in await rest.candles(symbol.symbol_id, first, last, "OneDay"):
            if c.end >= now:
                continue  # the current candle: partial
            day = c.start.astimezone(NEW_YORK).date()
            rows.append((pd.Timestamp(day), ticker.strip().upper(), float(c.open),
                         float(c.high), float(c.low), float(c.close), float(c.volume)))  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


def candles_loader(
    config: LiveTradingConfig, clock: Clock
) -> Callable[[Sequence[str], int], pd.DataFrame]:
    """A ``load_history`` candles callable that logs in with the configured token store
    and fetches ``days`` calendar days of daily bars up to today (its own event loop)."""

    def load(tickers: Sequence[str], days: int) -> pd.DataFrame:
        async def fetch() -> pd.DataFrame:
            auth = authenticator_from_config(config.questrade, clock)
            rest = QuestradeRest(auth, clock=clock, timeout=config.questrade.request_timeout_s)
            try:
                now = clock.now()
                today = now.astimezone(NEW_YORK).date()
                return await candle_bars(rest, tickers, today - timedelta(days=days), today,
                                         now=now)  # fmt: skip
            finally:
                await rest.aclose()
                await auth.aclose()

        return asyncio.run(fetch())

    return load
