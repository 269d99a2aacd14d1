"""The order state machine: every row of the transition table works, everything else raises."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from quant_agent.core.enums import OrderStatus, OrderType, Side
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
)
from quant_agent.core.ids import BrokerOrderId, ClientOrderId, FillId, Ticker
from quant_agent.core.order import TRANSITIONS, Order, Trigger, next_status

T0 = datetime(2025, 1, 2, 15, 0, tzinfo=UTC)
COID = ClientOrderId("qa-test")
QTY = 100


def order_in(status: OrderStatus, filled: int = 0) -> Order:
    order = Order(
        client_order_id=COID,
        ticker=Ticker("AAPL"),
        side=Side.BUY,
        order_type=OrderType.MARKET,
        quantity=QTY,
        created_at=T0,
        status=status,
        filled_quantity=filled,
        filled_notional=Decimal("10") * filled,
    )
    return order


_fill_counter = itertools.count()


def event_for(trigger: Trigger, order: Order) -> OrderEvent:
    common = {"ts_event": T0, "ts_init": T0, "client_order_id": COID}
    if trigger in (Trigger.FILL, Trigger.PARTIAL_FILL):
        quantity = order.remaining_quantity if trigger is Trigger.FILL else 1
        return OrderFilled(
            **common,
            fill_id=FillId(f"f{next(_fill_counter)}"),
            ticker=Ticker("AAPL"),
            side=Side.BUY,
            quantity=quantity,
            price=Decimal("10.01"),
            commission=Decimal("1"),
        )
    return {
        Trigger.SUBMIT: lambda: OrderSubmitted(**common),
        Trigger.ACCEPT: lambda: OrderAccepted(**common, broker_order_id=BrokerOrderId("B1")),
        Trigger.REJECT: lambda: OrderRejected(**common, reason="no"),
        Trigger.CANCEL_REQUEST: lambda: OrderCancelRequested(**common),
        Trigger.CANCEL_REJECT: lambda: OrderCancelRejected(**common, reason="too late"),
        Trigger.CANCEL: lambda: OrderCanceled(**common),
        Trigger.EXPIRE: lambda: OrderExpired(**common),
    }[trigger]()


LEGAL = [(s, t, target) for s, row in TRANSITIONS.items() for t, target in row.items()]
ILLEGAL = [(s, t) for s in OrderStatus for t in Trigger if t not in TRANSITIONS[s]]


def test_table_covers_every_status() -> None:
    assert set(TRANSITIONS) == set(OrderStatus)
    assert len(LEGAL) + len(ILLEGAL) == len(OrderStatus) * len(Trigger)


@pytest.mark.parametrize(("status", "trigger", "target"), LEGAL)
def test_every_legal_transition_reaches_its_target(
    status: OrderStatus, trigger: Trigger, target: OrderStatus
) -> None:
    # A fill needs something left to fill; a partial fill after a partial fill keeps shares open.
    filled = 10 if status in (OrderStatus.PARTIALLY_FILLED,) else 0
    order = order_in(status, filled=filled)
    assert order.apply(event_for(trigger, order)) is True
    assert order.status is target


@pytest.mark.parametrize(("status", "trigger"), ILLEGAL)
def test_every_illegal_transition_raises(status: OrderStatus, trigger: Trigger) -> None:
    filled = QTY if status is OrderStatus.FILLED else 0
    order = order_in(status, filled=filled)
    if trigger in (Trigger.FILL, Trigger.PARTIAL_FILL) and order.remaining_quantity == 0:
        order = order_in(status, filled=0)
    with pytest.raises(IllegalTransitionError):
        order.apply(event_for(trigger, order))
    with pytest.raises(IllegalTransitionError):
        next_status(status, trigger)
    assert order.status is status


def test_cancel_rejected_after_partial_fill_returns_to_partially_filled() -> None:
    order = order_in(OrderStatus.PENDING_CANCEL, filled=30)
    order.apply(event_for(Trigger.CANCEL_REJECT, order))
    assert order.status is OrderStatus.PARTIALLY_FILLED


def test_fill_after_cancel_request_fills_order() -> None:
    order = order_in(OrderStatus.PENDING_CANCEL)
    order.apply(event_for(Trigger.FILL, order))
    assert order.status is OrderStatus.FILLED and order.filled_quantity == QTY


def test_partial_fills_average_the_price_exactly() -> None:
    order = order_in(OrderStatus.ACCEPTED)
    fills = [(30, "10.00"), (30, "10.01"), (40, "10.02")]
    for n, (qty, price) in enumerate(fills):
        order.apply(
            OrderFilled(
                ts_event=T0, ts_init=T0, client_order_id=COID, fill_id=FillId(f"p{n}"),
                ticker=Ticker("AAPL"), side=Side.BUY, quantity=qty, price=Decimal(price),
                commission=Decimal("0.5"),
            )
        )  # fmt: skip
    assert order.status is OrderStatus.FILLED
    assert order.filled_notional == Decimal("1001.10")
    assert order.avg_fill_price == Decimal("10.011000")
    assert order.commission == Decimal("1.5")


def test_duplicate_fill_is_ignored_not_double_counted() -> None:
    order = order_in(OrderStatus.ACCEPTED)
    fill = event_for(Trigger.PARTIAL_FILL, order)
    assert order.apply(fill) is True
    assert order.apply(fill) is False
    assert order.filled_quantity == 1


def test_overfill_raises_and_leaves_order_unchanged() -> None:
    order = order_in(OrderStatus.ACCEPTED, filled=90)
    fill = OrderFilled(
        ts_event=T0, ts_init=T0, client_order_id=COID, fill_id=FillId("big"),
        ticker=Ticker("AAPL"), side=Side.BUY, quantity=11, price=Decimal("10"),
        commission=Decimal("0"),
    )  # fmt: skip
    with pytest.raises(IllegalTransitionError, match="overfills"):
        order.apply(fill)
    assert order.filled_quantity == 90 and order.status is OrderStatus.ACCEPTED


def test_fill_of_wrong_side_or_ticker_raises() -> None:
    order = order_in(OrderStatus.ACCEPTED)
    fill = OrderFilled(
        ts_event=T0, ts_init=T0, client_order_id=COID, fill_id=FillId("x"),
        ticker=Ticker("AAPL"), side=Side.SELL, quantity=1, price=Decimal("10"),
        commission=Decimal("0"),
    )  # fmt: skip
    with pytest.raises(IllegalTransitionError, match="does not match"):
        order.apply(fill)


def test_event_for_another_order_is_refused() -> None:
    order = order_in(OrderStatus.NEW)
    with pytest.raises(ValueError, match="applied to order"):
        order.apply(OrderSubmitted(ts_event=T0, ts_init=T0, client_order_id=ClientOrderId("other")))


def test_accept_records_broker_id_and_reject_records_reason() -> None:
    order = order_in(OrderStatus.SUBMITTED)
    order.apply(event_for(Trigger.ACCEPT, order))
    assert order.broker_order_id == "B1"
    order = order_in(OrderStatus.SUBMITTED)
    order.apply(event_for(Trigger.REJECT, order))
    assert order.reject_reason == "no" and not order.is_open
