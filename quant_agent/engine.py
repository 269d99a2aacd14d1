"""The engine: the core of one paper run wired together (clock, venue, managers, executor).

Owns the wiring only, so the runner, the backtest and tests build the very same objects:
one ``EventBus`` (alerts and metrics subscribe to it), the ``PaperBroker`` (wrapped by the
crash-point hook when one is set), the order and position managers, the risk monitor (with
the history's daily returns, never past the clock's day), the executor and the live signal
generator sizing against the executor's holdings. It must never run anything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import pandas as pd

from quant_agent.bracket_anchor import fill_anchored
from quant_agent.brokers.base import Broker, OrderRequest
from quant_agent.brokers.paper import PaperBroker
from quant_agent.config import LiveTradingConfig
from quant_agent.core.bus import EventBus
from quant_agent.core.clock import Clock, SimClock
from quant_agent.core.ids import ClientOrderId
from quant_agent.core.market import Quote
from quant_agent.crashpoints import CrashHook, HookedBroker, no_crash
from quant_agent.live_signals import LiveSignalGenerator
from quant_agent.market.calendar import get_calendar
from quant_agent.market.history import HistoryStore
from quant_agent.order_manager import OrderManager
from quant_agent.position_manager import PositionManager
from quant_agent.realtime_data import QuoteGuard
from quant_agent.risk_monitor import RiskMonitor
from quant_agent.storage.store import Store
from quant_agent.trade_executor import TradeExecutor

NEW_YORK = ZoneInfo("America/New_York")


class QuoteSink(Protocol):
    def on_quote(self, quote: Quote) -> None: ...


@dataclass(slots=True)
class Engine:
    """The wired core of one run."""

    clock: SimClock
    store: Store
    broker: PaperBroker
    orders: OrderManager
    positions: PositionManager
    risk: RiskMonitor
    executor: TradeExecutor
    generator: LiveSignalGenerator
    guard: QuoteGuard
    sinks: list[QuoteSink]
    bus: EventBus  # alerts and metrics subscribe here (they never call into the core)


def returns_provider(history: HistoryStore, clock: SimClock, lookback: int = 250) -> Callable[
    [Sequence[str]], pd.DataFrame | None
]:  # fmt: skip
    """Daily returns of tickers up to the session before the clock's day (no look-ahead)."""

    def returns(tickers: Sequence[str]) -> pd.DataFrame | None:
        known = [t for t in tickers if t in history.tickers]
        if not known:
            return None
        today = clock.now().astimezone(NEW_YORK).date()
        close = history.wide("close")[known]
        close = close[close.index < pd.Timestamp(today)].tail(lookback + 1)
        return close.pct_change().iloc[1:]

    return returns


def build_engine(
    config: LiveTradingConfig, store: Store, history: HistoryStore, start: datetime,
    crash: CrashHook = no_crash, sleep: Callable[[float], None] | None = None,
    *, clock: SimClock | None = None, venue: Broker | None = None,
) -> Engine:  # fmt: skip
    """Wire the core for a paper replay starting at ``start`` (or the stored cursor).

    A live run passes its own ``clock`` (set from the live clock each tick) and, for a real
    broker, the ``venue`` orders go to (then no paper fill sink is wired)."""
    clock = clock or SimClock(start)
    calendar = get_calendar("NYSE")
    bus = EventBus(clock)
    broker = PaperBroker.from_config(store, clock, config.trading, config.paper)
    inner: Any = venue if venue is not None else broker
    venue = HookedBroker(inner, crash) if crash is not no_crash else inner
    if crash is not no_crash:
        store.on_commit(lambda: crash("commit"))
    kwargs: dict[str, Any] = {"config": config.orders, "bus": bus,
                              "reanchor": fill_anchored(config.trade_plan)}  # fmt: skip
    if sleep is not None:
        kwargs["sleep"] = sleep
    orders = OrderManager(store, venue, clock, **kwargs)
    sector_of = _sector_lookup(history)
    positions = PositionManager(store, clock, calendar, config.trading, sector_of=sector_of)
    risk = RiskMonitor(store, clock, config.risk, config.trading,
                       returns=returns_provider(history, clock), bus=bus)  # fmt: skip
    executor = TradeExecutor(broker=venue, clock=clock, orders=orders, positions=positions,
                             risk=risk, trading=config.trading, signals=config.signals,
                             sector_of=sector_of, bus=bus, crash=crash,
                             pending_at_plan=config.risk.reserve_basis == "plan")  # fmt: skip
    generator = LiveSignalGenerator(
        clock=clock, history=history, store=store, calendar=calendar, signals=config.signals,
        filters=config.filters, trade_plan=config.trade_plan, trading=config.trading,
        risk=config.risk, holdings=executor.holdings,
    )  # fmt: skip
    guard = QuoteGuard(clock, timedelta(seconds=config.runner.max_quote_age_seconds))
    sinks: list[QuoteSink] = [broker] if inner is broker else []
    return Engine(clock, store, broker, orders, positions, risk, executor, generator, guard,
                  sinks, bus)  # fmt: skip


def _sector_lookup(history: HistoryStore) -> Callable[[str], str | None]:
    def sector_of(ticker: str) -> str | None:
        try:
            return history.sector(ticker)
        except (KeyError, LookupError, ValueError):
            return None

    return sector_of


def bracket_legs(orders: OrderManager) -> Callable[[ClientOrderId], list[OrderRequest]]:
    """The bracket children (stop, target) of an entry, as requests (assisted tickets)."""

    def legs(coid: ClientOrderId) -> list[OrderRequest]:
        return [OrderRequest.from_order(o) for o in orders.open_orders()
                if o.parent_client_order_id == coid]  # fmt: skip

    return legs


def build_venue(config: LiveTradingConfig, store: Store, clock: Clock) -> Broker | None:
    """The real venue ``broker.kind`` names (None: the paper venue). Questrade connects
    now (token store, account, notifications stream); the runner must ``pump()`` it."""
    if config.broker.kind == "paper":
        return None
    from quant_agent.questrade.assisted import AssistedBroker
    from quant_agent.questrade.broker import QuestradeBroker

    if config.broker.kind == "questrade-assisted":
        return AssistedBroker.from_config(config.questrade, store, clock)
    return QuestradeBroker.from_config(config.questrade, store, clock)


def attach_assisted(engine: Engine, venue: object) -> None:
    """Assisted mode: tickets stored in the engine's store, published on its bus, with the
    entries' bracket legs (no-op for any other venue)."""
    from quant_agent.questrade.assisted import AssistedBroker

    if isinstance(venue, AssistedBroker):
        venue.attach(engine.store, legs=bracket_legs(engine.orders), on_ticket=engine.bus.publish)
