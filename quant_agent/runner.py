"""The runner: one asyncio loop wiring feed, scheduled scans, executor, store and commands.

Edge code. It owns the replay timeline: for each session of the window, the scans at their
scheduled times (``scheduler.scan_times_on``), the quote batches of ``ReplayFeed`` and the
close, each a step at a simulated instant. Before a step the ``SimClock`` moves to it;
after it, the step's instant is written to ``system_state`` (``runner.cursor``), so a
replay that crashed resumes after the last finished step with the same command (steps at
or before the cursor are skipped whatever the window: the venue cannot go back in time). After
every step the ``commands`` table is polled and each command's result recorded; equity
snapshots are written every ``runner.snapshot_minutes`` of simulated time and at each
close. SIGINT/SIGTERM stop it after the current step, gracefully (protective orders stay
at the venue).

Quotes go through ``QuoteGuard`` first (fresh, not halted), then to the venue sinks (the
paper venue is one: wiring, not a flag), then to the executor. A halted quote marks its
ticker halted at the executor (no order is sent for it) until a fresh quote passes again.

Database outages (``db_outage``): when a step fails because the database is unavailable
(or any statement failed during it, even one a handler swallowed), the step is not recorded
as done; the runner raises a CRITICAL ``database_unavailable`` alert, probes the database
with a write at growing intervals (``runner.db_retry_seconds`` .. ``db_retry_max_seconds``)
and, once it is back, rebuilds the engine from the database and the venue (the restart
path: reload, reconcile, re-arm) and goes on from the last finished step. Nothing is sent
while it waits: protective orders stay at the venue, new entries wait with their step.

Alerts and reports (``run_alerts.RunAlerts``): the alert manager listens to the engine's
bus; the runner publishes ``SystemStarted`` before the first step and ``SystemStopped`` at
the end, checks the feed's health and the day's loss after each quote batch, and hands
each close to the after-close report; at the end the alerts are drained (bounded) off the
loop's critical path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import select

from quant_agent.config import LiveTradingConfig
from quant_agent.core.enums import CommandKind, CommandStatus, ExitReason, ScanKind
from quant_agent.core.ids import ticker as make_ticker
from quant_agent.core.market import Bar, Quote
from quant_agent.core.records import EquitySnapshot
from quant_agent.crashpoints import CrashHook, no_crash
from quant_agent.db_outage import DatabaseWatch, OutageRider, is_outage
from quant_agent.engine import Engine, build_engine
from quant_agent.live_signals import ScanReport, session_bars
from quant_agent.market.calendar import MarketCalendar, get_calendar
from quant_agent.market.history import HistoryStore
from quant_agent.realtime_data import QuoteBatch, ReplayFeed
from quant_agent.run_alerts import RunAlerts
from quant_agent.scheduler import scan_times_on
from quant_agent.storage import tables
from quant_agent.storage.store import Store

log = logging.getLogger(__name__)
NEW_YORK = ZoneInfo("America/New_York")
CURSOR_KEY = "runner.cursor"
CLOSE_TIME = time(16, 0)


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the replay timeline: ``kind`` is "scan", "quotes" or "close"."""

    at: datetime
    rank: int  # steps at one instant: scan (0), quotes (1), close (2)
    kind: str
    scan: ScanKind | None = None
    batch: QuoteBatch | None = None


@dataclass(slots=True)
class Summary:
    window: tuple[date, date]
    steps: int = 0
    resumed_from: str | None = None
    scans: int = 0
    signals: int = 0
    orders: int = 0
    fills: int = 0
    trades: int = 0
    realized_pnl: Decimal = Decimal(0)
    equity: Decimal = Decimal(0)
    trading_state: str = ""
    stopped_early: bool = False
    exits: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return _plain(self)


def _plain(summary: Summary) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in Summary.__slots__:
        value = getattr(summary, name)
        if isinstance(value, tuple):
            value = [v.isoformat() for v in value]
        elif isinstance(value, Decimal):
            value = str(value)
        out[name] = value
    return out


