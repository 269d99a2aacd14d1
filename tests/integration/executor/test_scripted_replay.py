"""A scripted replay through the executor over the paper venue, on SQLite and PostgreSQL:
positions from signals, entry fills, brackets placed, and one exit each on the stop, the
target, max hold days and a manual close, with the right P&L and reason in ``live_trades``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from quant_agent.brokers.base import OrderRequest
from quant_agent.config import LiveTradingConfig
from quant_agent.core.enums import (
    ExitReason,
    OrderRole,
    OrderStatus,
    OrderType,
    Severity,
    Side,
    TradingState,
)
from quant_agent.core.events import PositionClosed, PositionOpened
from quant_agent.core.ids import ClientOrderId, Ticker
from quant_agent.core.records import TradeRecord
from quant_agent.signals.scan import ScanOutput
from quant_agent.storage.store import Store
from quant_agent.testkit.executor import Desk, make_desk, planned_signal
from quant_agent.testkit.quotes import PRE_MARKET, SESSION_OPEN, at, quote

D = Decimal
DAY1 = date(2025, 3, 10)
DAY2_OPEN = datetime(2025, 3, 11, 13, 30, tzinfo=UTC)
DAY3_OPEN = datetime(2025, 3, 12, 13, 30, tzinfo=UTC)
TICKERS = ("STOP", "TGT", "HOLD", "MAN")


def config() -> LiveTradingConfig:
    return LiveTradingConfig.model_validate({
        "trading": {"max_positions": 4, "slippage_pct": 0, "max_hold_days": 2,
                    "commission_per_trade": "1.00"},
    })  # fmt: skip


@pytest.fixture
def desk(store: Store) -> Desk:
    made = make_desk(store, PRE_MARKET, config())
    made.executor.start()
    return made


def trades(store: Store) -> dict[str, TradeRecord]:
    with store.unit_of_work() as uow:
        return {str(t.ticker): t for t in uow.trades.list()}


def open_all(desk: Desk) -> None:
    desk.executor.monitor_positions(desk.clock.now())
    for ticker in TICKERS:
        signal = planned_signal(ticker, date(2025, 3, 7), "100.00", "95.00", "110.00", 10)
        assert desk.executor.process_signal(signal).action == "entered"
    desk.play(quote(t, "99.90", "100.00", ts=SESSION_OPEN) for t in TICKERS)


def test_signals_become_bracketed_positions(desk: Desk, store: Store) -> None:
    open_all(desk)
    positions = {p.ticker: p for p in desk.positions.get_active_positions()}
    assert set(positions) == set(TICKERS)
    assert all(p.quantity == 10 and p.avg_entry_price == D("100.00") for p in positions.values())
    assert all((p.stop_loss, p.take_profit) == (D("95.00"), D("110.00"))
               for p in positions.values())  # fmt: skip
    working = {(o.ticker, o.role) for o in desk.orders.open_orders()}
    assert working == {(t, r) for t in TICKERS for r in (OrderRole.STOP_LOSS,
                                                          OrderRole.TAKE_PROFIT)}  # fmt: skip
    assert sum(isinstance(e, PositionOpened) for e in desk.events) == 4
    with store.unit_of_work() as uow:
        assert len(uow.positions.list_open()) == 4


def test_each_exit_is_recorded_with_its_reason_and_pnl(desk: Desk, store: Store) -> None:
    open_all(desk)
    desk.play([quote("STOP", "94.00", "94.10", ts=at(60)),
               quote("TGT", "111.00", "111.10", ts=at(61))])  # fmt: skip
    order = desk.executor.execute_exit("MAN", ExitReason.MANUAL)
    assert order is not None and order.role is OrderRole.EXIT
    desk.play([quote("MAN", "102.00", "102.10", ts=at(90))])
    desk.at(DAY2_OPEN)
    assert desk.executor.monitor_positions(DAY2_OPEN) == []  # held 1 session of 2
    desk.at(DAY3_OPEN)
    exits = desk.executor.monitor_positions(DAY3_OPEN)
    assert [o.ticker for o in exits] == ["HOLD"]
    desk.play([quote("HOLD", "103.00", "103.10", ts=at(1, DAY3_OPEN))])

    done = trades(store)
    expected = {
        "STOP": (ExitReason.STOP_LOSS, D("94.00"), D("-62.00"), 0),
        "TGT": (ExitReason.TAKE_PROFIT, D("111.00"), D("108.00"), 0),
        "MAN": (ExitReason.MANUAL, D("102.00"), D("18.00"), 0),
        "HOLD": (ExitReason.MAX_HOLD, D("103.00"), D("28.00"), 2),
    }
    for ticker, (reason, exit_price, pnl, hold_days) in expected.items():
        trade = done[ticker]
        assert (trade.exit_reason, trade.exit_price, trade.pnl, trade.hold_days) == (
            reason, exit_price, pnl, hold_days), ticker  # fmt: skip
        assert (trade.entry_price, trade.quantity, trade.commission) == (D("100"), 10, D("2"))
        assert trade.pnl_pct == pytest.approx(float(pnl) / 1000 * 100)
        assert trade.entry_date == DAY1 and trade.position_id is not None
    assert desk.positions.get_active_positions() == []
    assert not [o for o in desk.orders.open_orders()]  # OCO siblings and children canceled
    closed = [e for e in desk.events if isinstance(e, PositionClosed)]
    assert sorted(e.ticker for e in closed) == sorted(TICKERS)
    assert desk.venue.balances().cash == D("100000") + sum(expected[t][2] for t in expected)


def test_exit_while_halted_still_works_and_entries_do_not(desk: Desk, store: Store) -> None:
    open_all(desk)
    desk.risk.halt_trading("test halt")
    refused = desk.executor.process_signal(
        planned_signal("NEW", date(2025, 3, 7), "50.00", "45.00", "60.00", 10)
    )
    assert (refused.action, refused.reason.split(":")[0]) == ("rejected", "trading_state")
    order = desk.executor.execute_exit("MAN", ExitReason.MANUAL)
    assert order is not None and order.status is OrderStatus.ACCEPTED
    assert desk.risk.state is TradingState.HALTED


def test_restart_after_fills_keeps_positions_and_does_not_duplicate(store: Store) -> None:
    first = make_desk(store, PRE_MARKET, config())
    first.executor.start()
    open_all(first)
    again = make_desk(store, first.clock.now(), config())
    again.executor.start()
    assert {p.ticker for p in again.positions.get_active_positions()} == set(TICKERS)
    signal = planned_signal("STOP", date(2025, 3, 7), "100.00", "95.00", "110.00", 10)
    assert again.executor.process_signal(signal).action == "skipped"
    with store.unit_of_work() as uow:
        assert uow.orders.count() == 12 and uow.fills.count() == 4


def test_a_later_scan_scoring_a_held_ticker_low_exits_it_on_signal_reversal(
    desk: Desk, store: Store
) -> None:
    open_all(desk)
    later = planned_signal("TGT", date(2025, 3, 10), "100.00", "95.00", "110.00", 10, score=30.0)
    kept = planned_signal("STOP", date(2025, 3, 10), "100.00", "95.00", "110.00", 10, score=55.0)
    desk.executor.process_scan(ScanOutput(asof=DAY1, signals=[later, kept], unscored={}))
    desk.play([quote("TGT", "101.00", "101.10", ts=at(120))])
    done = trades(store)
    assert list(done) == ["TGT"] and done["TGT"].exit_reason is ExitReason.SIGNAL_REVERSAL
    assert done["TGT"].pnl == D("8.00")  # (101 - 100) x 10 - 2 commissions
    assert desk.positions.holds("STOP")


def test_manual_close_after_the_close_keeps_protection_and_exits_next_session(
    desk: Desk, store: Store
) -> None:
    open_all(desk)
    desk.at(datetime(2025, 3, 10, 21, 0, tzinfo=UTC))  # 17:00 New York
    assert desk.executor.execute_exit("MAN", ExitReason.MANUAL) is None
    working = {o.role for o in desk.orders.open_orders() if o.ticker == "MAN"}
    assert working == {OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT}  # still protected
    desk.at(DAY2_OPEN)
    exits = desk.executor.monitor_positions(DAY2_OPEN)
    assert [(o.ticker, o.role) for o in exits] == [("MAN", OrderRole.EXIT)]
    desk.play([quote("MAN", "99.00", "99.10", ts=at(1, DAY2_OPEN))])
    assert trades(store)["MAN"].exit_reason is ExitReason.MANUAL


def test_a_rejected_exit_halts_with_a_critical_event(desk: Desk, store: Store) -> None:
    open_all(desk)
    by_hand = OrderRequest(client_order_id=ClientOrderId("by-hand"), ticker=Ticker("MAN"),
                           side=Side.SELL, order_type=OrderType.MARKET, quantity=10)  # fmt: skip
    desk.venue.submit(by_hand)  # sold at the broker, behind the system's back
    desk.play([quote("MAN", "99", "99.1", ts=at(30))])
    assert desk.executor.execute_exit("MAN", ExitReason.MANUAL) is None
    assert desk.risk.state is TradingState.HALTED
    with store.unit_of_work() as uow:
        events = [(e.rule, e.severity) for e in uow.risk_events.list(event_type="RISK_BREACH")]
    assert ("executor_error", Severity.CRITICAL) in events
