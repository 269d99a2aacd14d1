"""Positions the system does not know, orphan orders and partial entries against the local
Questrade sandbox in partner mode (SQLite and PostgreSQL); the rule is in
test_broker_reconcile.py and docs/OPERATIONS.md. Trades by hand are placed in the sandbox
as the trader would in Questrade's own platform (``source`` ``QuestradeIQEdge``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from quant_agent.core.enums import Severity, TradingState
from quant_agent.engine import build_engine
from quant_agent.storage.store import Store
from quant_agent.testkit.executor import planned_signal
from tests.integration.questrade.conftest import START, history
from tests.integration.questrade.test_partner_loop import CONFIG

from .broker_checks import protection_matches_holdings, venue_books_agree
from .questrade_desk import TICKERS, QuestradeDesk, questrade_desk
from .test_broker_reconcile import reconciliation_events

TICKER = TICKERS[0]


@pytest.fixture
def desk(tmp_path: Path, store: Store) -> Iterator[QuestradeDesk]:
    with questrade_desk(tmp_path, store) as made:
        yield made


def ask(desk: QuestradeDesk) -> Decimal:
    market = desk.h.sandbox.market
    return Decimal(str(market.quote(market.by_name[TICKER], desk.h.clock.now())["askPrice"]))


def by_hand(desk: QuestradeDesk, action: str, quantity: int) -> None:
    symbol_id = desk.h.sandbox.market.by_name[TICKER].symbol_id
    body = {"symbolId": symbol_id, "quantity": quantity, "orderType": "Market",
            "timeInForce": "Day", "action": action, "primaryRoute": "AUTO",
            "secondaryRoute": "AUTO"}  # fmt: skip
    desk.h.on_server(lambda: desk.h.sandbox.desk.place_manual(desk.h.broker._account, body))


def enter(desk: QuestradeDesk, quantity: int, *, settle: bool = True) -> None:
    """A bracket entry at market (filled at once); ``settle``: wait for its events."""
    price = ask(desk)
    signal = planned_signal(TICKER, date(2026, 3, 2), f"{price}", f"{price * Decimal('0.9'):.2f}",
                            f"{price * Decimal('1.2'):.2f}", quantity)  # fmt: skip
    assert desk.engine.executor.process_signal(signal).action == "entered"
    if settle:
        desk.settle()


def restarted(desk: QuestradeDesk) -> tuple[QuestradeDesk, list[str]]:
    """A new engine over the same store and Questrade account (the old one unsubscribed)."""
    desk.h.broker._handlers.clear()
    engine = build_engine(CONFIG, desk.store, history(), START, clock=desk.h.clock,
                          venue=desk.h.broker)  # fmt: skip
    again = QuestradeDesk(desk.h, engine, desk.store)
    notes = engine.executor.start()
    again.settle()
    return again, notes


def working_at_questrade(desk: QuestradeDesk) -> list[tuple[str, str, int]]:
    return [(o["side"], o["orderType"], o["openQuantity"]) for o in desk.api_orders()  # type: ignore[misc]
            if o["state"] in ("Accepted", "Pending", "Partial")]  # fmt: skip


def test_a_position_opened_by_hand_at_questrade_halts_with_critical_events(
    desk: QuestradeDesk, store: Store
) -> None:
    desk.engine.executor.start()
    by_hand(desk, "Buy", 6)
    again, notes = restarted(desk)
    assert any("unknown order QT-ORDER-" in n for n in notes)  # its fill: a stray
    assert any(TICKER in n and "we hold 0, the broker reports 6" in n for n in notes)
    assert ("reconciliation", Severity.CRITICAL) in reconciliation_events(store)
    assert again.engine.risk.state is TradingState.HALTED
    assert working_at_questrade(desk) == []  # nothing placed for it


def test_a_position_closed_by_hand_at_questrade_halts_and_its_stop_and_target_are_canceled(
    desk: QuestradeDesk, store: Store
) -> None:
    desk.engine.executor.start()
    enter(desk, 10)
    assert sorted(working_at_questrade(desk)) == [("Sell", "Limit", 10), ("Sell", "Stop", 10)]
    by_hand(desk, "Sell", 10)
    again, notes = restarted(desk)
    assert any(TICKER in n and "we hold 10, the broker reports 0" in n for n in notes)
    assert again.engine.risk.state is TradingState.HALTED
    assert working_at_questrade(desk) == []  # a stop left working would sell short
    assert sum("orphan" in n for n in notes) == 2


def test_positions_older_than_any_fill_history_at_questrade_halt_and_are_not_adopted(
    tmp_path: Path, store: Store
) -> None:
    with questrade_desk(tmp_path, store, fresh_account=False) as desk:
        held = {str(p.ticker): p.quantity for p in desk.h.broker.positions()}
        assert held  # the sandbox's seeded account: bought before any history we have
        notes = desk.engine.executor.start()
        assert desk.engine.risk.state is TradingState.HALTED
        for ticker, quantity in held.items():
            assert any(ticker in n and f"broker reports {quantity}" in n for n in notes)
        assert desk.engine.positions.get_active_positions() == []  # not adopted
        assert desk.engine.orders.open_orders() == []


def test_partial_entry_fills_at_questrade_size_the_stop_and_target_to_the_shares_held(
    desk: QuestradeDesk,
) -> None:
    desk.engine.executor.start()
    desk.h.sandbox.desk.partial_fill = 4  # Questrade fills 4 shares a step
    enter(desk, 10)
    for held in (4, 8, 10):
        position = desk.engine.positions.get(TICKER)
        assert position is not None and position.quantity == held
        protection_matches_holdings(desk.engine.orders, desk.engine.positions)
        stop_and_target = sorted(o for o in working_at_questrade(desk) if o[0] == "Sell")
        assert stop_and_target == [("Sell", "Limit", held), ("Sell", "Stop", held)]
        desk.h.on_server(desk.h.sandbox.desk.match)  # the next slice of the entry
        desk.settle()
    since = desk.h.clock.now().replace(hour=0)
    venue_books_agree(desk.engine.orders, desk.engine.positions, desk.h.broker, since=since)


def test_a_stop_and_target_questrade_rejects_halt_with_a_critical_event_never_quietly(
    desk: QuestradeDesk, store: Store
) -> None:
    desk.engine.executor.start()
    enter(desk, 10, settle=False)  # filled at Questrade, not yet pumped
    desk.h.sandbox.desk.reject_next = 2  # the stop and the target, once the fill arrives
    desk.settle()
    assert desk.engine.positions.holds(TICKER) and working_at_questrade(desk) == []
    assert desk.engine.risk.state is TradingState.HALTED
    with store.unit_of_work() as uow:
        critical = [e.message for e in uow.risk_events.list() if e.severity is Severity.CRITICAL]
    assert any(f"rejected the STOP_LOSS of {TICKER}" in m for m in critical), critical