def timeline(
    history: HistoryStore, calendar: MarketCalendar, config: LiveTradingConfig,
    start: date, end: date, intraday: Mapping[date, Sequence[Bar]] | None = None,
) -> Iterator[Step]:  # fmt: skip
    """Every step of the replay of ``start``..``end`` in time order.

    A session with ``intraday`` bars is replayed from them (one quote per bar, at its
    close and time) instead of the daily bar's open/low/high/close quotes."""
    sessions = [d for d in calendar.trading_days(start, end)
                if pd.Timestamp(d) in history.dates]  # fmt: skip
    for day in sessions:
        steps: list[tuple[datetime, int, str, ScanKind | None, QuoteBatch | None]] = []
        for due in scan_times_on(day, config.schedule):
            steps.append((due.at, 0, "scan", due.kind, None))
        bars = (intraday or {}).get(day)
        feed = ReplayFeed({day: session_bars(history, day)}, {day: bars} if bars else None)
        for quotes in feed.session_batches(day):
            steps.append((quotes.at, 1, "quotes", None, quotes))
        close = min(
            calendar.session_close(day),
            datetime.combine(day, CLOSE_TIME, tzinfo=NEW_YORK).astimezone(UTC),
        )
        steps.append((close, 2, "close", None, None))
        for at, rank, kind, scan, found in sorted(steps, key=lambda s: (s[0], s[1])):
            yield Step(at, rank, kind, scan, found)


def stored_cursor(store: Store) -> tuple[datetime, int] | None:
    with store.unit_of_work() as uow:
        value = uow.system_state.get(CURSOR_KEY)
    if not value:
        return None
    return datetime.fromisoformat(value["at"]), int(value["rank"])


