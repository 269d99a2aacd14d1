"""Crash recovery: the real runner process SIGKILLed at random instants of a replayed trading
day, restarted after each kill, ends exactly like an uninterrupted run of the same day.

The day is ``crash_day.DAY`` (max-hold exits, entries, their fills and bracket children).
An instant is one pass of a crash point of ``quant_agent/crashpoints.py`` (mostly
``commit``: every database transaction that wrote, of the venue, the order and position
managers and the runner) in one replay step of the clean day; the first kills cover every
point, and the kills come in time order (a killed step is repeated by the restart, so
later kills land in it or after it). All drawn from ``random.Random(seed)``: a failure
prints the seed and the plan, and ``QA_CRASH_SEED=<seed>`` replays it. After the last
restart the orders, fills, positions, trades, the venue's book and cash equal the clean
run's, and no client order id reached the paper venue twice.
"""

from __future__ import annotations

import os
import random
import signal
from pathlib import Path

from quant_agent.testkit.runner_process import run_cli

from .budget import counts
from .crash_day import (
    DAY,
    CleanDay,
    assert_like_clean,
    clean_day,
    day_copies,
    day_database,
    finished,
    kill,
)

__all__ = ["clean_day", "day_database"]  # fixtures

SEED = int(os.environ.get("QA_CRASH_SEED") or 20240214)
KILLS = counts(6, 50)
#: How often each crash point is drawn once every point had its kill.
WEIGHTS = {"commit": 12, "event": 2, "submit": 2, "accepted": 2, "after_fill": 2}
Instant = tuple[int, int, str]  # (step of the day, pass of the point in it, point)


def draw_instants(seed: int, kills: int, steps: list[dict[str, int]]) -> list[Instant]:
    """``kills`` passes of crash points in the clean day (step, pass in it, point), in time
    order; every point is drawn once before the weighted draws."""
    rng = random.Random(seed)
    names = sorted(WEIGHTS)
    points = rng.sample(names, len(names))[:kills]
    points += rng.choices(names, [WEIGHTS[n] for n in names], k=kills - len(points))
    instants = []
    for point in points:
        passes = [(step, k) for step, tally in enumerate(steps)
                  for k in range(1, tally.get(point, 0) + 1)]  # fmt: skip
        instants.append((*rng.choice(passes), point))
    return sorted(instants, key=lambda i: (i[0], i[2] == "event", i[1]))  # events end steps


def spec_for(instant: Instant, done: int, steps: list[dict[str, int]], before: int) -> str:
    """The crash spec of ``instant`` for a run that starts after ``done`` finished steps;
    an instant in a step already done moves to the point's next step still to come. A
    step repeated after a kill at pass ``before`` of the same point skips what that run
    did, so the pass counts from there."""
    step, k, point = instant
    later = [s for s in range(max(step, done), len(steps)) if steps[s].get(point)]
    if not later:  # the point does not come again: a commit of the first step to come
        step, k, point = done, 1, "commit"
    elif later[0] != step:
        step, k = later[0], min(k, steps[later[0]][point])
    if step == done:
        k = max(1, k - before)
    ahead = step - done
    return (f"event:{ahead}," if ahead else "") + f"{point}:{k}"


def test_sigkill_at_random_instants_then_restart_equals_an_uninterrupted_day(
    clean_day: CleanDay, day_database: str, tmp_path: Path
) -> None:
    instants = draw_instants(SEED, KILLS, clean_day.tally)
    where = f"seed {SEED} (QA_CRASH_SEED={SEED} reproduces), instants {instants}"
    print(f"crash recovery: {where}")
    runs, specs = [], []
    with day_copies(day_database, clean_day, tmp_path) as fresh:
        url, done, passed, logs = fresh(), 0, {}, []  # passed: the pass of the last kill
        for instant in instants:
            if done == len(clean_day.steps):  # the day is over: check it, then a new round
                _finish(url, tmp_path, clean_day, f"{where}, specs {specs}", logs)
                url, done, passed, logs = fresh(), 0, {}, []
            spec = spec_for(instant, done, clean_day.tally, passed.get(instant[2], 0))
            specs.append(spec)
            runs.append(kill(url, tmp_path, spec))
            logs.append(runs[-1].stderr)
            now = clean_day.steps_done(url)
            passed = {} if now != done or "," in spec else passed | {instant[2]: instant[1]}
            done = now
        print(f"crash recovery: specs {specs}")
        _finish(url, tmp_path, clean_day, f"{where}, specs {specs}", logs)
        rounds = fresh.made
    killed = sum(run.returncode == -signal.SIGKILL for run in runs)
    print(f"crash recovery: {killed} of {len(runs)} runs killed, {rounds} rounds of the day")
    assert killed >= len(runs) * 3 // 4, f"{where}: only {killed} runs were killed"


def _finish(url: str, cwd: Path, clean: CleanDay, where: str, logs: list[str]) -> None:
    final = finished(run_cli(url, cwd, DAY))
    assert_like_clean(url, clean, where, [*logs, final.stderr])
