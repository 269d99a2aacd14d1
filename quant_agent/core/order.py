"""The Order aggregate and its transition table.

An order changes only through ``apply(event)``; each event maps to a trigger, and the pair
(current status, trigger) must be a row of ``TRANSITIONS`` or ``IllegalTransitionError`` is
raised; ``OrderUpdated`` (new terms after a replace) applies to open orders only. Rows
marked "real world" are venue races that do happen (a fill racing a cancel, an
acknowledgement arriving after the first fill) and must not crash the system.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from quant_agent.core.enums import OrderRole, OrderStatus, OrderType, Side, TimeInForce
from quant_agent.core.errors import IllegalTransitionError
from quant_agent.core.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderCancelRequested,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    OrderUpdated,
)
from quant_agent.core.ids import BrokerOrderId, ClientOrderId, FillId, Ticker
from quant_agent.core.money import ZERO, quantize_money


class Trigger(StrEnum):
    SUBMIT = "SUBMIT"
    ACCEPT = "ACCEPT"
    REJECT = "REJECT"
    CANCEL_REQUEST = "CANCEL_REQUEST"
    CANCEL_REJECT = "CANCEL_REJECT"
    CANCEL = "CANCEL"
    EXPIRE = "EXPIRE"
    PARTIAL_FILL = "PARTIAL_FILL"
    FILL = "FILL"


S = OrderStatus
T = Trigger

TRANSITIONS: dict[OrderStatus, dict[Trigger, OrderStatus]] = {
    S.NEW: {
        T.SUBMIT: S.SUBMITTED,
        T.REJECT: S.REJECTED,  # refused before it left (e.g. venue closed for a DAY order)
        T.CANCEL: S.CANCELED,  # never sent: a bracket child whose parent was canceled
    },
    S.SUBMITTED: {
        T.ACCEPT: S.ACCEPTED,
        T.REJECT: S.REJECTED,
        T.CANCEL_REQUEST: S.PENDING_CANCEL,
        T.CANCEL: S.CANCELED,
        T.EXPIRE: S.EXPIRED,
        T.PARTIAL_FILL: S.PARTIALLY_FILLED,  # real world: fill reported before the ack
        T.FILL: S.FILLED,  # real world: fill reported before the ack
    },
    S.ACCEPTED: {
        T.ACCEPT: S.ACCEPTED,  # duplicate acknowledgement
        T.REJECT: S.REJECTED,  # real world: a venue may reject after acknowledging
        T.CANCEL_REQUEST: S.PENDING_CANCEL,
        T.CANCEL: S.CANCELED,
        T.EXPIRE: S.EXPIRED,
        T.PARTIAL_FILL: S.PARTIALLY_FILLED,
        T.FILL: S.FILLED,
    },
    S.PARTIALLY_FILLED: {
        T.ACCEPT: S.PARTIALLY_FILLED,  # real world: the ack arrives after the first fill
        T.CANCEL_REQUEST: S.PENDING_CANCEL,
        T.CANCEL: S.CANCELED,
        T.EXPIRE: S.EXPIRED,
        T.PARTIAL_FILL: S.PARTIALLY_FILLED,
        T.FILL: S.FILLED,
    },
    S.PENDING_CANCEL: {
        T.ACCEPT: S.PENDING_CANCEL,  # real world: a late ack
        T.CANCEL_REQUEST: S.PENDING_CANCEL,  # a repeated cancel request
        T.CANCEL_REJECT: S.ACCEPTED,  # back to ACCEPTED, or PARTIALLY_FILLED if filled
        T.CANCEL: S.CANCELED,
        T.EXPIRE: S.EXPIRED,
        T.PARTIAL_FILL: S.PENDING_CANCEL,  # real world: a fill racing the cancel
        T.FILL: S.FILLED,  # real world: the cancel lost the race
    },
    S.CANCELED: {
        T.PARTIAL_FILL: S.CANCELED,  # real world: an execution reported after the cancel
        T.FILL: S.FILLED,  # real world: the cancel confirmation lost the race
    },
    S.EXPIRED: {
        T.PARTIAL_FILL: S.EXPIRED,  # real world: an execution reported after expiry
        T.FILL: S.FILLED,  # real world
    },
    S.FILLED: {},
    S.REJECTED: {},
}

_TRIGGERS: dict[type[OrderEvent], Trigger] = {
    OrderSubmitted: T.SUBMIT,
    OrderAccepted: T.ACCEPT,
    OrderRejected: T.REJECT,
    OrderCancelRequested: T.CANCEL_REQUEST,
    OrderCancelRejected: T.CANCEL_REJECT,
    OrderCanceled: T.CANCEL,
    OrderExpired: T.EXPIRE,
}


def next_status(status: OrderStatus, trigger: Trigger) -> OrderStatus:
    """Return the status after ``trigger``; raise ``IllegalTransitionError`` if not allowed."""
    target = TRANSITIONS[status].get(trigger)
    if target is None:
        raise IllegalTransitionError(f"order cannot go from {status} on {trigger}")
    return target


@dataclass(slots=True, kw_only=True)
class Order:
    """What we asked the venue to do, and what it has done with it so far."""

    client_order_id: ClientOrderId
    ticker: Ticker
    side: Side
    order_type: OrderType
    quantity: int
    created_at: datetime
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    role: OrderRole = OrderRole.ENTRY
    parent_client_order_id: ClientOrderId | None = None
    signal_id: int | None = None
    status: OrderStatus = OrderStatus.NEW
    broker_order_id: BrokerOrderId | None = None
    filled_quantity: int = 0
    #: Exact sum of price x quantity over the fills; the average price derives from it.
    filled_notional: Decimal = ZERO
    commission: Decimal = ZERO
    reject_reason: str | None = None
    updated_at: datetime | None = None
    fill_ids: set[FillId] = field(default_factory=set)

    @property
    def remaining_quantity(self) -> int:
        return self.quantity - self.filled_quantity

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    @property
    def avg_fill_price(self) -> Decimal | None:
        """Volume-weighted average fill price (6 decimals), None before the first fill."""
        if self.filled_quantity == 0:
            return None
        return quantize_money(self.filled_notional / self.filled_quantity)

    def apply(self, event: OrderEvent) -> bool:
        """Apply ``event``; return False for an already-applied fill (idempotent), else True."""
        if event.client_order_id != self.client_order_id:
            raise ValueError(
                f"event for {event.client_order_id} applied to order {self.client_order_id}"
            )
        if isinstance(event, OrderFilled):
            return self._apply_fill(event)
        if isinstance(event, OrderUpdated):
            return self._apply_update(event)
        trigger = _TRIGGERS[type(event)]
        target = next_status(self.status, trigger)
        if trigger is T.CANCEL_REJECT and self.filled_quantity > 0:
            target = S.PARTIALLY_FILLED
        if isinstance(event, OrderAccepted):
            self.broker_order_id = event.broker_order_id
        elif isinstance(event, OrderRejected):
            self.reject_reason = event.reason
        self.status = target
        self.updated_at = event.ts_event
        return True

    def _apply_update(self, update: OrderUpdated) -> bool:
        if not self.status.is_open:
            raise IllegalTransitionError(
                f"order {self.client_order_id} is {self.status}; it cannot be modified"
            )
        if update.quantity <= self.filled_quantity:
            raise IllegalTransitionError(
                f"order {self.client_order_id}: new quantity {update.quantity} is not above the "
                f"{self.filled_quantity} already filled"
            )
        self.quantity = update.quantity
        self.limit_price = update.limit_price
        self.stop_price = update.stop_price
        self.updated_at = update.ts_event
        return True

    def _apply_fill(self, fill: OrderFilled) -> bool:
        if fill.fill_id in self.fill_ids:
            return False
        if fill.side is not self.side or fill.ticker != self.ticker:
            raise IllegalTransitionError(
                f"fill {fill.fill_id} ({fill.side} {fill.ticker}) does not match order "
                f"{self.client_order_id} ({self.side} {self.ticker})"
            )
        if fill.quantity > self.remaining_quantity:
            raise IllegalTransitionError(
                f"fill {fill.fill_id} of {fill.quantity} overfills order {self.client_order_id} "
                f"({self.remaining_quantity} remaining)"
            )
        trigger = T.FILL if fill.quantity == self.remaining_quantity else T.PARTIAL_FILL
        self.status = next_status(self.status, trigger)
        self.filled_quantity += fill.quantity
        self.filled_notional += fill.price * fill.quantity
        self.commission += fill.commission
        if fill.broker_order_id and self.broker_order_id is None:
            self.broker_order_id = fill.broker_order_id
        self.fill_ids.add(fill.fill_id)
        self.updated_at = fill.ts_event
        return True