class Runner:
    """Drive one replay window through the engine (see the module docstring)."""

    def __init__(
        self, config: LiveTradingConfig, store: Store, history: HistoryStore,
        window: tuple[date, date], *, speed: float | None = None, crash: CrashHook = no_crash,
        engine: Engine | None = None,
        alert_drain_seconds: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        intraday: Mapping[date, Sequence[Bar]] | None = None,
    ) -> None:  # fmt: skip
        self._config = config
        self._intraday = intraday
        self._store = store
        self._history = history
        self._window = window
        self._speed = speed
        self._crash = crash
        self._calendar = get_calendar("NYSE")
        self._stop = False
        self._cursor = stored_cursor(store)
        self._first = datetime.combine(window[0], time(0), tzinfo=NEW_YORK).astimezone(UTC)
        self.engine = engine or self._build_engine()
        self.summary = Summary(window=window)
        self._last_snapshot: datetime | None = None
        self.observers = RunAlerts(config, store, history, self.engine.clock, self.engine.bus,
                                   drain_seconds=alert_drain_seconds)  # fmt: skip
        self._watch = DatabaseWatch(store)
        self.outage = OutageRider(store, config.runner, sleep, lambda: self._stop)
        self._announced = False

    def _build_engine(self) -> Engine:
        start = self._cursor[0] if self._cursor else self._first
        return build_engine(self._config, self._store, self._history, start, self._crash,
                            sleep=lambda s: None)  # fmt: skip

    def stop(self) -> None:
        """Ask the loop to stop after the current step."""
        self._stop = True

    async def run(self) -> Summary:
        with self._stoppable():
            outage: Exception | None = None
            while True:
                try:
                    if outage is not None:
                        await self.outage.ride_out(outage, self.engine)
                        self._recover()
                    return await self._run()
                except Exception as exc:
                    if self._fatal(exc):
                        raise
                    outage = exc

    @contextlib.contextmanager
    def _stoppable(self) -> Iterator[None]:
        """SIGINT/SIGTERM stop the loop after the current step while it runs; a failure is
        announced (``SystemStopped``) before it propagates."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.stop)
        try:
            yield
        except Exception as exc:
            self.observers.stopped(f"failed: {type(exc).__name__}: {exc}")
            raise
        finally:
            self._watch.close()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)

    def _fatal(self, exc: Exception) -> bool:
        """Whether ``exc`` ends the run: anything but a database outage, or an outage while
        stopping, or one outage too many with no step done (a statement that cannot work)."""
        return not is_outage(exc) or self._stop or self.outage.stuck(self.summary.steps)

    # --- database outages --------------------------------------------------------------

    def _recover(self) -> None:
        """After an outage: rebuild the engine from the database, as a restart does."""
        self._cursor = stored_cursor(self._store)
        self.engine = self._build_engine()
        self.observers.follow(self.engine.bus, self.engine.clock)
        self._last_snapshot = None

    # --- the replay --------------------------------------------------------------------

    async def _run(self) -> Summary:
        engine = self.engine
        if self._cursor and self.summary.resumed_from is None and not self._announced:
            self.summary.resumed_from = self._cursor[0].isoformat()
        started = False
        previous: datetime | None = None
        resume_day = self._cursor[0].astimezone(NEW_YORK).date() if self._cursor else None
        for step in timeline(self._history, self._calendar, self._config, *self._window,
                             intraday=self._intraday):  # fmt: skip
            if self._cursor and (step.at, step.rank) <= self._cursor:
                if step.batch is not None and step.at.astimezone(NEW_YORK).date() == resume_day:
                    self._warm(step.batch)  # rebuild today's partial bars and marks
                continue
            if self._stop:
                self.summary.stopped_early = True
                break
            await self._pace(previous, step.at)
            previous = step.at
            engine.clock.set(max(step.at, engine.clock.now()))
            mark = self._watch.failures
            if not started:  # at the first step's time: a resumed order is sent then
                self._start()
                started = True
            self._do(step)
            self._watch.check(mark)  # a step with a lost write is not done: redo it
            self._save_cursor(step)
            self.apply_commands()
            self.summary.steps += 1
            self._crash("event")
            await asyncio.sleep(0)
        if not started:
            self._start()
        engine.executor.shutdown()
        self._snapshot("intraday")
        summary = self._finish()
        reason = "stopped by a signal" if summary.stopped_early else "replay window done"
        self.observers.stopped(reason)
        return summary

    def _start(self) -> None:
        if not self._announced:
            resumed = f", resumed after {self.summary.resumed_from}" if self._cursor else ""
            window = f"{self._window[0].isoformat()}..{self._window[1].isoformat()}"
            self.observers.started("paper", f"paper replay {window}{resumed}")
            self._announced = True
        self.engine.executor.start()
        self.apply_commands()

    async def _pace(self, previous: datetime | None, at: datetime) -> None:
        """Wait the step's share of real time at ``--speed``, in slices a stop can cut."""
        if not self._speed or previous is None:
            return
        remaining = max(0.0, (at - previous).total_seconds() / self._speed)
        while remaining > 0 and not self._stop:
            await asyncio.sleep(min(remaining, 0.05))
            remaining -= 0.05

    def _warm(self, batch: QuoteBatch) -> None:
        for quote in batch.quotes:
            self.engine.generator.update_quote(quote)
            self.engine.positions.update_position_prices(quote)

    def _do(self, step: Step) -> None:
        executor = self.engine.executor
        if step.kind == "scan":
            executor.monitor_positions(step.at)
            assert step.scan is not None
            self.run_scan(step.scan)
        elif step.kind == "quotes":
            assert step.batch is not None
            self.on_quotes(step.batch.quotes)
            executor.monitor_positions(step.at)
            self.observers.check_daily_loss(executor.portfolio_view())
            self._maybe_snapshot(step.at)
        else:
            self.engine.broker.expire_due(step.at)
            executor.sync()
            self.engine.risk.monitor_portfolio_risk(executor.portfolio_view())
            self._snapshot("daily")
            self.observers.after_close(step.at.astimezone(NEW_YORK).date())

    def on_quotes(self, quotes: Sequence[Quote]) -> None:
        """Validate, then hand each quote to the venue sinks and the executor."""
        engine = self.engine
        accepted = 0
        for quote in quotes:
            if quote.is_halted and not self._older(quote):
                engine.executor.set_halted(quote.ticker, True)
            if not engine.guard.accept(quote):
                continue
            engine.executor.set_halted(quote.ticker, False)
            accepted += 1
            engine.generator.update_quote(quote)
            for sink in engine.sinks:
                sink.on_quote(quote)
            engine.executor.on_quote(quote)
        self.observers.quotes_checked(accepted, len(quotes))

    def _older(self, quote: Quote) -> bool:
        latest = self.engine.guard.latest.get(quote.ticker)
        return latest is not None and latest.ts_event > quote.ts_event

    def run_scan(self, kind: ScanKind) -> ScanReport:
        """Run one scan now and hand its signals to the executor."""
        generator = self.engine.generator
        if kind is ScanKind.PREMARKET:
            report = generator.run_premarket_scan()
        else:
            today = self.engine.clock.now().astimezone(NEW_YORK).date()
            report = generator.run_market_hours_scan(session=today)
        self.summary.scans += 1
        if report.output is not None:
            with self._store.unit_of_work() as uow:
                ids = {str(r.ticker): r.id for r in uow.signals.for_scan(report.run_id)}
            self.engine.executor.process_scan(report.output, ids)
        return report

    def _save_cursor(self, step: Step) -> None:
        with self._store.unit_of_work() as uow:
            uow.system_state.set(CURSOR_KEY, {"at": step.at, "rank": step.rank}, step.at)

    # --- commands and snapshots --------------------------------------------------------

    def apply_commands(self) -> None:
        """Poll the commands table once: apply each pending row, mark it APPLIED or FAILED
        (with the reason), never raise for a bad row."""
        with self._store.unit_of_work() as uow:
            pending = uow.commands.pending_ids()
        for command_id in pending:
            try:
                with self._store.unit_of_work() as uow:
                    command = uow.commands.load(command_id)
                result, status = self._command(command.kind, command.payload), CommandStatus.APPLIED
            except Exception as exc:  # noqa: BLE001 - a bad command is recorded, never fatal
                if is_outage(exc):
                    raise  # not the command's fault: it stays pending for after the outage
                result, status = f"{type(exc).__name__}: {exc}", CommandStatus.FAILED
            with self._store.unit_of_work() as uow:
                now = self.engine.clock.now()
                uow.commands.complete(command_id, status=status, applied_at=now, result=result)

    def _command(self, kind: CommandKind, payload: dict[str, Any]) -> str:
        risk, executor = self.engine.risk, self.engine.executor
        reason = str(payload.get("reason") or f"{kind.value.lower()} command")
        if kind is CommandKind.PAUSE:
            risk.pause(reason)
        elif kind is CommandKind.RESUME:
            risk.resume(reason)
        elif kind is CommandKind.HALT:
            risk.halt_trading(reason)
        elif kind is CommandKind.CLOSE_POSITION:
            named = payload.get("ticker")
            if not isinstance(named, str):
                raise ValueError("CLOSE_POSITION needs a 'ticker' string in its payload")
            ticker = make_ticker(named)
            if self.engine.positions.get(ticker) is None:
                raise LookupError(f"no open position in {ticker}")
            order = executor.execute_exit(ticker, ExitReason.MANUAL)
            if order is None:
                return f"exit of {ticker} pending: sent when the market can take it"
            return f"exit order {order.client_order_id} {order.status}"
        elif kind is CommandKind.SCAN:
            report = self.run_scan(ScanKind.PREMARKET)
            return f"scan {report.run_id} {report.status}"
        return f"trading state {risk.state}"

    def _maybe_snapshot(self, now: datetime) -> None:
        period = timedelta(minutes=self._config.runner.snapshot_minutes)
        if self._last_snapshot is None or now - self._last_snapshot >= period:
            self._snapshot("intraday")

    def _snapshot(self, kind: str) -> None:
        engine = self.engine
        now = engine.clock.now()
        view = engine.executor.portfolio_view()
        pnl = engine.positions.calculate_portfolio_pnl()
        engine.positions.save_marks()
        with self._store.unit_of_work() as uow:
            table = tables.equity_snapshots
            found = select(table.c.id).where(table.c.ts == now, table.c.kind == kind)
            if uow.connection.execute(found).first() is not None:
                return  # written before a crash: the step is being repeated
            uow.equity.add(EquitySnapshot(
                ts=now, kind=kind, equity=view.equity, cash=view.cash,
                positions_value=pnl.positions_value, realized_pnl=pnl.realized,
                unrealized_pnl=pnl.unrealized,
            ))  # fmt: skip
        self._last_snapshot = now

    def _finish(self) -> Summary:
        s = self.summary
        with self._store.unit_of_work() as uow:
            s.signals = sum(1 for r in uow.signals.list() if r.selected)
            s.orders = uow.orders.count()
            s.fills = uow.fills.count()
            trades = uow.trades.list()
        s.trades = len(trades)
        s.realized_pnl = sum((t.pnl for t in trades), Decimal(0))
        for t in trades:
            s.exits[t.exit_reason.value] = s.exits.get(t.exit_reason.value, 0) + 1
        s.equity = self.engine.executor.portfolio_view().equity
        s.trading_state = self.engine.risk.state.value
        return s


def run_replay(
    config: LiveTradingConfig, store: Store, history: HistoryStore, window: tuple[date, date],
    *, speed: float | None = None, crash: CrashHook = no_crash,
) -> Summary:  # fmt: skip
    """Run (or resume) a replay to its end on a fresh asyncio loop; return its summary."""
    runner = Runner(config, store, history, window, speed=speed, crash=crash)
    return asyncio.run(runner.run())
