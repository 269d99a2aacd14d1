from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quant_agent.core.enums import PositionStatus, Side
from quant_agent.core.events import OrderFilled
from quant_agent.core.ids import ClientOrderId, FillId, Ticker
from quant_agent.core.position import Position

T0 = datetime(2025, 1, 2, 15, 0, tzinfo=UTC)
_n = iter(range(10**9))


def fill(side: Side, qty: int, price: str, commission: str = "1") -> OrderFilled:
    n = next(_n)
    return OrderFilled(
        ts_event=T0 + timedelta(minutes=n), ts_init=T0, client_order_id=ClientOrderId("c"),
        fill_id=FillId(f"f{n}"), ticker=Ticker("XYZ"), side=side, quantity=qty,
        price=Decimal(price), commission=Decimal(commission),
    )  # fmt: skip


def test_buy_then_sell_realizes_pnl_with_commissions_apart() -> None:
    p = Position(ticker=Ticker("XYZ"))
    p.apply(fill(Side.BUY, 100, "50.00"))
    assert p.status is PositionStatus.OPEN and p.avg_entry_price == Decimal("50")
    assert p.unrealized_pnl(Decimal("52.50")) == Decimal("250.00")
    p.apply(fill(Side.SELL, 100, "55.00"))
    assert p.quantity == 0 and p.status is PositionStatus.CLOSED
    assert p.realized_pnl == Decimal("500.00")
    assert p.net_realized_pnl == Decimal("498.00")
    assert p.closed_at is not None


def test_partial_close_takes_proportional_cost() -> None:
    p = Position(ticker=Ticker("XYZ"))
    p.apply(fill(Side.BUY, 3, "10.00"))
    p.apply(fill(Side.BUY, 3, "10.01"))
    p.apply(fill(Side.SELL, 2, "11.00"))
    assert p.quantity == 4
    assert p.realized_pnl == Decimal("22.00") - Decimal("20.010000")
    p.apply(fill(Side.SELL, 4, "9.00"))
    assert p.realized_pnl == Decimal("58.00") - Decimal("60.03")


def test_sell_through_zero_opens_a_short_at_the_fill_price() -> None:
    p = Position(ticker=Ticker("XYZ"))
    p.apply(fill(Side.BUY, 10, "20"))
    p.apply(fill(Side.SELL, 15, "21"))
    assert p.quantity == -5 and p.avg_entry_price == Decimal("21")
    assert p.realized_pnl == Decimal("10")
    assert p.unrealized_pnl(Decimal("20")) == Decimal("5")


def test_duplicate_fill_is_ignored() -> None:
    p = Position(ticker=Ticker("XYZ"))
    f = fill(Side.BUY, 10, "20")
    assert p.apply(f) is True and p.apply(f) is False
    assert p.quantity == 10 and p.commission == Decimal("1")


def test_fill_of_another_ticker_is_refused() -> None:
    p = Position(ticker=Ticker("ABC"))
    with pytest.raises(ValueError):
        p.apply(fill(Side.BUY, 1, "1"))


prices = st.decimals(min_value="0.5", max_value="900", places=2)


@given(st.lists(st.tuples(st.integers(1, 500), prices, prices), min_size=1, max_size=12))
def test_round_trips_realize_exactly_sells_minus_buys(legs: list) -> None:
    p = Position(ticker=Ticker("XYZ"))
    cash_flow = Decimal(0)
    for qty, buy_price, _sell_price in legs:
        p.apply(fill(Side.BUY, qty, str(buy_price)))
        cash_flow -= qty * buy_price
    for qty, _, sell_price in legs:
        p.apply(fill(Side.SELL, qty, str(sell_price)))
        cash_flow += qty * sell_price
    assert p.quantity == 0 and p.cost_basis == 0
    assert p.realized_pnl == cash_flow
    assert p.net_realized_pnl == cash_flow - 2 * len(legs)
