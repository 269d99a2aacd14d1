"""Start-up reconciliation with the broker, on SQLite and PostgreSQL: a position the venue
holds that the store does not know halts entries with a CRITICAL risk event (the venue is
right); a fill of an order we never made is reported; the pure diffs say what differs."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from quant_agent.brokers.base import OrderRequest
from quant_agent.core.enums import OrderType, Severity, Side, TradingState
from quant_agent.core.events import OrderFilled
from quant_agent.core.ids import ClientOrderId, FillId, Ticker
from quant_agent.reconciliation import PositionMismatch, diff_fills, diff_positions
from quant_agent.storage.store import Store
from quant_agent.testkit.executor import make_desk
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
