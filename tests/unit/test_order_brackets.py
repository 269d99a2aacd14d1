"""The emulated bracket rule, as a pure plan over an entry and its children."""

from __future__ import annotations

from decimal import Decimal

from quant_agent.core.enums import OrderRole, OrderStatus, OrderType, Side
from quant_agent.core.ids import ClientOrderId, Ticker
from quant_agent.core.order import Order
from quant_agent.order_brackets import CancelOrder, ResizeOrder, SubmitOrder, plan_bracket
from quant_agent.testkit.quotes import at

S = OrderStatus


def order(coid: str, role: OrderRole, status: S, qty: int = 100, filled: int = 0) -> Order:
    return Order(
        client_order_id=ClientOrderId(coid), ticker=Ticker("AAPL"),
        side=Side.BUY if role is OrderRole.ENTRY else Side.SELL, order_type=OrderType.LIMIT,
        quantity=qty, limit_price=Decimal("100"), created_at=at(0), role=role, status=status,
        filled_quantity=filled, filled_notional=Decimal(100 * filled),
    )  # fmt: skip


def children(sl: S = S.NEW, tp: S = S.NEW, *, qty: int = 100, sl_filled: int = 0,
             tp_filled: int = 0) -> list[Order]:  # fmt: skip
    return [order("sl", OrderRole.STOP_LOSS, sl, qty, sl_filled),
            order("tp", OrderRole.TAKE_PROFIT, tp, qty, tp_filled)]  # fmt: skip


def test_children_wait_while_the_entry_is_unfilled() -> None:
    assert plan_bracket(order("e", OrderRole.ENTRY, S.ACCEPTED), children()) == []


def test_an_unfilled_entry_that_ended_cancels_its_children() -> None:
    for ended in (S.CANCELED, S.REJECTED, S.EXPIRED):
        plan = plan_bracket(order("e", OrderRole.ENTRY, ended), children())
        assert [type(a) for a in plan] == [CancelOrder, CancelOrder]


def test_a_full_entry_fill_submits_both_children_at_full_size() -> None:
    plan = plan_bracket(order("e", OrderRole.ENTRY, S.FILLED, filled=100), children())
    assert plan == [SubmitOrder(ClientOrderId("sl")), SubmitOrder(ClientOrderId("tp"))]


def test_a_partial_entry_fill_sizes_the_children_then_submits_them() -> None:
    plan = plan_bracket(order("e", OrderRole.ENTRY, S.PARTIALLY_FILLED, filled=40), children())
    assert plan == [
        ResizeOrder(ClientOrderId("sl"), 40), SubmitOrder(ClientOrderId("sl")),
        ResizeOrder(ClientOrderId("tp"), 40), SubmitOrder(ClientOrderId("tp")),
    ]  # fmt: skip


def test_more_entry_fills_grow_working_children() -> None:
    entry = order("e", OrderRole.ENTRY, S.FILLED, filled=100)
    plan = plan_bracket(entry, children(S.ACCEPTED, S.ACCEPTED, qty=40))
    assert plan == [ResizeOrder(ClientOrderId("sl"), 100), ResizeOrder(ClientOrderId("tp"), 100)]


def test_a_filled_child_cancels_its_sibling() -> None:
    entry = order("e", OrderRole.ENTRY, S.FILLED, filled=100)
    plan = plan_bracket(entry, children(S.ACCEPTED, S.FILLED, tp_filled=100))
    assert [type(a) for a in plan] == [CancelOrder] and plan[0].client_order_id == "sl"


def test_a_partial_exit_shrinks_the_sibling_and_cancels_the_entry_remainder() -> None:
    entry = order("e", OrderRole.ENTRY, S.PARTIALLY_FILLED, filled=80)
    plan = plan_bracket(entry, children(S.ACCEPTED, S.PARTIALLY_FILLED, qty=80, tp_filled=30))
    assert plan == [
        CancelOrder(ClientOrderId("e"), "a bracket child filled (OCO)"),
        ResizeOrder(ClientOrderId("sl"), 50),
    ]


def test_children_pending_cancel_are_left_alone() -> None:
    entry = order("e", OrderRole.ENTRY, S.FILLED, filled=100)
    plan = plan_bracket(entry, children(S.PENDING_CANCEL, S.FILLED, tp_filled=100))
    assert plan == []
