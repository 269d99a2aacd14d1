"""An executor wired over the paper venue for tests, and signals built from a plan.

Test support only: production code must never import it. ``Desk`` holds every piece
(clock, venue, order/position managers, risk monitor, executor, bus) over one store, and
``play`` feeds quotes through the venue then the executor, as the runner does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import pandas as pd

from quant_agent.brokers.base import Broker
from quant_agent.brokers.paper import PaperBroker
from quant_agent.config import LiveTradingConfig
from quant_agent.core.bus import EventBus
from quant_agent.core.clock import SimClock
from quant_agent.core.market import Quote
from quant_agent.market.calendar import get_calendar
from quant_agent.order_manager import OrderManager
from quant_agent.position_manager import PositionManager
from quant_agent.risk_monitor import RiskMonitor
from quant_agent.signals.scan import Signal
from quant_agent.signals.trade_plan import TradePlan
from quant_agent.storage.store import Store
from quant_agent.trade_executor import TradeExecutor


@dataclass
class Desk:
    clock: SimClock
    store: Store
    venue: PaperBroker
    orders: OrderManager
    positions: PositionManager
    risk: RiskMonitor
    executor: TradeExecutor
    bus: EventBus
    events: list[object] = field(default_factory=list)

    def play(self, quotes: Iterable[Quote]) -> None:
        """Move the clock to each quote, then the venue fills, then the executor marks."""
        for q in quotes:
            if q.ts_event > self.clock.now():
                self.clock.set(q.ts_event)
            self.venue.on_quote(q)
            self.executor.on_quote(q)

    def at(self, when: datetime) -> None:
        if when > self.clock.now():
            self.clock.set(when)


def make_desk(
    store: Store,
    start: datetime,
    config: LiveTradingConfig | None = None,
    *,
    sectors: Mapping[str, str] | None = None,
    returns: Callable[[Sequence[str]], pd.DataFrame | None] = lambda tickers: None,
    clock: SimClock | None = None,
    wrap_venue: Callable[[PaperBroker], Broker] | None = None,
) -> Desk:
    """Wire a paper desk over ``store``; ``start()`` it before use, as the runner does.

    ``wrap_venue`` puts a broker between the paper venue and the desk (e.g. a
    ``FaultyBroker``); ``Desk.venue`` stays the paper venue itself.
    """
    config = config or LiveTradingConfig()
    clock = clock or SimClock(start)
    bus = EventBus(clock)
    venue = PaperBroker.from_config(store, clock, config.trading, config.paper)
    broker: Broker = wrap_venue(venue) if wrap_venue is not None else venue
    orders = OrderManager(store, broker, clock, config=config.orders, bus=bus,
                          sleep=lambda seconds: None)  # fmt: skip
    known = dict(sectors or {})
    sector_of: Callable[[str], str | None] = known.get
    positions = PositionManager(store, clock, get_calendar("NYSE"), config.trading,
                                sector_of=sector_of)  # fmt: skip
    risk = RiskMonitor(store, clock, config.risk, config.trading, returns=returns, bus=bus)
    executor = TradeExecutor(broker=broker, clock=clock, orders=orders, positions=positions,
                             risk=risk, trading=config.trading, signals=config.signals,
                             sector_of=sector_of, bus=bus)  # fmt: skip
    desk = Desk(clock, store, venue, orders, positions, risk, executor, bus)
    bus.subscribe(object, desk.events.append)
    return desk


def planned_signal(
    ticker: str, day: date, entry: str, stop: str, target: str, quantity: int,
    *, score: float = 80.0, entry_type: str = "last",
) -> Signal:  # fmt: skip
    """A selected signal whose trade plan is given (prices as text keep them exact)."""
    plan = TradePlan(ticker=ticker, entry_type=entry_type,  # type: ignore[arg-type]
                     entry_price=Decimal(entry), stop_loss=Decimal(stop),
                     take_profit=Decimal(target), quantity=quantity)  # fmt: skip
    return Signal(ticker=ticker, signal_date=day, composite_score=score, rank=1, factors={},
                  factor_ranks={}, trade_plan=plan)  # fmt: skip
