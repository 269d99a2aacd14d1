"""Builders for signal tests: hand-made bars, panels and a generator on a store."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd

from quant_agent.config import LiveTradingConfig
from quant_agent.core.clock import Clock
from quant_agent.live_signals import LiveSignalGenerator
from quant_agent.market.calendar import get_calendar
from quant_agent.market.earnings import EarningsCalendar
from quant_agent.market.history import HistoryStore
from quant_agent.signals.factors import Panel
from quant_agent.signals.scan import Holdings
from quant_agent.signals.trade_plan import Account
from quant_agent.storage.store import Store


def sessions(end: date, count: int) -> list[date]:
    """The last ``count`` NYSE sessions ending on ``end`` (a session)."""
    calendar = get_calendar("NYSE")
    days = calendar.trading_days(date(end.year - 3, 1, 1), end)
    return days[-count:]


def bars_from_closes(
    closes: Mapping[str, Sequence[float]], end: date = date(2024, 12, 31),
    volume: float = 1_000_000.0, spread: float = 0.01,
) -> pd.DataFrame:  # fmt: skip
    """Tidy bars whose closes are given (aligned to the last sessions ending ``end``)."""
    rows = []
    for ticker, series in closes.items():
        days = sessions(end, len(series))
        for day, close in zip(days, series, strict=True):
            rows.append((pd.Timestamp(day), ticker, close, close * (1 + spread),
                         close * (1 - spread), close, volume))  # fmt: skip
    columns = ["date", "ticker", "open", "high", "low", "close", "volume"]
    return pd.DataFrame(rows, columns=columns)


def panel_from_closes(closes: Mapping[str, Sequence[float]], **kwargs: object) -> Panel:
    history = HistoryStore(bars_from_closes(closes, **kwargs))  # type: ignore[arg-type]
    return Panel.from_frames(history.panel())


def trend(
    start: float, daily: float, count: int, wiggle: float = 0.0, seed: int = 0
) -> list[float]:
    """A geometric price path with an optional deterministic wiggle."""
    rng = np.random.default_rng(seed)
    steps = daily + wiggle * rng.standard_normal(count)
    return list(np.round(start * np.exp(np.cumsum(steps)), 4))


def cash_account(equity: float = 100_000.0, open_positions: Sequence[str] = ()) -> Holdings:
    value = Decimal(str(equity))
    return Holdings(
        account=Account(equity=value, cash=value, open_positions=len(open_positions)),
        open_positions=tuple(open_positions),
    )


def generator(
    store: Store, history: HistoryStore, clock: Clock, config: LiveTradingConfig | None = None,
    earnings: EarningsCalendar | None = None, universe: Sequence[str] | None = None,
    holdings: Callable[[], Holdings] | None = None,
) -> LiveSignalGenerator:  # fmt: skip
    config = config or LiveTradingConfig()
    return LiveSignalGenerator(
        clock=clock, history=history, store=store, calendar=get_calendar("NYSE"),
        signals=config.signals, filters=config.filters, trade_plan=config.trade_plan,
        trading=config.trading, risk=config.risk, earnings=earnings, universe=universe,
        holdings=holdings,
    )  # fmt: skip
