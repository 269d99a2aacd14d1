"""``OrderUpdated``: new terms after a replace apply to open orders only."""

from __future__ import annotations

from decimal import Decimal

import pytest

from quant_agent.core.enums import OrderStatus, OrderType, Side
from quant_agent.core.errors import IllegalTransitionError
from quant_agent.core.events import OrderUpdated
from quant_agent.core.ids import ClientOrderId, Ticker
from quant_agent.core.order import Order
from quant_agent.testkit.quotes import at

COID = ClientOrderId("qa-x")


def order(status: OrderStatus, filled: int = 0) -> Order:
    return Order(client_order_id=COID, ticker=Ticker("AAPL"), side=Side.SELL,
                 order_type=OrderType.STOP, quantity=100, stop_price=Decimal("95"),
                 created_at=at(0), status=status, filled_quantity=filled)  # fmt: skip


def update(qty: int) -> OrderUpdated:
    return OrderUpdated(ts_event=at(1), ts_init=at(1), client_order_id=COID, quantity=qty,
                        stop_price=Decimal("96"))  # fmt: skip


def test_an_open_order_takes_new_terms_and_keeps_its_status() -> None:
    o = order(OrderStatus.ACCEPTED)
    assert o.apply(update(40))
    assert (o.quantity, o.stop_price, o.status) == (40, Decimal("96"), OrderStatus.ACCEPTED)


def test_a_quantity_not_above_the_filled_one_is_refused() -> None:
    with pytest.raises(IllegalTransitionError, match="not above"):
        order(OrderStatus.PARTIALLY_FILLED, filled=40).apply(update(40))


def test_a_closed_order_cannot_be_modified() -> None:
    with pytest.raises(IllegalTransitionError, match="cannot be modified"):
        order(OrderStatus.FILLED, filled=100).apply(update(100))
