"""Pure translations between Questrade's order vocabulary and the broker protocol's.

Order states (§2.14) map to ``OrderStatus``; our ``OrderRequest`` becomes an order-call
body; a Questrade order record becomes a ``BrokerOrder``; an execution becomes an
``OrderFilled`` whose ``fill_id`` is ``QT-<execution id>`` (deterministic, so a fill seen
on the stream and again through ``GET executions`` is counted once). ``EventTracker``
remembers which events were already emitted per client order id. No I/O here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from quant_agent.brokers.base import BrokerOrder, OrderRequest
from quant_agent.core.enums import OrderStatus, OrderType, Side, TimeInForce
from quant_agent.core.events import (
    OrderAccepted,
    OrderCanceled,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from quant_agent.core.ids import BrokerOrderId, ClientOrderId, FillId, Ticker
from quant_agent.questrade import models as m
from quant_agent.questrade.order_map import MappedOrder

STATES: dict[str, OrderStatus] = {
    "Pending": OrderStatus.SUBMITTED, "Queued": OrderStatus.SUBMITTED,
    "PendingRiskReview": OrderStatus.SUBMITTED, "Accepted": OrderStatus.ACCEPTED,
    "ContingentOrder": OrderStatus.ACCEPTED, "Triggered": OrderStatus.ACCEPTED,
    "Activated": OrderStatus.ACCEPTED, "Stopped": OrderStatus.ACCEPTED,
    "Suspended": OrderStatus.ACCEPTED, "ReplacePending": OrderStatus.ACCEPTED,
    "Replaced": OrderStatus.ACCEPTED, "Partial": OrderStatus.PARTIALLY_FILLED,
    "CancelPending": OrderStatus.PENDING_CANCEL, "Canceled": OrderStatus.CANCELED,
    "PartialCanceled": OrderStatus.CANCELED, "Executed": OrderStatus.FILLED,
    "Rejected": OrderStatus.REJECTED, "Failed": OrderStatus.REJECTED,
    "Expired": OrderStatus.EXPIRED,
}  # fmt: skip
ORDER_TYPES = {OrderType.MARKET: "Market", OrderType.LIMIT: "Limit", OrderType.STOP: "Stop",
               OrderType.STOP_LIMIT: "StopLimit"}  # fmt: skip
TIME_IN_FORCE = {TimeInForce.DAY: "Day", TimeInForce.GTC: "GoodTillCanceled"}
SIDES = {Side.BUY: "Buy", Side.SELL: "Sell"}
_BUY_SIDES = {"Buy", "Cov", "BTO", "BTC"}


def status_of(state: str) -> OrderStatus:
    """The core status of a Questrade ``state``; unknown states count as working."""
    return STATES.get(state, OrderStatus.ACCEPTED)


def unknown_client_id(order_id: int) -> ClientOrderId:
    """The client id given to an order we did not place (e.g. entered by hand)."""
    return ClientOrderId(f"QT-ORDER-{order_id}")


def order_body(
    request: OrderRequest, account: str, symbol_id: int, now: datetime
) -> tuple[dict[str, Any], MappedOrder]:
    """The ``POST accounts/{id}/orders`` body for ``request`` and its intent row."""
    intent = MappedOrder(
        client_order_id=request.client_order_id, account=account, symbol_id=symbol_id,
        ticker=request.ticker, side=SIDES[request.side],
        order_type=ORDER_TYPES[request.order_type], quantity=request.quantity,
        time_in_force=TIME_IN_FORCE[request.time_in_force], sent_at=now,
        limit_price=request.limit_price, stop_price=request.stop_price,
    )  # fmt: skip
    body = {
        "accountNumber": account, "symbolId": symbol_id, "quantity": request.quantity,
        "limitPrice": _num(request.limit_price), "stopPrice": _num(request.stop_price),
        "isAllOrNone": False, "isAnonymous": False, "orderType": intent.order_type,
        "timeInForce": intent.time_in_force, "action": intent.side,
        "primaryRoute": "AUTO", "secondaryRoute": "AUTO",
    }  # fmt: skip
    return body, intent


def matches(intent: MappedOrder, order: m.BrokerOrder) -> bool:
    """True when ``order`` carries exactly the terms of ``intent`` and came after it."""
    return (
        order.symbol_id == intent.symbol_id
        and order.side == intent.side
        and order.order_type == intent.order_type
        and order.total_quantity == intent.quantity
        and order.time_in_force == intent.time_in_force
        and _same(order.limit_price, intent.limit_price)
        and _same(order.stop_price, intent.stop_price)
        and order.creation_time >= intent.sent_at - timedelta(minutes=5)
    )


def to_broker_order(
    order: m.BrokerOrder | None, row: MappedOrder | None, now: datetime, *,
    reject_reason: str | None = None,
) -> BrokerOrder:  # fmt: skip
    """A ``BrokerOrder`` from Questrade's record (None: a refusal of ``row`` before any)."""
    if order is None:
        assert row is not None
        return BrokerOrder(
            client_order_id=ClientOrderId(row.client_order_id),
            broker_order_id=BrokerOrderId(str(row.order_id or "")), ticker=Ticker(row.ticker),
            side=Side.BUY if row.side == "Buy" else Side.SELL,
            order_type=_core_type(row.order_type), quantity=row.quantity,
            status=OrderStatus.REJECTED, time_in_force=_core_tif(row.time_in_force),
            created_at=now, updated_at=now, limit_price=row.limit_price,
            stop_price=row.stop_price, reject_reason=reject_reason or "rejected by Questrade",
        )  # fmt: skip
    status = status_of(order.state)
    reason = order.client_reason or None
    return BrokerOrder(
        client_order_id=ClientOrderId(row.client_order_id) if row else unknown_client_id(order.id),
        broker_order_id=BrokerOrderId(str(order.id)), ticker=Ticker(order.symbol),
        side=Side.BUY if order.side in _BUY_SIDES else Side.SELL,
        order_type=_core_type(order.order_type), quantity=int(order.total_quantity),
        status=status, time_in_force=_core_tif(order.time_in_force),
        created_at=order.creation_time, updated_at=order.update_time,
        limit_price=order.limit_price, stop_price=order.stop_price,
        filled_quantity=int(order.filled_quantity), avg_fill_price=order.avg_exec_price,
        reject_reason=reason if status is OrderStatus.REJECTED or reason else None,
    )  # fmt: skip


