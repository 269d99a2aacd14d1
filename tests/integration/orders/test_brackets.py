"""Emulated brackets over the paper venue, on SQLite and PostgreSQL: the entry fill activates
both children, one child's fill cancels the other, a partial entry fill sizes the children,
canceling the entry before a fill cancels the whole bracket, and it all survives a restart."""

from __future__ import annotations

from decimal import Decimal

import pytest

from quant_agent.brokers.paper import PaperBroker
from quant_agent.core.clock import SimClock
from quant_agent.core.enums import OrderRole, OrderStatus, OrderType, Side
from quant_agent.core.errors import TransientBrokerError
from quant_agent.order_manager import Bracket, OrderManager
from quant_agent.storage.store import Store
from quant_agent.testkit.faults import FaultyBroker, RecordingSleep
from quant_agent.testkit.quotes import at, play, quote

from .conftest import make_paper

D = Decimal
S = OrderStatus


def statuses(om: OrderManager, bracket: Bracket) -> tuple[S, S, S]:
    return (
        om.get_order_status(bracket.entry.client_order_id),
        om.get_order_status(bracket.stop_loss.client_order_id),
        om.get_order_status(bracket.take_profit.client_order_id),
    )


def quantity(om: OrderManager, order_id: str) -> int:
    order = om.get_order(order_id)  # type: ignore[arg-type]
    assert order is not None
    return order.quantity


@pytest.fixture
def bracket(om: OrderManager) -> Bracket:
    made = om.create_bracket_order("AAPL", "100.00", "95.00", "110.00", 100,
                                   intent=("signal", 1, "ENTRY"))  # fmt: skip
    om.submit_order(made.entry.client_order_id)
    return made


def test_bracket_is_created_as_an_entry_and_two_linked_gtc_children(
    bracket: Bracket, om: OrderManager
) -> None:
    entry, stop, target = bracket.entry, bracket.stop_loss, bracket.take_profit
    assert (stop.role, stop.order_type, stop.side, stop.stop_price) == (
        OrderRole.STOP_LOSS, OrderType.STOP, Side.SELL, D("95.00"),
    )  # fmt: skip
    assert (target.role, target.order_type, target.limit_price) == (
        OrderRole.TAKE_PROFIT, OrderType.LIMIT, D("110.00"),
    )  # fmt: skip
    assert stop.parent_client_order_id == target.parent_client_order_id == entry.client_order_id
    assert statuses(om, bracket) == (S.ACCEPTED, S.NEW, S.NEW)


def test_entry_fill_activates_both_children_at_the_venue(
    bracket: Bracket, om: OrderManager, paper: PaperBroker, clock: SimClock
) -> None:
    play(paper, clock, [quote("AAPL", "99.98", "100.00", ts=at(1))])
    assert statuses(om, bracket) == (S.FILLED, S.ACCEPTED, S.ACCEPTED)
    venue = {o.client_order_id: o.quantity for o in paper.list_open_orders()}
    assert venue == {bracket.stop_loss.client_order_id: 100,
                     bracket.take_profit.client_order_id: 100}  # fmt: skip


@pytest.mark.parametrize(
    ("exit_quote", "expected"),
    [
        (("110.00", "110.02"), (S.FILLED, S.CANCELED, S.FILLED)),  # target hit: stop canceled
        (("94.00", "94.02"), (S.FILLED, S.FILLED, S.CANCELED)),  # stop hit: target canceled
    ],
)
def test_one_childs_fill_cancels_the_other(
    bracket: Bracket,
    om: OrderManager,
    paper: PaperBroker,
    clock: SimClock,
    exit_quote: tuple[str, str],
    expected: tuple[S, S, S],
) -> None:
    play(paper, clock, [quote("AAPL", "99.98", "100.00", ts=at(1)),
                        quote("AAPL", *exit_quote, ts=at(30))])  # fmt: skip
    assert statuses(om, bracket) == expected
    assert paper.list_open_orders() == [] and paper.positions() == []


