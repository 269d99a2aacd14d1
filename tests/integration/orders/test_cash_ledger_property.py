"""Property: after any sequence of fills the paper account's cash is exactly initial capital
- buys + sells - commissions, and each position is the sum of its signed fill quantities,
in the live venue and in a new venue built over the same database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quant_agent.brokers.base import OrderRequest
from quant_agent.brokers.paper import PaperBroker
from quant_agent.core.clock import SimClock
from quant_agent.core.enums import OrderType, Side, TimeInForce
from quant_agent.core.ids import ClientOrderId, Ticker
from quant_agent.storage import tables as t
from quant_agent.storage.store import Store
from quant_agent.testkit.quotes import SESSION_OPEN, at, quote

CAPITAL = Decimal("50000")

steps = st.lists(
    st.tuples(
        st.sampled_from([Side.BUY, Side.SELL]),
        st.sampled_from(["AAPL", "MSFT"]),
        st.integers(min_value=1, max_value=60),
        st.integers(min_value=50, max_value=30000),  # price in cents: $0.50 .. $300.00
        st.sampled_from([OrderType.MARKET, OrderType.LIMIT]),
        st.integers(min_value=0, max_value=80),  # quoted size (0 = unknown)
    ),
    max_size=14,
)
venues = st.fixed_dictionaries(
    {
        "commission_per_trade": st.sampled_from([Decimal("0"), Decimal("1.00"), Decimal("4.95")]),
        "slippage_pct": st.sampled_from([Decimal("0"), Decimal("0.05"), Decimal("0.13")]),
        "partial_fills": st.booleans(),
    }
)


def wipe(store: Store) -> None:
    with store.unit_of_work() as uow:
        for table in (t.paper_fills, t.paper_orders, t.paper_positions, t.paper_account):
            uow.connection.execute(sa.delete(table))


def run(store: Store, options: dict[str, object], script: list[tuple]) -> PaperBroker:  # type: ignore[type-arg]
    clock = SimClock(SESSION_OPEN)
    paper = PaperBroker(store, clock, initial_capital=CAPITAL, **options)  # type: ignore[arg-type]
    for i, (side, ticker, qty, cents, kind, size) in enumerate(script):
        price = Decimal(cents) / 100
        tick = Decimal("0.01") if price >= 1 else Decimal("0.0001")
        paper.submit(
            OrderRequest(
                client_order_id=ClientOrderId(f"o{i}"), ticker=Ticker(ticker), side=side,
                order_type=kind, quantity=qty, time_in_force=TimeInForce.GTC,
                limit_price=price if kind is OrderType.LIMIT else None,
            )
        )  # fmt: skip
        clock.set(at(i + 1))
        paper.on_quote(quote(ticker, price - tick, price, ts=at(i + 1), bid_size=size,
                             ask_size=size))  # fmt: skip
    return paper


def check_ledger(paper: PaperBroker) -> None:
    fills = paper.fills_since(SESSION_OPEN)
    cash = CAPITAL
    held: Counter[str] = Counter()
    for f in fills:
        cash += -f.price * f.quantity if f.side is Side.BUY else f.price * f.quantity
        cash -= f.commission
        held[f.ticker] += f.side.sign * f.quantity
    assert paper.balances().cash == cash  # exact Decimal equality
    assert {p.ticker: p.quantity for p in paper.positions()} == {k: v for k, v in held.items() if v}
    assert all(v >= 0 for v in held.values()) and cash >= 0


@pytest.mark.parametrize("examples", [40])
def test_cash_and_positions_always_equal_the_fills(store: Store, examples: int) -> None:
    count = examples if store.dialect == "sqlite" else 12

    @settings(max_examples=count, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
    @given(options=venues, script=steps)
    def prop(options: dict[str, object], script: list[tuple]) -> None:  # type: ignore[type-arg]
        wipe(store)
        paper = run(store, options, script)
        check_ledger(paper)
        restarted = PaperBroker(store, SimClock(at(100)), initial_capital=Decimal("1"), **options)  # type: ignore[arg-type]
        check_ledger(restarted)
        assert restarted.balances().cash == paper.balances().cash

    prop()
