"""Start-up reconciliation with the broker, on SQLite and PostgreSQL: a position the venue
holds that the store does not know halts entries with a CRITICAL risk event (the venue is
right); a fill of an order we never made is reported; the pure diffs say what differs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from quant_agent.brokers.base import OrderRequest
from quant_agent.core.enums import OrderRole, OrderType, Severity, Side, TradingState
from quant_agent.core.events import OrderFilled
from quant_agent.core.ids import ClientOrderId, FillId, Ticker
from quant_agent.reconciliation import PositionMismatch, diff_fills, diff_positions
from quant_agent.storage.store import Store
from quant_agent.testkit.executor import make_desk, planned_signal
from quant_agent.testkit.quotes import SESSION_OPEN, quote


def test_a_position_only_the_broker_knows_halts_entries_with_a_critical_event(
    store: Store,
) -> None:
    desk = make_desk(store, SESSION_OPEN)
    desk.venue.submit(OrderRequest(client_order_id=ClientOrderId("by-hand-1"),
                                   ticker=Ticker("XYZ"), side=Side.BUY,
                                   order_type=OrderType.MARKET, quantity=5))  # fmt: skip
    desk.venue.on_quote(quote("XYZ", "20.00", "20.01", ts=SESSION_OPEN))
    notes = desk.executor.start()
    assert desk.risk.state is TradingState.HALTED
    assert any("XYZ" in n and "broker reports 5" in n for n in notes)
    with store.unit_of_work() as uow:
        events = [(e.rule, e.severity) for e in uow.risk_events.list(event_type="RISK_BREACH")]
    assert ("reconciliation", Severity.CRITICAL) in events


def test_diffs_split_missing_fills_from_strays_and_list_position_differences() -> None:
    def fill(fill_id: str, coid: str) -> OrderFilled:
        ts = datetime(2025, 3, 10, 14, tzinfo=UTC)
        return OrderFilled(ts_event=ts, ts_init=ts, client_order_id=ClientOrderId(coid),
                           fill_id=FillId(fill_id), ticker=Ticker("A"), side=Side.BUY,
                           quantity=1, price=Decimal("1"), commission=Decimal("0"))  # fmt: skip

    diff = diff_fills([fill("f1", "ours"), fill("f2", "ours"), fill("f3", "theirs")],
                      recorded_ids={"f1"}, known_orders={"ours"})  # fmt: skip
    assert [f.fill_id for f in diff.missing] == ["f2"]
    assert [f.fill_id for f in diff.strays] == ["f3"]
    assert diff_positions({"A": 5, "B": 3}, {"B": 3, "C": 2}) == [
        PositionMismatch("A", 5, 0), PositionMismatch("C", 0, 2)]  # fmt: skip


def test_protective_orders_left_after_their_position_closed_are_canceled_at_start(
    store: Store,
) -> None:
    desk = make_desk(store, SESSION_OPEN)
    desk.executor.start()
    signal = planned_signal("ABC", date(2025, 3, 7), "100.00", "95.00", "110.00", 10)
    desk.executor.process_signal(signal)
    desk.play([quote("ABC", "99.90", "100.00", ts=SESSION_OPEN)])
    # closed behind the executor's back: its bracket children stay working
    exit_order = desk.orders.create_market_order("ABC", Side.SELL, 10, role=OrderRole.EXIT)
    desk.orders.submit_order(exit_order.client_order_id)
    desk.play([quote("ABC", "101.00", "101.10", ts=SESSION_OPEN + timedelta(minutes=1))])
    assert not desk.positions.holds("ABC") and len(desk.orders.open_orders()) == 2
    again = make_desk(store, desk.clock.now())
    notes = again.executor.start()
    assert again.orders.open_orders() == [] and again.venue.list_open_orders() == []
    assert sum("orphan" in n for n in notes) == 2
    with store.unit_of_work() as uow:
        assert len(uow.risk_events.list(rule="orphan_order")) == 2
