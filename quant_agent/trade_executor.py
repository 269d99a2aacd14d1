"""The trade executor: the seed's workflow, signal → risk → bracket → fill → track → exit.

Owns the orchestration only; each piece of state has its own writer (orders: the order
manager, positions and trades: the position manager, trading state: the risk monitor).
Driven only by calls: ``start`` (load, ask the broker, reconcile, re-arm, before any
quote), ``on_quote`` (a validated quote), ``process_scan`` / ``process_signal``,
``monitor_positions`` (a timer tick), ``execute_exit`` (a command or a trigger),
``shutdown``. It has no I/O beyond the store and the broker protocol, never reads the wall
clock and has no ``if paper`` branch: the backtest drives this same class with a
``SimClock`` and the ``PaperBroker``.

Every order it makes is named by its intent (entry: the signal's date and ticker; exit:
the position id and reason), so a call repeated after a crash finds the order it already
made instead of sending a second one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from quant_agent.brokers.base import Broker
from quant_agent.brokers.hours import order_window
from quant_agent.brokers.paper import CalendarFor, default_calendar_for
from quant_agent.config import SignalsConfig, TradingConfig
from quant_agent.core.bus import EventBus
from quant_agent.core.clock import Clock
from quant_agent.core.enums import (
    ExitReason,
    OrderRole,
    OrderStatus,
    OrderType,
    Severity,
    Side,
    TimeInForce,
)
from quant_agent.core.errors import (
    OperationalError,
    OrderValidationError,
    RejectedError,
    TransientBrokerError,
)
from quant_agent.core.events import OrderFilled, OrderRejected, SignalGenerated
from quant_agent.core.ids import Ticker
from quant_agent.core.market import Quote
from quant_agent.core.money import ZERO
from quant_agent.core.order import Order
from quant_agent.crashpoints import CrashHook, no_crash
from quant_agent.order_manager import OrderManager
from quant_agent.position_manager import PositionManager
from quant_agent.reconciliation import diff_fills, diff_positions
from quant_agent.risk_monitor import EntryRequest, PortfolioView, RiskMonitor
from quant_agent.signals.scan import Holdings, ScanOutput, Signal
from quant_agent.signals.trade_plan import Account

log = logging.getLogger(__name__)
NEW_YORK = ZoneInfo("America/New_York")
ENTRY, STOP_LOSS, TAKE_PROFIT = OrderRole.ENTRY, OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT


class _AlreadyRefused(Exception):
    """An exit refused before for the same holdings: not alerted again."""


@dataclass(frozen=True, slots=True)
class SignalOutcome:
    ticker: str
    action: str  # "entered", "skipped", "rejected", "failed"
    reason: str = ""
    order: Order | None = None


class TradeExecutor:
    """Turn signals into protected positions and positions into recorded trades."""

    def __init__(
        self,
        *,
        broker: Broker,
        clock: Clock,
        orders: OrderManager,
        positions: PositionManager,
        risk: RiskMonitor,
        trading: TradingConfig,
        signals: SignalsConfig,
        sector_of: Callable[[str], str | None] = lambda ticker: None,
        bus: EventBus | None = None,
        crash: CrashHook = no_crash,
        calendar_for: CalendarFor = default_calendar_for,
        pending_at_plan: bool = False,
    ) -> None:
        self._broker = broker
        self._pending_at_plan = pending_at_plan  # risk.reserve_basis: plan
        self._plan_price: dict[str, Decimal] = {}
        self._calendar_for = calendar_for
        self._clock = clock
        self._orders = orders
        self._positions = positions
        self._risk = risk
        self._trading = trading
        self._exit_score = signals.exit_score_threshold
        self._sector_of = sector_of
        self._bus = bus
        self._crash = crash
        self._cash = ZERO
        self._accepting = False
        self._last_price: dict[str, Decimal] = {}
        self._halted: set[str] = set()  # tickers whose latest quote said trading is halted
        self._refused_exits: dict[str, tuple[int, int]] = {}  # ticker -> (ours, broker's)
        self._checked_day: date | None = None
        if bus is not None:
            bus.subscribe(OrderFilled, self._on_fill)
            bus.subscribe(OrderRejected, self._on_rejected)

    # --- start and stop ----------------------------------------------------------------

    def start(self) -> list[str]:
        """Load, settle with the broker, reconcile and re-arm; return what was found."""
        notes: list[str] = []
        self._positions.load()
        self._orders.recover()  # open orders: acks, fills and cancels missed while down
        notes += self._reconcile_fills()
        self.sync()  # fills recorded before their position rows: published as they apply
        self._orders.recover()  # re-arm bracket children of entries filled while down
        notes += self._reconcile_positions()
        notes += self._sweep_orphans()
        self._refresh_cash()
        self._accepting = True
        return notes

    def _reconcile_fills(self) -> list[str]:
        known = {o.client_order_id for o in self._orders.open_orders()}
        positions = self._positions.get_active_positions()
        opened = [p.opened_at for p in positions if p.opened_at is not None]
        since = min(opened, default=self._clock.now()) - timedelta(days=7)
        recorded = {f.fill_id for f in self._orders.fills()}
        reported = self._broker.fills_since(since)
        for fill in reported:
            if self._orders.get_order(fill.client_order_id) is not None:
                known.add(fill.client_order_id)
        diff = diff_fills(reported, recorded, known)
        for fill in diff.missing:
            self._orders.handle_fill(replace(fill, reconciled=True))
        notes = [f"recorded missed fill {f.fill_id}" for f in diff.missing]
        for fill in diff.strays:
            message = f"fill {fill.fill_id} at the broker for unknown order {fill.client_order_id}"
            self._risk.send_risk_alert("reconciliation", message, Severity.CRITICAL)
            notes.append(message)
        return notes

    def _sweep_orphans(self) -> list[str]:
        """Cancel protective orders still working for a position that is closed, here or
        at the broker (closed by hand there: a stop left working would sell short)."""
        notes = []
        at_venue = {str(p.ticker) for p in self._broker.positions() if p.quantity}
        for order in self._orders.open_orders():
            if (order.role in (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)
                    and order.status is not OrderStatus.NEW
                    and not (self._positions.holds(order.ticker)
                             and str(order.ticker) in at_venue)):  # fmt: skip
                self._orders.cancel_order(order.client_order_id)
                message = f"orphan {order.role} {order.client_order_id} of {order.ticker} canceled"
                self._risk.send_risk_alert("orphan_order", message, Severity.WARNING)
                notes.append(message)
        return notes

    def _reconcile_positions(self) -> list[str]:
        local = {str(p.ticker): p.quantity for p in self._positions.get_active_positions()}
        venue = {str(p.ticker): p.quantity for p in self._broker.positions()}
        notes = []
        for m in diff_positions(local, venue):
            message = (f"position {m.ticker}: we hold {m.local}, the broker reports {m.broker}; "
                       "the broker is right: entries halted until an operator resumes")  # fmt: skip
            self._risk.send_risk_alert("reconciliation", message, Severity.CRITICAL,
                                       {"ticker": m.ticker, "local": m.local,
                                        "broker": m.broker})  # fmt: skip
            self._risk.halt_trading(message)
            notes.append(message)
        return notes

    def shutdown(self) -> None:
        """Stop taking signals; protective orders stay at the venue; marks are written."""
        self._accepting = False
        self._positions.save_marks()

    # --- quotes, fills and ticks -------------------------------------------------------

    def on_quote(self, quote: Quote) -> None:
        """Mark a held position (the hot path: no database work unless something changes)."""
        if self._positions.update_position_prices(quote) is None:
            return
        self._last_price[quote.ticker] = quote.bid
        start = self._risk.day_start_equity
        if start is not None:
            equity = self._cash + self._positions.calculate_portfolio_pnl().positions_value
            self._risk.check_daily_loss_limit(
                PortfolioView(equity=equity, cash=self._cash, day_start_equity=start)
            )

    def set_halted(self, ticker: str, halted: bool) -> None:
        """The feed says ``ticker`` is (no longer) halted: while it is, no order is sent for
        it (entries are skipped, exits wait with the protective orders in place)."""
        if halted:
            self._halted.add(ticker)
        else:
            self._halted.discard(ticker)

    def _on_fill(self, fill: OrderFilled) -> None:
        self._crash("after_fill")
        self.sync()

    def _on_rejected(self, event: OrderRejected) -> None:
        """A stop or target the broker refused leaves a position unprotected: never quiet."""
        order = self._orders.get_order(event.client_order_id)
        if order is None or order.role not in (STOP_LOSS, TAKE_PROFIT):
            return
        if self._positions.holds(order.ticker):
            problem = (
                f"the broker rejected the {order.role} of {order.ticker} ({event.reason}): "
                "protect or close the position at the broker"
            )
            self.handle_error(OperationalError(problem), f"protect {order.ticker}")

    def sync(self) -> None:
        """Bring positions up to the recorded fills and publish what changed."""
        for event in self._positions.sync_fills():
            if self._bus is not None:
                self._bus.publish(event)
        self._refresh_cash()

    def _refresh_cash(self) -> None:
        self._cash = self._broker.balances().cash

    def monitor_positions(self, now: datetime) -> list[Order]:
        """A timer tick: finish order work a broker fault interrupted, start the day's loss
        baseline, close positions held too long."""
        try:
            self._orders.follow_up()
        except (TransientBrokerError, RejectedError) as exc:  # the next tick tries again
            self.handle_error(exc, "order follow-up")
        today = now.astimezone(NEW_YORK).date()
        self._risk.start_day(today, self.portfolio_view().equity)
        exits = []
        due: list[tuple[Ticker, ExitReason]] = []
        if self._checked_day != today:
            due += self._positions.check_exit_conditions(now)
            self._checked_day = today
        exiting = {o.ticker for o in self._orders.open_orders() if o.role is OrderRole.EXIT}
        due += [(p.ticker, p.exit_reason) for p in self._positions.get_active_positions()
                if p.exit_reason is not None and p.ticker not in exiting]  # fmt: skip
        for ticker, reason in due:
            order = self.execute_exit(ticker, reason)
            if order is not None:
                exits.append(order)
        self._risk.check_daily_loss_limit(self.portfolio_view())
        return exits

    # --- entries -----------------------------------------------------------------------

    def process_scan(
        self, output: ScanOutput, signal_ids: Mapping[str, int | None] | None = None
    ) -> list[SignalOutcome]:
        """Exit held tickers whose score fell below the exit threshold; enter the selected."""
        ids = signal_ids or {}
        outcomes = []
        for signal in output.signals:
            held = self._positions.get(signal.ticker)
            if held is not None:
                if held.exit_reason is None and signal.composite_score < self._exit_score:
                    self.execute_exit(signal.ticker, ExitReason.SIGNAL_REVERSAL)
                continue
            if signal.selected:
                self._announce(signal)
                outcomes.append(self.process_signal(signal, ids.get(signal.ticker)))
        return outcomes

    def _announce(self, signal: Signal) -> None:
        """Publish a selected signal that is new (not held, no entry working)."""
        if self._bus is None or signal.trade_plan is None or signal.reasons:
            return
        if signal.ticker in self._pending_entries():
            return
        now = self._clock.now()
        self._bus.publish(SignalGenerated(ts_event=now, ts_init=now, ticker=Ticker(signal.ticker),
                                          score=signal.composite_score,
                                          entry_price=signal.trade_plan.entry_price))  # fmt: skip

    def process_signal(self, signal: Signal, signal_id: int | None = None) -> SignalOutcome:
        """Steps 1-4 of the workflow for one selected signal."""
        if not self._accepting:
            return SignalOutcome(signal.ticker, "skipped", "executor not accepting signals")
        if signal.trade_plan is None or signal.reasons:
            return SignalOutcome(signal.ticker, "skipped", "not selected by the scan")
        if self._positions.holds(signal.ticker) or signal.ticker in self._pending_entries():
            return SignalOutcome(signal.ticker, "skipped", "already held or entering")
        if signal.ticker in self._halted:
            return SignalOutcome(signal.ticker, "skipped", "trading in the ticker is halted")
        try:
            return self.execute_entry(signal, signal_id)
        except (TransientBrokerError, OrderValidationError, OperationalError) as exc:
            self.handle_error(exc, f"entry {signal.ticker}")
            return SignalOutcome(signal.ticker, "failed", str(exc))

    def execute_entry(self, signal: Signal, signal_id: int | None = None) -> SignalOutcome:
        """Pass the risk gate, then create and submit the bracket (the only entry path)."""
        plan = signal.trade_plan
        assert plan is not None
        request = EntryRequest(
            ticker=signal.ticker, quantity=plan.quantity, price=plan.entry_price,
            sector=self._sector_of(signal.ticker), commission=self._trading.commission_per_trade,
        )  # fmt: skip
        decision = self._risk.check_pre_trade_risk(request, self.portfolio_view())
        if not decision.approved:
            return SignalOutcome(signal.ticker, "rejected", f"{decision.rule}: {decision.message}")
        entry_type = OrderType.MARKET if plan.entry_type == "last" else OrderType.LIMIT
        bracket = self._orders.create_bracket_order(
            signal.ticker, plan.entry_price, plan.stop_loss, plan.take_profit, plan.quantity,
            entry_type=entry_type, intent=("entry", signal.signal_date.isoformat(), signal.ticker),
            signal_id=signal_id,
        )  # fmt: skip
        self._last_price.setdefault(signal.ticker, plan.entry_price)
        self._plan_price[signal.ticker] = plan.entry_price
        order = self._orders.submit_order(bracket.entry.client_order_id)
        return SignalOutcome(signal.ticker, "entered", "", order)

    def _pending_entries(self) -> dict[str, Decimal]:
        """Unfilled entry orders still working, by ticker, with a conservative notional
        (or, with ``pending_at_plan``, at the plan's entry price plus the commission)."""
        pending: dict[str, Decimal] = {}
        open_orders = self._orders.open_orders()
        targets = {o.parent_client_order_id: o.limit_price for o in open_orders
                   if o.role is OrderRole.TAKE_PROFIT}  # fmt: skip
        for o in open_orders:
            if o.role is not OrderRole.ENTRY or o.filled_quantity > 0:
                continue
            remaining = o.quantity - o.filled_quantity
            if self._pending_at_plan and o.ticker in self._plan_price:
                value = self._plan_price[o.ticker] * remaining + self._trading.commission_per_trade
            else:
                price = o.limit_price or targets.get(o.client_order_id)
                value = (price or self._last_price.get(o.ticker, ZERO)) * remaining
            pending[o.ticker] = pending.get(o.ticker, ZERO) + value
        return pending

    def portfolio_view(self) -> PortfolioView:
        pnl = self._positions.calculate_portfolio_pnl()
        equity = self._cash + pnl.positions_value
        values, sectors = {}, {}
        for p in self._positions.get_active_positions():
            mark = p.last_price if p.last_price is not None else p.avg_entry_price or ZERO
            values[str(p.ticker)] = p.market_value(mark)
            sectors[str(p.ticker)] = p.sector or "unknown"
        pending = self._pending_entries() if self._accepting else {}
        for ticker in pending:
            sectors[ticker] = self._sector_of(ticker) or "unknown"
        return PortfolioView(
            equity=equity, cash=self._cash,
            day_start_equity=self._risk.day_start_equity or equity,
            positions=values, sectors=sectors, pending_entries=pending,
        )  # fmt: skip

    def holdings(self) -> Holdings:
        """What a scan should size against: equity, free cash, positions and entries."""
        view = self.portfolio_view()
        held = sorted(set(view.positions) | set(view.pending_entries))
        free = view.cash - sum(view.pending_entries.values(), ZERO)
        return Holdings(account=Account(equity=view.equity, cash=free, open_positions=len(held)),
                        open_positions=tuple(held))  # fmt: skip

    # --- exits -------------------------------------------------------------------------

    def execute_exit(self, ticker: str, reason: ExitReason) -> Order | None:
        """Close a position at market: cancel its protective orders, then sell it all.

        The reason is stored on the position first. While the market cannot take a DAY
        order (after the close, a closed day, the ticker halted) nothing is canceled: the
        protective orders stay, and ``monitor_positions`` sends the exit at the next step
        that can.
        """
        position = self._positions.get(ticker)
        if position is None:
            return None
        if position.exit_reason is None:
            self._positions.close_position(ticker, reason)
        now = self._clock.now()
        if ticker in self._halted:
            return None
        if order_window(self._calendar_for(position.ticker), now, TimeInForce.DAY).problem:
            return None
        session = now.astimezone(NEW_YORK).date().isoformat()
        intent = ("exit", position.position_id, position.exit_reason or reason, session)
        if any(o.role is OrderRole.EXIT and o.ticker == ticker for o in self._orders.open_orders()):
            return None  # an exit is already working
        try:
            self._check_broker_holds(ticker, position.quantity)
            # The entry's unfilled remainder first (else it buys after the exit has sold),
            # then the protective orders; the exit sells what is held once they are gone.
            for order in sorted(self._orders.open_orders(), key=lambda o: o.role is not ENTRY):
                if order.ticker == ticker and order.role in (ENTRY, STOP_LOSS, TAKE_PROFIT):
                    self._orders.cancel_order(order.client_order_id)
            current = self._positions.get(ticker)
            if current is None:
                return None  # a protective order filled while being canceled
            # The quantity is part of the intent: a retry after an exit that sold less (a
            # partial fill canceled, more shares arrived) is a new order, not the old one.
            exit_order = self._orders.create_market_order(
                ticker, Side.SELL, current.quantity, role=OrderRole.EXIT,
                intent=(*intent, current.quantity),
                signal_id=position.signal_id,
            )  # fmt: skip
            sent = self._orders.submit_order(exit_order.client_order_id)
            if sent.status is OrderStatus.REJECTED:
                raise OperationalError(
                    f"exit of {ticker} rejected ({sent.reject_reason}); the position has no "
                    "protective orders: close it at the broker"
                )
            return sent
        except _AlreadyRefused:
            return None
        except (TransientBrokerError, OrderValidationError, OperationalError) as exc:
            self.handle_error(exc, f"exit {ticker} ({reason})")
            return None

    def _check_broker_holds(self, ticker: str, quantity: int) -> None:
        """Refuse an exit that would sell shares the broker does not hold (a short sale):
        a position closed or cut by hand at the broker is for the operator to settle. The
        protective orders are left as they are; the caller halts with a CRITICAL event."""
        held = sum(p.quantity for p in self._broker.positions() if str(p.ticker) == ticker)
        if held >= quantity:
            self._refused_exits.pop(ticker, None)
            return
        if self._refused_exits.get(ticker) == (quantity, held):
            raise _AlreadyRefused  # said once; asked again at every step until settled
        self._refused_exits[ticker] = (quantity, held)
        raise OperationalError(
            f"exit of {ticker} not sent: we hold {quantity}, the broker reports {held}; "
            "selling would open a short position: settle it at the broker, then resume"
        )

    def handle_error(self, exc: Exception, context: str) -> None:
        """Record a failure as a risk event; an operational error halts new entries."""
        log.error("%s failed: %s", context, exc)
        critical = isinstance(exc, OperationalError)
        self._risk.send_risk_alert("executor_error", f"{context}: {exc}",
                                   Severity.CRITICAL if critical else Severity.WARNING)  # fmt: skip
        if critical:
            self._risk.halt_trading(f"{context}: {exc}")
