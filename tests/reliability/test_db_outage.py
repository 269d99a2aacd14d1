"""The runner's database outage handling, in process and deterministic: what counts as an
outage, a failed statement a handler swallowed still fails the step, the probe backs off
through the injected sleep, and a replay whose SQLite file is locked after a given step
rides it out (CRITICAL risk event) and ends with the same orders, fills, positions and
trades as an uninterrupted run. The real process against a stopped PostgreSQL and a locked
SQLite file: test_database_faults.py."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from quant_agent.config import DataConfig, LiveTradingConfig
from quant_agent.core.clock import SimClock
from quant_agent.core.enums import CommandKind, CommandStatus
from quant_agent.core.errors import StorageError
from quant_agent.core.records import CommandRecord
from quant_agent.db_outage import (
    DatabaseUnavailable,
    DatabaseWatch,
    is_outage,
    wait_for_database,
)
from quant_agent.engine import build_engine
from quant_agent.live_runner import LiveRunner
from quant_agent.market.source import load_history
from quant_agent.runner import Runner
from quant_agent.storage.engine import make_engine
from quant_agent.storage.store import Store
from quant_agent.testkit.executor import planned_signal
from quant_agent.testkit.quotes import SESSION_OPEN, quote
from quant_agent.testkit.runner_process import state as run_state

from .budget import counts

WINDOW = (date(2024, 2, 8), date(2024, 2, 9))
OPEN = datetime(2024, 2, 8, 14, 30, tzinfo=UTC)
CONFIG = LiveTradingConfig.model_validate({
    "trading": {"max_hold_days": 1},
    "runner": {"db_retry_seconds": 0.5, "db_retry_max_seconds": 2.0},
})  # fmt: skip


def test_only_an_unavailable_database_is_an_outage() -> None:
    lost = sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))
    broken = sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key"))
    assert is_outage(lost) and is_outage(StorageError("write lost"))
    assert not is_outage(broken) and not is_outage(ValueError("bug"))


def test_a_swallowed_failed_statement_still_fails_the_step(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'w.db'}")
    watch = DatabaseWatch(store)
    try:
        mark = watch.failures
        watch.check(mark)
        try:  # as the event bus does with a handler's exception
            with store.unit_of_work() as uow:
                uow.connection.exec_driver_sql("SELECT * FROM no_such_table")
        except sa.exc.OperationalError:
            pass
        with pytest.raises(DatabaseUnavailable):
            watch.check(mark)
    finally:
        watch.close()
        store.close()


def test_the_probe_backs_off_until_the_database_takes_a_write(tmp_path: Path) -> None:
    store = Store(make_engine(f"sqlite:///{tmp_path / 'late.db'}"))  # no schema yet: fails
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 5:
            store.upgrade()  # the database is back

    failed = asyncio.run(wait_for_database(store, lambda: SESSION_OPEN, sleep, first=0.5, cap=3))
    store.close()
    assert (failed, slept) == (4, [0.5, 1.0, 2.0, 3.0, 3.0])


def replay(url: str, **kwargs: Any) -> Runner:
    runner = Runner(CONFIG, Store.open(url), load_history(DataConfig(demo_tickers=8)), WINDOW,
                    **kwargs)  # fmt: skip
    asyncio.run(runner.run())
    return runner


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    url = f"sqlite:///{tmp_path_factory.mktemp('clean') / 'clean.db'}"
    replay(url)
    return run_state(url)


#: After which finished step the file is locked (``make soak`` tries more instants).
LOCK_AFTER = [4, 1, 7, 10, 13, 2, 5, 12][: counts(1, 8)]


@pytest.mark.parametrize("lock_after", LOCK_AFTER)
def test_a_replay_rides_out_a_locked_database_and_ends_like_a_clean_run(
    clean: dict[str, Any], tmp_path: Path, lock_after: int
) -> None:
    path = tmp_path / "locked.db"
    lock = sqlite3.connect(path, isolation_level=None, timeout=30)
    held: list[bool] = []
    slept: list[float] = []

    def after_step(point: str) -> None:  # the runner's crash hook: lock after a step
        if point == "event" and len(held) < lock_after:
            held.append(True)
            if len(held) == lock_after:
                lock.execute("BEGIN EXCLUSIVE")

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if lock.in_transaction:
            lock.execute("ROLLBACK")  # the database comes back during the first wait

    runner = replay(f"sqlite:///{path}", crash=after_step, sleep=sleep)
    lock.close()
    assert runner.outage.outages == 1 and slept and not runner.summary.stopped_early
    assert clean["fills"] and run_state(f"sqlite:///{path}") == clean
    with Store.open(f"sqlite:///{path}").unit_of_work() as uow:
        events = [(e.rule, e.severity.value) for e in uow.risk_events.list()]
    assert ("database_unavailable", "CRITICAL") in events


class StopAfterOutage(LiveRunner):
    """The live loop, stopped after its first tick once an outage was ridden out."""

    async def step(self) -> int:
        count = await super().step()
        if self.outage.outages:
            self.stop()
        return count


def test_the_live_loop_rides_out_a_locked_database_with_the_stop_in_place(
    tmp_path: Path,
) -> None:
    path = tmp_path / "live.db"
    store = Store.open(f"sqlite:///{path}")
    history = load_history(DataConfig(demo_tickers=8))
    clock = SimClock(OPEN)
    engine = build_engine(CONFIG, store, history, OPEN, clock=clock)
    lock = sqlite3.connect(path, isolation_level=None, timeout=30)
    working: list[set[str]] = []

    async def sleep(seconds: float) -> None:  # the database comes back during the first wait
        if lock.in_transaction:
            working.append(stops_at_the_venue(lock))
            lock.execute("ROLLBACK")

    runner = StopAfterOutage(CONFIG, store, history, engine, live_clock=clock, poll_seconds=0,
                             sleep=sleep)  # fmt: skip
    asyncio.run(runner.step())  # started: reconciled, the day's baseline set
    signal = planned_signal("BEBA", date(2024, 2, 7), "100.00", "95.00", "110.00", 10)
    assert engine.executor.process_signal(signal).action == "entered"
    runner.on_quotes([quote("BEBA", "99.90", "100.00", ts=OPEN)])
    before = stops_at_the_venue(lock)
    assert len(before) == 1
    clock.set(OPEN + timedelta(minutes=1))
    with store.unit_of_work() as uow:  # the tick's one write: marking the command applied
        uow.commands.add(CommandRecord(kind=CommandKind.RESUME, created_at=clock.now()))
    lock.execute("BEGIN EXCLUSIVE")
    summary = asyncio.run(runner.run())
    assert working == [before] and stops_at_the_venue(lock) == before
    lock.close()
    assert runner.outage.outages == 1 and summary.stopped_early
    with store.unit_of_work() as uow:
        assert ("database_unavailable", "CRITICAL") in [
            (e.rule, e.severity.value) for e in uow.risk_events.list()
        ]
        assert uow.orders.count() == 3  # the entry and its two legs: nothing new
        assert [c.status for c in uow.commands.list()] == [CommandStatus.APPLIED]
    store.close()


def stops_at_the_venue(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT client_order_id FROM paper_orders WHERE order_type = 'STOP' "
                        "AND status = 'ACCEPTED'").fetchall()  # fmt: skip
    return {str(r[0]) for r in rows}
