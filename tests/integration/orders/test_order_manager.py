"""The order manager over the paper venue, on SQLite and PostgreSQL: lifecycle, fills,
validation, retries without duplicates, broker faults, and restart."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from quant_agent.brokers.base import BrokerOrder, OrderRequest
from quant_agent.brokers.paper import PaperBroker
from quant_agent.config import OrdersConfig
from quant_agent.core.bus import EventBus
from quant_agent.core.clock import SimClock
from quant_agent.core.enums import OrderStatus, Side, TimeInForce
from quant_agent.core.errors import (
    IllegalTransitionError,
    OperationalError,
    OrderValidationError,
    TransientBrokerError,
)
from quant_agent.core.events import OrderEvent, OrderFilled
from quant_agent.core.ids import ClientOrderId, FillId, Ticker
from quant_agent.order_manager import OrderManager
from quant_agent.storage.store import Store
from quant_agent.testkit.faults import FaultyBroker, RecordingSleep
from quant_agent.testkit.quotes import AFTER_CLOSE, at, play, quote

from .conftest import CAPITAL, make_paper

D = Decimal


def event_types(store: Store, coid: str) -> list[str]:
    with store.unit_of_work() as uow:
        return [row["event_type"] for row in uow.order_events.for_order(coid)]


class StoreCheckingBroker(FaultyBroker):
    """Records the order's stored status at the instant its submit reaches the venue."""

    def __init__(self, inner: PaperBroker, store: Store) -> None:
        super().__init__(inner)
        self.store = store
        self.seen: list[str | None] = []

    def submit(self, request: OrderRequest) -> BrokerOrder:
        with self.store.unit_of_work() as uow:
            stored = uow.orders.get(request.client_order_id)
        self.seen.append(None if stored is None else stored.status.value)
        return super().submit(request)


# --- lifecycle ------------------------------------------------------------------------------


def test_order_is_stored_submitted_before_the_venue_sees_it(
    store: Store, paper: PaperBroker, clock: SimClock
) -> None:
    broker = StoreCheckingBroker(paper, store)
    om = OrderManager(store, broker, clock, sleep=RecordingSleep())
    order = om.create_market_order("AAPL", Side.BUY, 10, intent=("signal", 1, "ENTRY"))
    assert om.get_order_status(order.client_order_id) is OrderStatus.NEW
    om.submit_order(order.client_order_id)
    assert broker.seen == ["SUBMITTED"]
    assert om.get_order_status(order.client_order_id) is OrderStatus.ACCEPTED


def test_market_order_fill_is_recorded_with_price_quantity_commission_and_time(
    om: OrderManager, paper: PaperBroker, clock: SimClock, store: Store
) -> None:
    order = om.create_market_order("AAPL", "BUY", 100, intent=("t", 1))
    om.submit_order(order.client_order_id)
    play(paper, clock, [quote("AAPL", "99.99", "100.00", ts=at(1))])
    done = om.get_order(order.client_order_id)
    assert done is not None and done.status is OrderStatus.FILLED
    assert done.avg_fill_price == D("100.05") and done.broker_order_id == "P00000001"
    (fill,) = om.fills(order.client_order_id)
    assert (fill.price, fill.quantity, fill.commission, fill.ts_event) == (
        D("100.05"), 100, D("1.00"), at(1),
    )  # fmt: skip
    assert event_types(store, order.client_order_id) == [
        "OrderSubmitted", "OrderAccepted", "OrderFilled",
    ]  # fmt: skip


def test_limit_never_reached_stays_accepted_and_cancels(
    om: OrderManager, paper: PaperBroker, clock: SimClock
) -> None:
    order = om.create_limit_order("AAPL", Side.BUY, 10, "95.00", intent=("t", 2))
    om.submit_order(order.client_order_id)
    play(paper, clock, [quote("AAPL", "99.00", "99.01", ts=at(t)) for t in (1, 2, 3)])
    assert om.get_order_status(order.client_order_id) is OrderStatus.ACCEPTED
    assert om.cancel_order(order.client_order_id).status is OrderStatus.CANCELED
    assert paper.get_order_by_client_id(order.client_order_id).status is OrderStatus.CANCELED