def test_partial_entry_fill_sizes_the_children_to_the_filled_quantity(
    store: Store, clock: SimClock
) -> None:
    paper = make_paper(store, clock, partial_fills=True)
    om = OrderManager(store, paper, clock, sleep=RecordingSleep())
    made = om.create_bracket_order("AAPL", "100.00", "95.00", "110.00", 100)
    om.submit_order(made.entry.client_order_id)
    play(paper, clock, [quote("AAPL", "99.98", "100.00", ts=at(1), ask_size=40)])
    assert statuses(om, made) == (S.PARTIALLY_FILLED, S.ACCEPTED, S.ACCEPTED)
    for child in (made.stop_loss, made.take_profit):
        assert quantity(om, child.client_order_id) == 40
        assert paper.get_order_by_client_id(child.client_order_id).quantity == 40
    play(paper, clock, [quote("AAPL", "99.98", "100.00", ts=at(2), ask_size=60)])
    assert statuses(om, made) == (S.FILLED, S.ACCEPTED, S.ACCEPTED)
    for child in (made.stop_loss, made.take_profit):
        assert quantity(om, child.client_order_id) == 100
        assert paper.get_order_by_client_id(child.client_order_id).quantity == 100


def test_partial_exit_shrinks_the_sibling_and_cancels_the_entry_remainder(
    store: Store, clock: SimClock
) -> None:
    paper = make_paper(store, clock, partial_fills=True)
    om = OrderManager(store, paper, clock, sleep=RecordingSleep())
    made = om.create_bracket_order("AAPL", "100.00", "95.00", "110.00", 100)
    om.submit_order(made.entry.client_order_id)
    play(paper, clock, [quote("AAPL", "99.98", "100.00", ts=at(1), ask_size=80),
                        quote("AAPL", "110.00", "110.05", ts=at(9), bid_size=30)])  # fmt: skip
    assert statuses(om, made) == (S.CANCELED, S.ACCEPTED, S.PARTIALLY_FILLED)
    assert paper.get_order_by_client_id(made.stop_loss.client_order_id).quantity == 50
    assert paper.positions()[0].quantity == 50


def test_canceling_the_entry_before_any_fill_cancels_the_whole_bracket(
    store: Store, paper: PaperBroker, clock: SimClock
) -> None:
    broker = FaultyBroker(paper)
    om = OrderManager(store, broker, clock, sleep=RecordingSleep())
    made = om.create_bracket_order("AAPL", "100.00", "95.00", "110.00", 100)
    om.submit_order(made.entry.client_order_id)
    om.cancel_order(made.entry.client_order_id)
    assert statuses(om, made) == (S.CANCELED, S.CANCELED, S.CANCELED)
    assert broker.venue_submits == [made.entry.client_order_id]  # children never sent
    play(paper, clock, [quote("AAPL", "99.00", "99.01", ts=at(5))])
    assert paper.positions() == [] and om.fills() == []


def test_market_entry_bracket_uses_the_reference_price_for_its_checks(
    om: OrderManager, paper: PaperBroker, clock: SimClock
) -> None:
    made = om.create_bracket_order("AAPL", "100.00", "95.00", "110.00", 10,
                                   entry_type=OrderType.MARKET)  # fmt: skip
    assert made.entry.order_type is OrderType.MARKET and made.entry.limit_price is None
    om.submit_order(made.entry.client_order_id)
    play(paper, clock, [quote("AAPL", "99.98", "100.00", ts=at(1))])
    assert statuses(om, made) == (S.FILLED, S.ACCEPTED, S.ACCEPTED)


def test_bracket_keeps_working_after_a_restart(
    store: Store, bracket: Bracket, paper: PaperBroker, clock: SimClock
) -> None:
    play(paper, clock, [quote("AAPL", "99.98", "100.00", ts=at(1))])
    paper2 = make_paper(store, clock)
    om2 = OrderManager(store, paper2, clock, sleep=RecordingSleep())
    om2.recover()
    play(paper2, clock, [quote("AAPL", "111.00", "111.02", ts=at(60))])
    assert statuses(om2, bracket) == (S.FILLED, S.CANCELED, S.FILLED)


def test_children_are_activated_on_recover_after_a_crash_right_after_the_entry_fill(
    store: Store, paper: PaperBroker, clock: SimClock
) -> None:
    # The process died after the venue filled the entry and before the fill was recorded:
    # simulate by letting the fill happen with nobody listening.
    unlistened = make_paper(store, clock)
    om = OrderManager(store, unlistened, clock, sleep=RecordingSleep())
    made = om.create_bracket_order("AAPL", "100.00", "95.00", "110.00", 100)
    om.submit_order(made.entry.client_order_id)
    deaf = make_paper(store, clock)  # a venue process nobody subscribed to
    play(deaf, clock, [quote("AAPL", "99.98", "100.00", ts=at(1))])
    venue = make_paper(store, clock)
    fresh = OrderManager(store, venue, clock, sleep=RecordingSleep())
    fresh.recover()
    assert statuses(fresh, made) == (S.FILLED, S.ACCEPTED, S.ACCEPTED)
    (fill,) = fresh.fills(made.entry.client_order_id)
    assert fill.reconciled is True and fill.price == D("100.00")


