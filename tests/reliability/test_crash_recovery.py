"""Crash recovery: the real runner process SIGKILLed at random instants of a replayed trading
day, restarted after each kill, ends exactly like an uninterrupted run of the same day.

The day (2024-02-14 of the demo market, after a clean replay of the sessions before it) has
max-hold exits, new entries, their fills and bracket children. An instant is a crash point
of ``quant_agent/crashpoints.py`` (mostly ``commit``: every database transaction that
wrote, of the venue, the order and position managers and the runner) and how many times
the restarted process passes it first, drawn from ``random.Random(seed)``: a failure prints
the seed and the plan, and ``QA_CRASH_SEED=<seed>`` replays it. After the last restart the
orders, fills, positions, trades, the venue's book and cash equal the clean run's, and no
client order id reached the paper venue twice.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from quant_agent.testkit.runner_process import run_cli, state, venue_ids_sent_once

from .budget import SOAK, counts

PREFIX = "2024-02-08:2024-02-13"  # opens the positions that the day exits on max hold
DAY = "2024-02-14:2024-02-14"
SEED = int(os.environ.get("QA_CRASH_SEED") or 20240214)
KILLS = counts(6, 50)
#: How often each crash point is drawn (``commit`` spreads the instants over the day).
WEIGHTS = {"commit": 12, "event": 2, "submit": 2, "accepted": 2, "after_fill": 2}


@dataclass(frozen=True)
class CleanDay:
    prefix: Path  # the SQLite database after the sessions before the day
    state: dict[str, Any]  # after the day, uninterrupted
    tally: dict[str, int]  # crash points passed during the day
    overhead: dict[str, int]  # crash points passed by a restart with nothing left to do


def _copy_sqlite(source: Path, target: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
    return f"sqlite:///{target}"


def _tallied(url: str, cwd: Path, name: str) -> dict[str, int]:
    tally = cwd / f"{name}.json"
    done = run_cli(url, cwd, DAY, extra={"QA_CRASH_TALLY": str(tally)})
    assert done.returncode == 0, done.stderr
    counted: dict[str, int] = json.loads(tally.read_text())
    return counted


@pytest.fixture(scope="module")
def clean_day(tmp_path_factory: pytest.TempPathFactory) -> CleanDay:
    where = tmp_path_factory.mktemp("clean-day")
    prefix = where / "prefix.db"
    done = run_cli(f"sqlite:///{prefix}", where, PREFIX)
    assert done.returncode == 0, done.stderr
    before = state(f"sqlite:///{prefix}")
    url = _copy_sqlite(prefix, where / "clean.db")
    tally = _tallied(url, where, "day")
    after = state(url)
    overhead = _tallied(url, where, "rerun")  # restarting a finished day changes nothing
    assert state(url) == after
    _assert_day_is_busy(before, after)
    return CleanDay(prefix, after, tally, overhead)


def _assert_day_is_busy(before: dict[str, Any], after: dict[str, Any]) -> None:
    """The day enters, fills, places protective orders and exits (else it proves little)."""
    new = [o for o in after["orders"] if o not in before["orders"]]
    roles = {o[5] for o in new}
    assert {"ENTRY", "STOP_LOSS", "TAKE_PROFIT", "EXIT"} <= roles, roles
    assert len(after["fills"]) > len(before["fills"])
    assert len(after["trades"]) > len(before["trades"])


def kill_plan(seed: int, kills: int, day: CleanDay) -> list[tuple[str, int]]:
    """``kills`` instants (point, n-th pass after a restart), spread over the day."""
    rng = random.Random(seed)
    names = sorted(WEIGHTS)
    plan = []
    for _ in range(kills):
        point = rng.choices(names, weights=[WEIGHTS[n] for n in names])[0]
        span = day.overhead.get(point, 0) + max(1, 2 * day.tally.get(point, 0) // (kills + 1))
        plan.append((point, rng.randint(1, span)))
    return plan


@pytest.fixture
def day_database(database_url: str, clean_day: CleanDay, tmp_path: Path) -> str:
    """A database holding the clean sessions before the day (copied on SQLite)."""
    if database_url.startswith("sqlite"):
        return _copy_sqlite(clean_day.prefix, tmp_path / "day.db")
    if not SOAK:
        pytest.skip("the PostgreSQL crash-recovery run is part of make soak (time budget)")
    done = run_cli(database_url, tmp_path, PREFIX)
    assert done.returncode == 0, done.stderr
    return database_url


def test_sigkill_at_random_instants_then_restart_equals_an_uninterrupted_day(
    clean_day: CleanDay, day_database: str, tmp_path: Path
) -> None:
    plan = kill_plan(SEED, KILLS, clean_day)
    where = f"seed {SEED} (QA_CRASH_SEED={SEED} reproduces), plan {plan}"
    print(f"crash recovery: {where}")
    logs, killed = [], 0
    for point, n in plan:
        run = run_cli(day_database, tmp_path, DAY, crash=f"{point}:{n}")
        logs.append(run.stderr)
        assert run.returncode in (0, -signal.SIGKILL), f"{where}: {run.stderr[-2000:]}"
        killed += run.returncode == -signal.SIGKILL
    final = run_cli(day_database, tmp_path, DAY)
    assert final.returncode == 0, f"{where}: {final.stderr[-2000:]}"
    print(f"crash recovery: {killed} of {len(plan)} runs killed")
    assert killed >= len(plan) // 2, f"{where}: only {killed} runs were killed"
    got = state(day_database)
    for part, expected in clean_day.state.items():
        assert got[part] == expected, f"{where}: {part} differ"
    venue_ids_sent_once(day_database, *logs, final.stderr)
