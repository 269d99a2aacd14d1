"""Frozen events: facts that happened, published on the bus after state was updated.

Every event carries ``ts_event`` (when it happened, by the venue's or feed's clock) and
``ts_init`` (when this process created the event object, by the injected clock).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from quant_agent.core.enums import ExitReason, ScanKind, Severity, Side, TradingState
from quant_agent.core.ids import BrokerOrderId, ClientOrderId, FillId, Ticker


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    ts_event: datetime
    ts_init: datetime


# --- orders -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderEvent(Event):
    client_order_id: ClientOrderId
    #: True when the event was inferred by reconciliation with the broker, not reported live.
    reconciled: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderSubmitted(OrderEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAccepted(OrderEvent):
    broker_order_id: BrokerOrderId


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRejected(OrderEvent):
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelRequested(OrderEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelRejected(OrderEvent):
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCanceled(OrderEvent):
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderExpired(OrderEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderUpdated(OrderEvent):
    """The venue accepted new terms for an open order (quantity and prices after a replace)."""

    quantity: int
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFilled(OrderEvent):
    """One execution: ``quantity`` shares at ``price``; ``fill_id`` is unique at the venue."""

    fill_id: FillId
    ticker: Ticker
    side: Side
    quantity: int
    price: Decimal
    commission: Decimal
    broker_order_id: BrokerOrderId | None = None

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError(f"fill {self.fill_id}: quantity must be positive")
        if not self.price.is_finite() or self.price <= 0:
            raise ValueError(f"fill {self.fill_id}: price must be positive and finite")
        if not self.commission.is_finite() or self.commission < 0:
            raise ValueError(f"fill {self.fill_id}: commission must be >= 0")


# --- positions, risk, scans ----------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionOpened(Event):
    ticker: Ticker
    quantity: int
    entry_price: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionClosed(Event):
    ticker: Ticker
    quantity: int
    exit_price: Decimal
    realized_pnl: Decimal
    reason: ExitReason


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskBreach(Event):
    rule: str
    message: str
    severity: Severity = Severity.WARNING
    details: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingStateChanged(Event):
    previous: TradingState
    current: TradingState
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanDue(Event):
    kind: ScanKind


@dataclass(frozen=True, slots=True, kw_only=True)
class HandlerFailed(Event):
    """A bus handler raised; published once per failure (never for a failing HandlerFailed)."""

    handler: str
    event_type: str
    error: str


# --- system, feeds, signals (alerts listen to these) ------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalGenerated(Event):
    """A scan selected a new entry signal."""

    ticker: Ticker
    score: float
    entry_price: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedStatusChanged(Event):
    """The quote feed became healthy or unhealthy (stale, gaps, invalid quotes)."""

    feed: str
    healthy: bool
    message: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionStatusChanged(Event):
    """A connection to an outside service (broker, stream) was lost or restored."""

    service: str
    connected: bool
    message: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiErrorOccurred(Event):
    """An outside API answered with an error the system could not absorb silently."""

    service: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemStarted(Event):
    mode: str  # "paper" or "live"
    message: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemStopped(Event):
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderTicketIssued(Event):
    """Assisted mode: the trader is asked to place, cancel or change an order by hand."""

    ticket_id: str
    kind: str  # place | cancel | withdrawn | replace
    client_order_id: str
    ticker: str
    text: str  # the exact ticket, e.g. "BUY 10 AAPL LIMIT 101.00 DAY"
