"""The live runner: ``quant-agent run`` on a live feed and (optionally) a real broker.

Edge code. Where ``Runner`` walks a replay timeline, ``LiveRunner`` ticks on a live clock:
each ``step`` sets the engine's clock from the live one, delivers the broker's queued order
events (``pump``: Questrade notifications reach the core on this thread only), lets the
feed check itself (outage events, stall watchdog), hands the quotes that arrived to the
guard, the venue sinks and the executor (``Runner.on_quotes``), runs the scans that became
due, monitors positions, does the close once per session and applies commands. A feed that
is down yields nothing, so no order is placed or filled from a stale quote. A database
outage during a tick is ridden out as in ``Runner`` (alert, probe with backoff); then
``start`` runs again (reload, reconcile with the venue, re-arm) before the next tick.

It reuses ``Runner`` for quotes, scans, commands and snapshots (the same engine wiring).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from quant_agent.config import LiveTradingConfig
from quant_agent.core.clock import Clock
from quant_agent.engine import Engine
from quant_agent.market.history import HistoryStore
from quant_agent.realtime_data import QuoteBatch
from quant_agent.runner import Runner, Summary
from quant_agent.scheduler import scan_times_on
from quant_agent.storage.store import Store

log = logging.getLogger(__name__)
NEW_YORK = ZoneInfo("America/New_York")


class LiveFeed(Protocol):
    """A live quote feed (``RealtimeDataHandler``)."""

    def drain(self) -> QuoteBatch | None: ...

    async def check(self) -> None: ...


class Pumped(Protocol):
    def pump(self, timeout: float = 0.0) -> int: ...


class LiveRunner(Runner):
    """Drive the engine on a live clock (see the module docstring)."""

    def __init__(
        self, config: LiveTradingConfig, store: Store, history: HistoryStore, engine: Engine,
        *, live_clock: Clock, feed: LiveFeed | None = None, venue: Pumped | None = None,
        poll_seconds: float = 1.0, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:  # fmt: skip
        today = live_clock.now().astimezone(NEW_YORK).date()
        super().__init__(config, store, history, (today, today), engine=engine, sleep=sleep)
        self._live = live_clock
        self.feed = feed
        self.venue = venue
        self._poll = poll_seconds
        self._scanned: set[datetime] = set()
        self._closed: set[date] = set()
        self._started = False

    async def run(self) -> Summary:
        with self._stoppable():
            outage: Exception | None = None
            while not self._stop:
                try:
                    if outage is not None:
                        await self.outage.ride_out(outage, self.engine)
                        outage, self._started = None, False  # start again: reload, reconcile
                    await self.step()
                except Exception as exc:
                    if self._fatal(exc):
                        raise
                    outage = exc
                    continue
                await asyncio.sleep(self._poll)
            self.summary.stopped_early = True
            self.engine.executor.shutdown()
            self._snapshot("intraday")
            summary = self._finish()
            self.observers.stopped("stopped by a signal")
            return summary

    def start(self) -> None:
        """Reconcile with the venue and mark the scans already past today as done."""
        if self._started:
            return
        self._tick_clock()
        now = self.engine.clock.now()
        today = now.astimezone(NEW_YORK).date()
        self._scanned.update(d.at for d in scan_times_on(today, self._config.schedule)
                             if d.at < now)  # fmt: skip
        if not self._announced:
            self.observers.started(self._config.trading.mode, f"live session {today.isoformat()}")
            self._announced = True
        self.engine.executor.start()
        self._started = True

    async def step(self) -> int:
        """One tick; returns how many quotes reached the executor."""
        mark = self._watch.failures
        self.start()
        now = self._tick_clock()
        self.pump()
        count = 0
        if self.feed is not None:
            await self.feed.check()
            batch = self.feed.drain()
            if batch is not None:
                self.on_quotes(batch.quotes)
                count = len(batch.quotes)
        self.pump()
        self._due_scans(now)
        self.engine.executor.monitor_positions(now)
        self.observers.check_daily_loss(self.engine.executor.portfolio_view())
        self._maybe_close(now)
        self.apply_commands()
        self._maybe_snapshot(now)
        self._watch.check(mark)  # a lost write: reconcile before going on
        self.summary.steps += 1
        return count

    def pump(self) -> int:
        """Deliver the venue's queued order events on this thread."""
        return self.venue.pump() if self.venue is not None else 0

    def _tick_clock(self) -> datetime:
        clock = self.engine.clock
        clock.set(max(self._live.now(), clock.now()))
        return clock.now()

    def _due_scans(self, now: datetime) -> None:
        today = now.astimezone(NEW_YORK).date()
        for due in scan_times_on(today, self._config.schedule):
            if due.at <= now and due.at not in self._scanned:
                self._scanned.add(due.at)
                if self._calendar.is_trading_day(today):
                    self.run_scan(due.kind)

    def _maybe_close(self, now: datetime) -> None:
        today = now.astimezone(NEW_YORK).date()
        if today in self._closed or not self._calendar.is_trading_day(today):
            return
        if now >= self._calendar.session_close(today) + timedelta(minutes=1):
            self._closed.add(today)
            self.engine.executor.sync()
            self.engine.risk.monitor_portfolio_risk(self.engine.executor.portfolio_view())
            self._snapshot("daily")
            self.observers.after_close(today)
