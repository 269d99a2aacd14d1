"""Database outages: recognise one, notice it even when a handler swallowed it, wait it out.

Edge code used by the runners. A database that stops answering (PostgreSQL stopped or
unreachable, SQLite locked by another process past its busy timeout) raises SQLAlchemy's
``OperationalError`` or ``InterfaceError``; ``is_outage`` names those (and the core's
``StorageError``), never a constraint violation, which must stay fatal. SQLite reports a
bad statement (no such table) as ``OperationalError`` too: ``OutageRider.stuck`` stops the
run when the step keeps failing while the database takes the probe. Some failed writes
never reach the runner: the event bus and the paper venue keep going when a handler
raises. ``DatabaseWatch`` counts every failed statement on the store's engine
(SQLAlchemy's ``handle_error`` event), so a step during which any write failed is treated
as failed too, and the runner never records a step as done when part of it was lost.

``wait_for_database`` probes with a real write (a heartbeat row in ``system_state``: a
SQLite file can be readable yet locked for writes) and sleeps between probes through the
injected ``sleep``, first ``first`` seconds, doubling up to ``cap``. ``OutageRider`` is what
a runner does about an outage: alert, wait, record it once the database is back.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from quant_agent.config import RunnerConfig
from quant_agent.core.enums import Severity
from quant_agent.core.errors import StorageError
from quant_agent.core.events import RiskBreach
from quant_agent.core.records import RiskEventRecord
from quant_agent.engine import Engine
from quant_agent.storage.store import Store

log = logging.getLogger(__name__)
PROBE_KEY = "runner.db_probe"
RULE = "database_unavailable"
MAX_RETRIES_WITHOUT_PROGRESS = 5  # outages in a row with no step done: a bug, not an outage


def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` says the database is unavailable (retry later), not a bad statement."""
    if isinstance(exc, StorageError):
        return True
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError)


class DatabaseUnavailable(StorageError):
    """A step saw a failed database statement (possibly one a handler swallowed)."""


class DatabaseWatch:
    """Counts the failed statements of a store's engine that look like an outage."""

    def __init__(self, store: Store) -> None:
        self._engine = store.engine
        self.failures = 0
        self.last: BaseException | None = None
        event.listen(self._engine, "handle_error", self._on_error)

    def _on_error(self, context: Any) -> None:
        error = context.sqlalchemy_exception or context.original_exception
        if error is not None and is_outage(error):
            self.failures += 1
            self.last = error

    def check(self, since: int) -> None:
        """Raise ``DatabaseUnavailable`` when a statement failed after mark ``since``."""
        if self.failures > since:
            raise DatabaseUnavailable(f"a database statement failed during the step: {self.last}")

    def close(self) -> None:
        if event.contains(self._engine, "handle_error", self._on_error):
            event.remove(self._engine, "handle_error", self._on_error)


def describe(exc: BaseException) -> str:
    """One line naming the error (no traceback, no URL: the message may hold neither)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:300]


def probe(store: Store, now: datetime) -> None:
    """Write the heartbeat row; raises when the database cannot take a write."""
    with store.unit_of_work() as uow:
        uow.system_state.set(PROBE_KEY, {"at": now}, now)


class StopWaiting(Exception):
    """The runner was asked to stop while it waited for the database."""


async def wait_for_database(
    store: Store, now: Callable[[], datetime], sleep: Callable[[float], Awaitable[None]],
    *, first: float, cap: float,
) -> int:  # fmt: skip
    """Probe until the database takes a write; return the failed probes. ``sleep`` may
    raise (``StopWaiting``) to give up."""
    delay, failed = first, 0
    while True:
        await sleep(delay)
        try:
            probe(store, now())
            return failed
        except Exception as exc:
            if not is_outage(exc):
                raise
            failed += 1
            log.warning("database still unavailable (probe %d): %s", failed, describe(exc))
        delay = min(delay * 2, cap)


class OutageRider:
    """What a runner does about an outage: say so (log CRITICAL, a ``database_unavailable``
    alert on the bus: the risk event cannot be written yet), wait until the database takes
    a write, then record the outage as a CRITICAL risk event and say it is back. ``stuck``
    tells an outage from a statement that cannot succeed: the step failing again and again
    while the probe succeeds is a bug, and the run must stop."""

    def __init__(
        self, store: Store, config: RunnerConfig, sleep: Callable[[float], Awaitable[None]],
        stopped: Callable[[], bool],
    ) -> None:  # fmt: skip
        self._store = store
        self._config = config
        self._sleep = sleep
        self._stopped = stopped
        self.outages = 0
        self._progress, self._retries = -1, 0

    def stuck(self, steps_done: int) -> bool:
        """Count an outage at ``steps_done``; True after too many with no step done."""
        self._retries = self._retries + 1 if steps_done == self._progress else 1
        self._progress = steps_done
        return self._retries > MAX_RETRIES_WITHOUT_PROGRESS

    async def ride_out(self, exc: BaseException, engine: Engine) -> None:
        self.outages += 1
        message = (f"database unavailable ({describe(exc)}); protective orders stay at the "
                   "venue, no new order until it is back; retrying")  # fmt: skip
        log.critical(message)
        _publish(engine, message, Severity.CRITICAL)
        config = self._config
        failed = await wait_for_database(self._store, engine.clock.now, self._cut_sleep,
                                         first=config.db_retry_seconds,
                                         cap=config.db_retry_max_seconds)  # fmt: skip
        back = f"database back after {failed + 1} probe(s); resuming from the last finished step"
        log.warning(back)
        with self._store.unit_of_work() as uow:
            uow.risk_events.add(RiskEventRecord(
                ts=engine.clock.now(), event_type="RISK_BREACH", severity=Severity.CRITICAL,
                message=message, rule=RULE, trading_state=engine.risk.state,
                details={"failed_probes": failed},
            ))  # fmt: skip
        _publish(engine, back, Severity.INFO)

    async def _cut_sleep(self, seconds: float) -> None:
        """The injected sleep, in slices a stop can cut; raises once stopped."""
        while seconds > 0:
            if self._stopped():
                raise StopWaiting("stopped while the database was unavailable")
            await self._sleep(min(seconds, 0.25))
            seconds -= 0.25


def _publish(engine: Engine, message: str, severity: Severity) -> None:
    now = engine.clock.now()
    engine.bus.publish(RiskBreach(ts_event=now, ts_init=now, rule=RULE, message=message,
                                  severity=severity))  # fmt: skip
