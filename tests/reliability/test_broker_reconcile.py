"""Positions the system does not know, orphan orders and partial entries, on the paper venue
(SQLite and PostgreSQL); the same cases against the Questrade sandbox are in
test_questrade_reconcile.py.

The rule (docs/OPERATIONS.md, "Positions the system does not know"): a position the broker
reports differently from the store, opened or closed by hand at the broker or older than
any fill history, is never ignored and never adopted silently: start-up reconciliation
records a CRITICAL ``reconciliation`` risk event and halts new entries; protective orders
for a position the broker no longer holds are canceled (they would sell short); a position
the store knows is not questioned because its fills are older than the history asked for.
"""

from __future__ import annotations

from datetime import date, timedelta

from quant_agent.brokers.base import OrderRequest
from quant_agent.config import LiveTradingConfig
from quant_agent.core.enums import ExitReason, OrderType, Severity, Side, TradingState
from quant_agent.core.ids import ClientOrderId, Ticker
from quant_agent.storage.store import Store
from quant_agent.testkit.executor import Desk, make_desk, planned_signal
from quant_agent.testkit.quotes import SESSION_OPEN, quote

from .broker_checks import protection_matches_holdings, venue_books_agree

DAY = date(2025, 3, 7)
PARTIAL = LiveTradingConfig.model_validate({"paper": {"partial_fills": True}})


def reconciliation_events(store: Store) -> list[tuple[str, Severity]]:
    with store.unit_of_work() as uow:
        return [(e.rule, e.severity) for e in uow.risk_events.list(event_type="RISK_BREACH")]


def by_hand(desk: Desk, ticker: str, side: Side, quantity: int, name: str) -> None:
    """An order the trader places at the broker, outside the system (then it fills)."""
    desk.venue.submit(OrderRequest(client_order_id=ClientOrderId(name), ticker=Ticker(ticker),
                                   side=side, order_type=OrderType.MARKET,
                                   quantity=quantity))  # fmt: skip
    desk.play([quote(ticker, "50.00", "50.02", ts=desk.clock.now() + timedelta(minutes=1))])


def entered(store: Store, ticker: str = "ABC", quantity: int = 10) -> Desk:
    desk = make_desk(store, SESSION_OPEN)
    desk.executor.start()
    desk.executor.process_signal(planned_signal(ticker, DAY, "50.02", "45.00", "60.00", quantity))
    desk.play([quote(ticker, "50.00", "50.02", ts=SESSION_OPEN)])
    assert desk.positions.holds(ticker)
    return desk


def test_a_position_closed_by_hand_halts_and_its_protective_orders_are_canceled(
    store: Store,
) -> None:
    desk = entered(store)
    by_hand(desk, "ABC", Side.SELL, 10, "sold-by-hand")
    assert desk.venue.positions() == [] and len(desk.venue.list_open_orders()) == 2
    again = make_desk(store, desk.clock.now())
    notes = again.executor.start()
    assert again.risk.state is TradingState.HALTED
    assert any("ABC" in n and "we hold 10, the broker reports 0" in n for n in notes)
    assert ("reconciliation", Severity.CRITICAL) in reconciliation_events(store)
    # the stop and target would sell shares the account no longer has: canceled
    assert again.venue.list_open_orders() == []
    assert sum("orphan" in n for n in notes) == 2


def test_an_exit_never_sells_shares_the_broker_does_not_hold_even_after_resume(
    store: Store,
) -> None:
    """Sold by hand while running, then the operator resumes without settling: the
    system's exit is refused (it would sell short), said once with a CRITICAL event that
    halts again, and sent once the broker holds the shares again."""
    desk = entered(store)
    by_hand(desk, "ABC", Side.SELL, 10, "sold-by-hand")
    desk.risk.resume("operator resumed without settling")
    sent_before = len(desk.venue.list_open_orders())
    assert desk.executor.execute_exit("ABC", ExitReason.MANUAL) is None
    assert desk.executor.execute_exit("ABC", ExitReason.MANUAL) is None  # asked again: quiet
    assert desk.venue.positions() == []  # nothing sold short
    assert len(desk.venue.list_open_orders()) == sent_before  # nothing new sent
    assert desk.risk.state is TradingState.HALTED
    refusals = [e for e in reconciliation_events(store) if e[0] == "executor_error"]
    assert refusals == [("executor_error", Severity.CRITICAL)]
    by_hand(desk, "ABC", Side.BUY, 10, "bought-back-by-hand")  # the operator settles it
    exit_order = desk.executor.execute_exit("ABC", ExitReason.MANUAL)
    assert exit_order is not None


def test_a_position_older_than_any_fill_history_halts_until_the_operator_decides(
    store: Store,
) -> None:
    old = make_desk(store, SESSION_OPEN - timedelta(days=364))  # a Monday, a year ago
    by_hand(old, "OLD", Side.BUY, 7, "bought-last-year")
    desk = make_desk(store, SESSION_OPEN)
    assert desk.venue.fills_since(SESSION_OPEN - timedelta(days=30)) == []  # beyond history
    notes = desk.executor.start()
    assert desk.risk.state is TradingState.HALTED
    assert any("OLD" in n and "broker reports 7" in n for n in notes)
    assert desk.orders.open_orders() == [] and not desk.positions.holds("OLD")  # not adopted


def test_a_known_position_whose_fills_are_older_than_the_history_asked_is_not_questioned(
    store: Store,
) -> None:
    entered(store)
    later = make_desk(store, SESSION_OPEN + timedelta(days=60))
    assert later.executor.start() == []
    assert later.risk.state is TradingState.RUNNING
    venue_books_agree(later.orders, later.positions, later.venue)


def test_a_manual_exit_during_a_partial_entry_cancels_the_remainder_first(
    store: Store,
) -> None:
    desk = make_desk(store, SESSION_OPEN, PARTIAL)
    desk.executor.start()
    desk.executor.process_signal(planned_signal("ABC", DAY, "50.02", "45.00", "60.00", 30))
    desk.play([quote("ABC", "50.00", "50.02", ts=SESSION_OPEN, ask_size=12)])
    protection_matches_holdings(desk.orders, desk.positions)  # stop and target for 12
    desk.executor.execute_exit("ABC", ExitReason.MANUAL)
    desk.play([quote("ABC", "50.00", "50.02", ts=SESSION_OPEN + timedelta(minutes=1),
                     ask_size=25, bid_size=25)])  # fmt: skip
    assert not desk.positions.holds("ABC") and desk.venue.positions() == []
    assert desk.orders.open_orders() == []  # the entry's remainder of 18 was canceled
    assert [f.quantity for f in desk.orders.fills() if f.side is Side.BUY] == [12]
    assert [f.quantity for f in desk.orders.fills() if f.side is Side.SELL] == [12]