def to_fill(execution: m.Execution, row: MappedOrder | None, now: datetime) -> OrderFilled:
    """The core fill of one execution (fill id ``QT-<execution id>``)."""
    fees = (execution.commission + execution.execution_fee + execution.sec_fee
            + execution.canadian_execution_fee + execution.order_placement_commission)  # fmt: skip
    coid = row.client_order_id if row else unknown_client_id(execution.order_id)
    return OrderFilled(
        ts_event=execution.timestamp, ts_init=now, client_order_id=ClientOrderId(coid),
        fill_id=FillId(f"QT-{execution.id}"), ticker=Ticker(execution.symbol),
        side=Side.BUY if execution.side in _BUY_SIDES else Side.SELL,
        quantity=int(execution.quantity), price=execution.price, commission=fees,
        broker_order_id=BrokerOrderId(str(execution.order_id)),
    )  # fmt: skip


class EventTracker:
    """Which acknowledgements, final states and fills were already emitted."""

    def __init__(self) -> None:
        self._accepted: set[str] = set()
        self._final: set[str] = set()
        self._fills: set[int] = set()

    def first_fill(self, execution_id: int) -> bool:
        if execution_id in self._fills:
            return False
        self._fills.add(execution_id)
        return True

    def progress(self, order: m.BrokerOrder, row: MappedOrder, now: datetime) -> list[OrderEvent]:
        """An ``OrderAccepted`` the first time the order is seen past Pending."""
        coid = row.client_order_id
        status = status_of(order.state)
        if order.state == "Replaced" or status in (OrderStatus.SUBMITTED, OrderStatus.REJECTED):
            return []
        if coid in self._accepted:
            return []
        self._accepted.add(coid)
        return [OrderAccepted(ts_event=order.update_time, ts_init=now,
                              client_order_id=ClientOrderId(coid),
                              broker_order_id=BrokerOrderId(str(order.id)))]  # fmt: skip

    def final(self, order: m.BrokerOrder, row: MappedOrder, now: datetime) -> list[OrderEvent]:
        """The rejection, cancel or expiry of an order, once."""
        coid = row.client_order_id
        status = status_of(order.state)
        if coid in self._final or order.state == "Replaced":
            return []
        stamp: dict[str, Any] = {"ts_event": order.update_time, "ts_init": now,
                                 "client_order_id": ClientOrderId(coid)}  # fmt: skip
        event: OrderEvent
        if status is OrderStatus.REJECTED:
            event = OrderRejected(**stamp, reason=order.client_reason or "rejected by Questrade")
        elif status is OrderStatus.CANCELED:
            event = OrderCanceled(**stamp, reason=order.client_reason)
        elif status is OrderStatus.EXPIRED:
            event = OrderExpired(**stamp)
        else:
            return []
        self._final.add(coid)
        return [event]


def _core_type(value: str) -> OrderType:
    for core, qt in ORDER_TYPES.items():
        if qt == value:
            return core
    return OrderType.LIMIT if "Limit" in value else OrderType.STOP


def _core_tif(value: str) -> TimeInForce:
    return TimeInForce.DAY if value == "Day" else TimeInForce.GTC


def _same(a: Decimal | None, b: Decimal | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and a == b)


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)