def buy_and_hold(om: OrderManager, paper: PaperBroker, clock: SimClock, qty: int = 100) -> None:
    order = om.create_market_order("AAPL", Side.BUY, qty, intent=("hold", qty))
    om.submit_order(order.client_order_id)
    play(paper, clock, [quote("AAPL", "99.98", "100.00", ts=at(1))])


def test_stop_order_gapped_through_fills_at_the_gapped_price(
    om: OrderManager, paper: PaperBroker, clock: SimClock
) -> None:
    buy_and_hold(om, paper, clock)
    stop = om.create_stop_order("AAPL", Side.SELL, 100, "95.00", time_in_force=TimeInForce.GTC)
    om.submit_order(stop.client_order_id)
    play(paper, clock, [quote("AAPL", "96.00", "96.01", ts=at(5)),
                        quote("AAPL", "88.00", "88.05", ts=at(6))])  # fmt: skip
    filled = om.get_order(stop.client_order_id)
    assert filled is not None and filled.avg_fill_price == D("87.95")  # 88 x 0.9995 = 87.956


def test_stop_limit_order_triggers_then_fills_at_its_limit_or_better(
    om: OrderManager, paper: PaperBroker, clock: SimClock
) -> None:
    buy_and_hold(om, paper, clock)
    order = om.create_stop_limit_order("AAPL", Side.SELL, 100, "95.00", "94.00")
    om.submit_order(order.client_order_id)
    play(paper, clock, [quote("AAPL", "93.00", "93.05", ts=at(5))])
    assert om.get_order_status(order.client_order_id) is OrderStatus.ACCEPTED
    play(paper, clock, [quote("AAPL", "94.10", "94.15", ts=at(6))])
    filled = om.get_order(order.client_order_id)
    assert filled is not None and filled.avg_fill_price == D("94.10")


def test_venue_rejection_is_recorded_with_its_reason(om: OrderManager) -> None:
    order = om.create_limit_order("AAPL", Side.BUY, 5000, "100.00")
    rejected = om.submit_order(order.client_order_id)
    assert rejected.status is OrderStatus.REJECTED
    assert "insufficient buying power" in (rejected.reject_reason or "")


def test_day_order_outside_hours_is_rejected_before_it_leaves(store: Store) -> None:
    clock = SimClock(AFTER_CLOSE)
    broker = FaultyBroker(make_paper(store, clock))
    om = OrderManager(store, broker, clock, sleep=RecordingSleep())
    order = om.create_limit_order("AAPL", Side.BUY, 10, "99.00")
    with pytest.raises(OrderValidationError, match="market closed"):
        om.submit_order(order.client_order_id)
    assert om.get_order_status(order.client_order_id) is OrderStatus.REJECTED
    assert broker.venue_submits == []
    gtc = om.create_limit_order("AAPL", Side.BUY, 10, "99.00", time_in_force=TimeInForce.GTC)
    assert om.submit_order(gtc.client_order_id).status is OrderStatus.ACCEPTED


def test_average_fill_price_over_partial_fills(store: Store, clock: SimClock) -> None:
    paper = make_paper(store, clock, partial_fills=True)
    om = OrderManager(store, paper, clock, sleep=RecordingSleep())
    order = om.create_limit_order("AAPL", Side.BUY, 100, "10.00")
    om.submit_order(order.client_order_id)
    play(paper, clock, [quote("AAPL", "9.98", "10.00", ts=at(1), ask_size=25),
                        quote("AAPL", "9.90", "9.91", ts=at(2), ask_size=25),
                        quote("AAPL", "9.90", "9.93", ts=at(3), ask_size=0)])  # fmt: skip
    done = om.get_order(order.client_order_id)
    assert done is not None and done.status is OrderStatus.FILLED
    assert [f.quantity for f in om.fills(order.client_order_id)] == [25, 25, 50]
    # (25 x 10.00 + 25 x 9.91 + 50 x 9.93) / 100 = 9.9425
    assert done.avg_fill_price == D("9.9425") and done.commission == D("3.00")


