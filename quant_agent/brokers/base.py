"""The broker protocol: the only way the system talks to a venue, and the venue's reports.

This module owns the contract every broker (the paper venue, the Questrade adapter, test
fakes) implements, and the plain, frozen types that cross it. It must never hold state,
do I/O or know about any particular venue.

What we ask for (``OrderRequest``) is kept apart from what the venue reports about it
(``BrokerOrder``), as vn.py keeps ``OrderRequest`` apart from ``OrderData``: a request is
our intent, a report is the venue's belief, and the two can disagree (that disagreement is
what reconciliation is for). Executions are reported as the core's ``OrderFilled``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from quant_agent.core.enums import OrderStatus, OrderType, Side, TimeInForce
from quant_agent.core.events import OrderEvent, OrderFilled
from quant_agent.core.ids import BrokerOrderId, ClientOrderId, Ticker
from quant_agent.core.order import Order

#: Receives every order event a broker emits (accepted, filled, canceled, ...).
OrderEventHandler = Callable[[OrderEvent], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRequest:
    """What we ask a venue to do. ``client_order_id`` is ours and unique per intent."""

    client_order_id: ClientOrderId
    ticker: Ticker
    side: Side
    order_type: OrderType
    quantity: int
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.DAY

    @classmethod
    def from_order(cls, order: Order) -> OrderRequest:
        return cls(
            client_order_id=order.client_order_id,
            ticker=order.ticker,
            side=order.side,
            order_type=order.order_type,
            quantity=order.quantity,
            limit_price=order.limit_price,
            stop_price=order.stop_price,
            time_in_force=order.time_in_force,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerOrder:
    """What the venue believes about one order at the instant of the report."""

    client_order_id: ClientOrderId
    broker_order_id: BrokerOrderId
    ticker: Ticker
    side: Side
    order_type: OrderType
    quantity: int
    status: OrderStatus
    time_in_force: TimeInForce
    created_at: datetime
    updated_at: datetime
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    filled_quantity: int = 0
    avg_fill_price: Decimal | None = None
    reject_reason: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status.is_open


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerPosition:
    """Shares the venue says the account holds (negative for a short)."""

    ticker: Ticker
    quantity: int
    avg_price: Decimal | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountBalances:
    """Cash, what may still be committed to new buys, and cash plus marked positions."""

    cash: Decimal
    buying_power: Decimal
    equity: Decimal


@runtime_checkable
class Broker(Protocol):
    """A venue that takes orders and reports what happened to them.

    Contract (every implementation, every method):

    - **Thread-safety**: every method may be called from any thread; implementations
      serialise internally. Handlers are called on the thread that produced the event,
      possibly from inside a call such as ``submit`` or ``cancel`` (re-entrantly).
    - **Non-blocking**: no method waits on the market (a submit returns once the venue
      acknowledged or refused, never when the order fills). A transport that cannot get
      an answer in time raises ``TransientBrokerError``; the request may still have taken
      effect, so the caller asks ``get_order_by_client_id`` before trying again.
    - **Idempotent by client id**: a ``submit`` whose ``client_order_id`` the venue
      already knows never creates a second order; it returns the existing one's report.
    - **Reports are immutable**: every returned or emitted object is frozen and never
      changed after emission.
    - **Events**: each order event (``OrderAccepted``, ``OrderRejected``, ``OrderFilled``
      per execution, ``OrderCanceled``, ``OrderCancelRejected``, ``OrderExpired``) goes
      to every subscribed handler, in the order it happened at the venue. A venue may
      deliver an event twice or a fill before its acknowledgement; consumers de-duplicate
      by ``fill_id`` and tolerate late acknowledgements. A handler that raises is logged;
      the venue's state is not rolled back (``fills_since`` still reports the fill).
    - **Truth on demand**: open orders, fills since an instant, positions and balances
      report what the venue believes now, for reconciliation at start and after faults.
    - A refused request (unknown order, bad terms) raises ``RejectedError``; a refused
      order is an ``OrderRejected`` event, not an exception.
    """

    #: True when the venue links a bracket's children itself (OCO); False means emulate.
    supports_native_brackets: bool

    def subscribe(self, handler: OrderEventHandler) -> None:
        """Deliver every order event from now on to ``handler``."""
        ...

    def submit(self, request: OrderRequest) -> BrokerOrder:
        """Send ``request``; return the venue's report (ACCEPTED, REJECTED, or later)."""
        ...

    def cancel(self, client_order_id: ClientOrderId) -> BrokerOrder:
        """Ask the venue to cancel an order; the outcome also arrives as an event."""
        ...

    def replace(
        self,
        client_order_id: ClientOrderId,
        *,
        quantity: int | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> BrokerOrder:
        """Change an open order's quantity or prices; return the amended report."""
        ...

    def get_order(self, broker_order_id: BrokerOrderId) -> BrokerOrder | None:
        """Return the venue's report of an order by its venue id, None if unknown."""
        ...

    def get_order_by_client_id(self, client_order_id: ClientOrderId) -> BrokerOrder | None:
        """Return the venue's report of an order by our id, None if it never arrived."""
        ...

    def list_open_orders(self) -> list[BrokerOrder]:
        """Return every order the venue still works."""
        ...

    def fills_since(self, since: datetime) -> list[OrderFilled]:
        """Return every execution at or after ``since``, oldest first."""
        ...

    def positions(self) -> list[BrokerPosition]:
        """Return every non-flat position."""
        ...

    def balances(self) -> AccountBalances:
        """Return cash, buying power and equity."""
        ...
