"""The replayed trading day the crash tests kill the runner in, and its uninterrupted run.

The day is 2024-02-14 of the demo market, after a clean replay of the sessions before it
(``PREFIX``, kept as a SQLite file and copied per test): it exits three positions on max
hold days (09:00 scan, filled at the 09:30 open), enters three new ones at the 10:00 scan
(filled at 11:00) and arms their stops and targets. ``clean_day`` runs it once per session
uninterrupted, with the crash points tallied step by step; ``kill`` runs it with one crash
spec; ``assert_like_clean`` compares an end state with the clean one.
"""

from __future__ import annotations

import functools
import json
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from quant_agent.config import LiveTradingConfig
from quant_agent.market.calendar import get_calendar
from quant_agent.market.history import HistoryStore
from quant_agent.market.synthetic import SyntheticMarket, generate_market
from quant_agent.runner import timeline
from quant_agent.testkit.runner_process import run_cli, state, system_value, venue_ids_sent_once

PREFIX = "2024-02-08:2024-02-13"  # opens the positions that the day exits on max hold
DAY = "2024-02-14:2024-02-14"
SESSION = date(2024, 2, 14)


@dataclass(frozen=True)
class CleanDay:
    prefix: Path  # the SQLite database after the sessions before the day
    url: str  # the same after the day, uninterrupted
    state: dict[str, Any]
    tally: list[dict[str, int]]  # crash points passed in each step of the day
    steps: list[tuple[datetime, int]]  # the day's replay steps, as the runner's cursor

    def steps_done(self, url: str) -> int:
        """How many of the day's steps the runner over ``url`` has finished."""
        cursor = system_value(url, "runner.cursor")
        at = (datetime.fromisoformat(cursor["at"]), int(cursor["rank"]))
        return sum(step <= at for step in self.steps)


def copy_sqlite(source: Path, target: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
    return f"sqlite:///{target}"


def finished(run: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert run.returncode == 0, run.stderr[-3000:]
    return run


@functools.cache
def _prepare(where: Path) -> CleanDay:
    where.mkdir(parents=True, exist_ok=True)
    prefix = where / "prefix.db"
    finished(run_cli(f"sqlite:///{prefix}", where, PREFIX))
    before = state(f"sqlite:///{prefix}")
    url = copy_sqlite(prefix, where / "clean.db")
    tally_file = where / "tally.json"
    finished(run_cli(url, where, DAY, extra={"QA_CRASH_TALLY": str(tally_file)}))
    after = state(url)
    new = [o for o in after["orders"] if o not in before["orders"]]
    roles = {o[5] for o in new}  # the day enters, fills, protects and exits
    assert {"ENTRY", "STOP_LOSS", "TAKE_PROFIT", "EXIT"} <= roles, roles
    assert len(after["trades"]) > len(before["trades"])
    config = LiveTradingConfig()
    steps = timeline(demo_history(), get_calendar("NYSE"), config, SESSION, SESSION)
    tally = json.loads(tally_file.read_text())
    return CleanDay(prefix, url, after, tally, [(step.at, step.rank) for step in steps])


@functools.cache
def demo_market() -> SyntheticMarket:
    """The demo market the runner replays (the default ``data`` configuration)."""
    data = LiveTradingConfig().data
    return generate_market(n_tickers=data.demo_tickers, start=data.demo_start,
                           end=data.demo_end, seed=data.demo_seed)  # fmt: skip


def demo_history() -> HistoryStore:
    market = demo_market()
    return HistoryStore(market.bars, market.universe)


@pytest.fixture(scope="session")
def clean_day(tmp_path_factory: pytest.TempPathFactory) -> CleanDay:
    return _prepare(tmp_path_factory.getbasetemp() / "clean-day")


@pytest.fixture
def day_database(database_url: str, clean_day: CleanDay, tmp_path: Path) -> str:
    """A database holding the clean sessions before the day (copied on SQLite)."""
    if database_url.startswith("sqlite"):
        return copy_sqlite(clean_day.prefix, tmp_path / "day.db")
    finished(run_cli(database_url, tmp_path, PREFIX))
    return database_url


class _Copies:
    """Fresh databases at the start of the day: SQLite copies of the prefix file, or
    PostgreSQL databases made from ``url`` (holding the prefix) as a template."""

    def __init__(self, url: str, clean: CleanDay, where: Path) -> None:
        self.url, self.clean, self.where, self.made = url, clean, where, 0
        self.databases: list[str] = []

    def __call__(self) -> str:
        self.made += 1
        if self.url.startswith("sqlite"):
            return copy_sqlite(self.clean.prefix, self.where / f"round{self.made}.db")
        base = sa.make_url(self.url)
        name = f"{base.database}_r{self.made}"
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{base.database}"')
        self.databases.append(name)
        return base.set(database=name).render_as_string(hide_password=False)

    def _admin(self, sql: str) -> None:
        admin = sa.make_url(self.url).set(database="postgres")
        engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(sql)
        finally:
            engine.dispose()

    def drop(self) -> None:
        for name in self.databases:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def day_copies(url: str, clean: CleanDay, where: Path) -> Iterator[_Copies]:
    """Call the result for a fresh database at the start of the day (one per round)."""
    copies = _Copies(url, clean, where)
    try:
        yield copies
    finally:
        copies.drop()


def kill(
    url: str, cwd: Path, spec: str, window: str = DAY, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the window with crash spec ``spec``: it must die by SIGKILL or (when the spec's
    instant never comes) finish."""
    run = run_cli(url, cwd, window, crash=spec, extra=env or None)
    assert run.returncode in (0, -signal.SIGKILL), f"{spec}: {run.stderr[-3000:]}"
    return run


def assert_like_clean(url: str, clean: CleanDay, where: str, logs: list[str]) -> None:
    """Every part of the end state equals the clean run's; no id reached the venue twice."""
    got = state(url)
    for part, expected in clean.state.items():
        assert got[part] == expected, f"{where}: {part} differ"
    venue_ids_sent_once(url, *logs)