# --- validation (each rule: test_order_validation.py) ----------------------------------------


def test_an_invalid_order_stores_nothing(om: OrderManager, store: Store) -> None:
    with pytest.raises(OrderValidationError, match="not on the 0.01 tick"):
        om.create_bracket_order("AAPL", "100.00", "95.005", "110.00", 10)
    with store.unit_of_work() as uow:
        assert uow.orders.count() == 0


def test_same_intent_returns_the_stored_order_and_a_clash_is_refused(om: OrderManager) -> None:
    first = om.create_limit_order("AAPL", Side.BUY, 10, "99.00", intent=("sig", 7))
    again = om.create_limit_order("AAPL", Side.BUY, 10, "99.00", intent=("sig", 7))
    assert again.client_order_id == first.client_order_id and len(om.open_orders()) == 1
    with pytest.raises(OrderValidationError, match="different order"):
        om.create_limit_order("MSFT", Side.BUY, 10, "99.00", intent=("sig", 7))


def test_submitting_twice_sends_once(faulty_om: OrderManager, faulty: FaultyBroker) -> None:
    order = faulty_om.create_limit_order("AAPL", Side.BUY, 10, "99.00")
    faulty_om.submit_order(order.client_order_id)
    faulty_om.submit_order(order.client_order_id)
    assert faulty.venue_submits == [order.client_order_id]


# --- broker faults --------------------------------------------------------------------------


def test_timeout_after_the_venue_accepted_retries_by_lookup_and_sends_once(
    faulty_om: OrderManager, faulty: FaultyBroker, paper: PaperBroker, sleep: RecordingSleep
) -> None:
    order = faulty_om.create_limit_order("AAPL", Side.BUY, 10, "99.00")
    faulty.time_out_after_submit(1)
    assert faulty_om.submit_order(order.client_order_id).status is OrderStatus.ACCEPTED
    assert faulty.venue_submits == [order.client_order_id]
    assert len(paper.list_open_orders()) == 1 and sleep.delays == [0.5]
    assert faulty.calls["get_order_by_client_id"] == 1


def test_a_429_storm_backs_off_exponentially_then_submits_once(
    faulty_om: OrderManager, faulty: FaultyBroker, sleep: RecordingSleep
) -> None:
    order = faulty_om.create_limit_order("AAPL", Side.BUY, 10, "99.00")
    faulty.fail_before("submit", 3, "HTTP 429 Too Many Requests")
    assert faulty_om.submit_order(order.client_order_id).status is OrderStatus.ACCEPTED
    assert sleep.delays == [0.5, 1.0, 2.0] and faulty.venue_submits == [order.client_order_id]


def test_backoff_is_capped(store: Store, faulty: FaultyBroker, clock: SimClock) -> None:
    sleep = RecordingSleep()
    config = OrdersConfig(submit_attempts=6, backoff_initial_seconds=1, backoff_max_seconds=3)
    om = OrderManager(store, faulty, clock, sleep=sleep, config=config)
    order = om.create_limit_order("AAPL", Side.BUY, 10, "99.00")
    faulty.fail_before("submit", 5, "HTTP 503")
    om.submit_order(order.client_order_id)
    assert sleep.delays == [1, 2, 3, 3, 3]


def test_exhausted_retries_leave_the_order_submitted_and_recover_sends_it_once(
    faulty_om: OrderManager, faulty: FaultyBroker
) -> None:
    order = faulty_om.create_limit_order("AAPL", Side.BUY, 10, "99.00")
    faulty.fail_before("submit", 4, "HTTP 502")
    with pytest.raises(TransientBrokerError):
        faulty_om.submit_order(order.client_order_id)
    assert faulty_om.get_order_status(order.client_order_id) is OrderStatus.SUBMITTED
    assert faulty.venue_submits == []
    faulty_om.recover()
    assert faulty_om.get_order_status(order.client_order_id) is OrderStatus.ACCEPTED
    assert faulty.venue_submits == [order.client_order_id]