def test_a_child_the_broker_will_not_take_does_not_block_its_sibling_and_recover_rearms_it(
    store: Store, paper: PaperBroker, clock: SimClock
) -> None:
    broker = FaultyBroker(paper)
    om = OrderManager(store, broker, clock, sleep=RecordingSleep())
    made = om.create_bracket_order("AAPL", "100.00", "95.00", "110.00", 100)
    om.submit_order(made.entry.client_order_id)
    broker.fail_before("submit", 4, "HTTP 503")  # the stop-loss's four tries all fail
    play(paper, clock, [quote("AAPL", "99.98", "100.00", ts=at(1))])
    assert statuses(om, made) == (S.FILLED, S.SUBMITTED, S.ACCEPTED)
    assert len(om.fills(made.entry.client_order_id)) == 1
    om.recover()
    assert statuses(om, made) == (S.FILLED, S.ACCEPTED, S.ACCEPTED)
    assert broker.venue_submits == [
        made.entry.client_order_id, made.take_profit.client_order_id,
        made.stop_loss.client_order_id,
    ]  # fmt: skip


def test_a_child_filled_while_the_system_was_down_cancels_its_sibling_on_recover(
    store: Store, bracket: Bracket, paper: PaperBroker, clock: SimClock
) -> None:
    play(paper, clock, [quote("AAPL", "99.98", "100.00", ts=at(1))])
    deaf = make_paper(store, clock)  # the venue keeps trading while nobody listens
    play(deaf, clock, [quote("AAPL", "112.00", "112.02", ts=at(90))])
    venue = make_paper(store, clock)
    fresh = OrderManager(store, venue, clock, sleep=RecordingSleep())
    fresh.recover()
    assert statuses(fresh, bracket) == (S.FILLED, S.CANCELED, S.FILLED)
    assert venue.list_open_orders() == [] and venue.positions() == []
    (exit_fill,) = fresh.fills(bracket.take_profit.client_order_id)
    assert exit_fill.reconciled and exit_fill.price == D("112.00")


def test_follow_up_sends_a_child_a_storm_left_unsent_without_a_restart(
    store: Store, paper: PaperBroker, clock: SimClock
) -> None:
    broker = FaultyBroker(paper)
    om = OrderManager(store, broker, clock, sleep=RecordingSleep())
    made = om.create_bracket_order("AAPL", "100.00", "95.00", "110.00", 100)
    om.submit_order(made.entry.client_order_id)
    broker.fail_before("submit", 4, "HTTP 429")
    play(paper, clock, [quote("AAPL", "99.98", "100.00", ts=at(1))])
    assert statuses(om, made) == (S.FILLED, S.SUBMITTED, S.ACCEPTED)
    om.follow_up()  # the executor's timer tick, in the same session
    assert statuses(om, made) == (S.FILLED, S.ACCEPTED, S.ACCEPTED)
    assert sorted(broker.venue_submits) == sorted(
        [made.entry.client_order_id, made.stop_loss.client_order_id,
         made.take_profit.client_order_id])  # fmt: skip


def test_a_cancel_that_never_reached_the_venue_is_retried_not_left_working(
    store: Store, bracket: Bracket, paper: PaperBroker, clock: SimClock
) -> None:
    play(paper, clock, [quote("AAPL", "99.98", "100.00", ts=at(1))])
    broker = FaultyBroker(paper)
    om = OrderManager(store, broker, clock, sleep=RecordingSleep())
    broker.fail_before("cancel", 8, "HTTP 503")  # cancels and their lookups all fail
    broker.fail_before("get_order_by_client_id", 8, "HTTP 503")
    with pytest.raises(TransientBrokerError):
        om.cancel_order(bracket.take_profit.client_order_id)
    assert om.get_order_status(bracket.take_profit.client_order_id) is S.PENDING_CANCEL
    broker.disarm()
    om.follow_up()
    assert statuses(om, bracket) == (S.FILLED, S.ACCEPTED, S.CANCELED)
    assert [o.client_order_id for o in paper.list_open_orders()] == [
        bracket.stop_loss.client_order_id]  # fmt: skip
