"""What must hold after any broker fault, checked the same way on every venue.

``venue_books_agree`` compares the store with what the venue reports: every client order id
reached the venue at most once, every execution is recorded exactly once, the positions
match share for share, and (when the venue keeps cash) the cash equals the fills to the cent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal

from quant_agent.brokers.base import Broker
from quant_agent.core.enums import OrderRole, OrderStatus, Side
from quant_agent.core.events import OrderFilled
from quant_agent.order_manager import OrderManager
from quant_agent.position_manager import PositionManager

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def sent_once(client_ids: Iterable[str]) -> None:
    """No client order id reached the venue twice."""
    twice = {coid: n for coid, n in Counter(client_ids).items() if n > 1}
    assert twice == {}, f"sent more than once: {twice}"


def cash_after(initial: Decimal, fills: Iterable[OrderFilled]) -> Decimal:
    """Cash once ``fills`` are paid for: buys cost, sells pay, every fill's commission."""
    cash = initial
    for f in fills:
        value = f.price * f.quantity
        cash += (value if f.side is Side.SELL else -value) - f.commission
    return cash


def venue_books_agree(
    orders: OrderManager,
    positions: PositionManager,
    broker: Broker,
    *,
    initial_cash: Decimal | None = None,
    held_before: dict[str, int] | None = None,
    since: datetime = EPOCH,
) -> None:
    """The store and the venue agree (see the module docstring); ``held_before`` is what
    the venue held before the test began (positions older than any fill history); ``since``
    bounds the venue's execution history asked for."""
    recorded = orders.fills()
    ids = [f.fill_id for f in recorded]
    assert len(ids) == len(set(ids)), "a fill id recorded twice"
    at_venue = {f.fill_id: f for f in broker.fills_since(since)
                if orders.get_order(f.client_order_id)}  # fmt: skip
    missing, extra = set(at_venue) - set(ids), set(ids) - set(at_venue)
    assert not missing and not extra, f"fills not recorded {missing}, not at the venue {extra}"
    for f in recorded:  # the same execution: shares, price and commission to the cent
        venue_fill = at_venue[f.fill_id]
        assert (f.quantity, f.price, f.commission) == (
            venue_fill.quantity, venue_fill.price, venue_fill.commission)  # fmt: skip
    for order in [orders.get_order(f.client_order_id) for f in recorded]:
        assert order is not None
        mine = [f.quantity for f in recorded if f.client_order_id == order.client_order_id]
        assert order.filled_quantity == sum(mine) <= order.quantity
    local = {str(p.ticker): p.quantity for p in positions.get_active_positions()}
    for ticker, quantity in (held_before or {}).items():
        local[ticker] = local.get(ticker, 0) + quantity
    venue = {str(p.ticker): p.quantity for p in broker.positions()}
    assert {t: q for t, q in local.items() if q} == venue
    if initial_cash is not None:
        assert broker.balances().cash == cash_after(initial_cash, recorded)


def protection_matches_holdings(
    orders: OrderManager, positions: PositionManager, *, halted_on: str = ""
) -> None:
    """Every held position's stop and target are at the venue for exactly the shares held,
    unless an exit is already selling it or a CRITICAL event (text in ``halted_on``) handed
    it to the operator (e.g. the broker rejected its stop or its exit)."""
    working = orders.open_orders()
    for p in positions.get_active_positions():
        if any(o.ticker == p.ticker and o.role is OrderRole.EXIT for o in working):
            continue
        if f" {p.ticker} " in f" {halted_on} ":
            continue
        for role in (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT):
            mine = [o for o in working if o.ticker == p.ticker and o.role is role]
            assert all(o.status is not OrderStatus.NEW for o in mine), f"{p.ticker} {role} unsent"
            left = sum(o.quantity - o.filled_quantity for o in mine)
            assert left == p.quantity, f"{p.ticker} {role}: {left} for {p.quantity} held"