def test_duplicated_fill_events_are_counted_once(
    faulty_om: OrderManager, faulty: FaultyBroker, paper: PaperBroker, clock: SimClock
) -> None:
    faulty.duplicate_fills = True
    order = faulty_om.create_market_order("AAPL", Side.BUY, 10)
    faulty_om.submit_order(order.client_order_id)
    play(paper, clock, [quote("AAPL", "9.99", "10.00", ts=at(1))])
    assert len(faulty_om.fills(order.client_order_id)) == 1
    (fill,) = faulty_om.fills(order.client_order_id)
    assert faulty_om.handle_fill(fill) is False
    done = faulty_om.get_order(order.client_order_id)
    assert done is not None and done.filled_quantity == 10


def test_a_fill_before_its_acknowledgement_fills_the_order(
    faulty_om: OrderManager, faulty: FaultyBroker, paper: PaperBroker, clock: SimClock,
    store: Store,
) -> None:  # fmt: skip
    faulty.fills_before_acks = True
    order = faulty_om.create_market_order("AAPL", Side.BUY, 10)
    assert faulty_om.submit_order(order.client_order_id).status is OrderStatus.SUBMITTED
    play(paper, clock, [quote("AAPL", "9.99", "10.00", ts=at(1))])
    done = faulty_om.get_order(order.client_order_id)
    assert done is not None and done.status is OrderStatus.FILLED
    assert done.broker_order_id == "P00000001"
    assert event_types(store, order.client_order_id) == ["OrderSubmitted", "OrderFilled"]


def test_an_overfill_raises_rather_than_being_recorded(
    om: OrderManager, paper: PaperBroker, clock: SimClock
) -> None:
    order = om.create_market_order("AAPL", Side.BUY, 10)
    om.submit_order(order.client_order_id)
    play(paper, clock, [quote("AAPL", "9.99", "10.00", ts=at(1))])
    extra = OrderFilled(
        ts_event=at(2), ts_init=at(2), client_order_id=order.client_order_id,
        fill_id=FillId("rogue-1"), ticker=order.ticker, side=Side.BUY, quantity=1,
        price=D("10.00"), commission=D("0"),
    )  # fmt: skip
    with pytest.raises(IllegalTransitionError, match="overfills"):
        om.handle_fill(extra)
    assert len(om.fills(order.client_order_id)) == 1


# --- restart --------------------------------------------------------------------------------


def test_a_new_manager_and_venue_over_the_same_database_see_the_same_state(
    store: Store, om: OrderManager, paper: PaperBroker, clock: SimClock
) -> None:
    buy_and_hold(om, paper, clock, 50)
    working = om.create_limit_order("AAPL", Side.SELL, 20, "120.00", time_in_force=TimeInForce.GTC)
    om.submit_order(working.client_order_id)
    before = (om.open_orders(), om.fills(), paper.balances().cash, paper.positions())
    paper2 = make_paper(store, clock)
    om2 = OrderManager(store, paper2, clock, sleep=RecordingSleep())
    om2.recover()
    assert (om2.open_orders(), om2.fills(), paper2.balances().cash, paper2.positions()) == before
    assert paper2.balances().cash == CAPITAL - 50 * D("100.05") - D("1.00")
    play(paper2, clock, [quote("AAPL", "120.00", "120.02", ts=at(30))])
    assert om2.get_order_status(working.client_order_id) is OrderStatus.FILLED


def test_a_crash_after_the_venue_accepted_but_before_the_ack_was_stored_is_settled_once(
    store: Store, paper: PaperBroker, clock: SimClock
) -> None:
    broker = FaultyBroker(paper)
    crashed = OrderManager(store, broker, clock, sleep=RecordingSleep(),
                           config=OrdersConfig(submit_attempts=1))  # fmt: skip
    order = crashed.create_limit_order("AAPL", Side.BUY, 10, "99.00", intent=("sig", 9))
    broker.time_out_after_submit(1)
    with pytest.raises(TransientBrokerError):
        crashed.submit_order(order.client_order_id)
    # a fresh process: new manager, same database, same venue
    fresh = OrderManager(store, broker, clock, sleep=RecordingSleep())
    fresh.recover()
    assert fresh.get_order_status(order.client_order_id) is OrderStatus.ACCEPTED
    assert broker.venue_submits == [order.client_order_id]


def test_an_order_stored_new_but_never_sent_before_a_crash_is_sent_once_that_session(
    store: Store, paper: PaperBroker, clock: SimClock
) -> None:
    broker = FaultyBroker(paper)
    crashed = OrderManager(store, broker, clock, sleep=RecordingSleep())
    exit_order = crashed.create_market_order("AAPL", Side.BUY, 10, intent=("exit", 1))
    stale = crashed.create_limit_order("MSFT", Side.BUY, 5, "99.00", intent=("entry", 2))
    with store.unit_of_work() as uow:  # made the session before: never sent, now stale
        order = uow.orders.get(stale.client_order_id)
        assert order is not None
        uow.orders.save(replace(order, created_at=at(-24 * 60)))
    fresh = OrderManager(store, broker, clock, sleep=RecordingSleep())  # the restart
    fresh.recover()
    fresh.recover()
    assert fresh.get_order_status(exit_order.client_order_id) is OrderStatus.ACCEPTED
    assert fresh.get_order_status(stale.client_order_id) is OrderStatus.CANCELED
    assert broker.venue_submits == [exit_order.client_order_id]


def test_cancel_retries_through_a_5xx_burst_and_cancels_once(
    faulty_om: OrderManager, faulty: FaultyBroker, paper: PaperBroker, sleep: RecordingSleep
) -> None:
    order = faulty_om.create_limit_order("AAPL", Side.BUY, 10, "90.00")
    faulty_om.submit_order(order.client_order_id)
    faulty.fail_before("cancel", 2, "HTTP 503")
    assert faulty_om.cancel_order(order.client_order_id).status is OrderStatus.CANCELED
    assert sleep.delays == [0.5, 1.0] and faulty.calls["cancel"] == 3
    assert paper.get_order_by_client_id(order.client_order_id).status is OrderStatus.CANCELED


def test_events_are_published_on_the_bus_after_they_are_stored(
    store: Store, paper: PaperBroker, clock: SimClock
) -> None:
    bus = EventBus(clock)
    seen: list[tuple[str, str]] = []

    def on_event(event: OrderEvent) -> None:
        with store.unit_of_work() as uow:
            stored = uow.orders.get(event.client_order_id)
        assert stored is not None
        seen.append((type(event).__name__, stored.status.value))

    bus.subscribe(OrderEvent, on_event)
    om = OrderManager(store, paper, clock, sleep=RecordingSleep(), bus=bus)
    order = om.create_market_order("AAPL", Side.BUY, 10)
    om.submit_order(order.client_order_id)
    play(paper, clock, [quote("AAPL", "9.99", "10.00", ts=at(1))])
    assert seen == [
        ("OrderSubmitted", "SUBMITTED"), ("OrderAccepted", "ACCEPTED"), ("OrderFilled", "FILLED"),
    ]  # fmt: skip


def test_a_fill_for_an_order_we_never_made_is_not_recorded(om: OrderManager) -> None:
    stray = OrderFilled(
        ts_event=at(2), ts_init=at(2), client_order_id=ClientOrderId("manual-at-broker"),
        fill_id=FillId("x-1"), ticker=Ticker("AAPL"), side=Side.BUY, quantity=1,
        price=D("10.00"), commission=D("0"),
    )  # fmt: skip
    assert om.handle_fill(stray) is False and om.fills() == []


def test_a_fill_id_reused_for_another_order_is_refused_not_dropped(
    om: OrderManager, paper: PaperBroker, clock: SimClock
) -> None:
    order = om.create_market_order("AAPL", Side.BUY, 10)
    om.submit_order(order.client_order_id)
    play(paper, clock, [quote("AAPL", "9.99", "10.00", ts=at(1))])
    other = om.create_limit_order("AAPL", Side.BUY, 10, "9.00", intent=("other",))
    (fill,) = om.fills(order.client_order_id)
    reused = replace(fill, client_order_id=other.client_order_id)
    with pytest.raises(OperationalError, match="already recorded for order"):
        om.handle_fill(reused)
