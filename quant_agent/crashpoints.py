"""Deterministic crash points: a test-only seam to SIGKILL the process at a named instant.

``QA_CRASH_AT=<point>[:<n>]`` makes the process kill itself (SIGKILL, no cleanup, no
flush) the ``n``-th time (default 1) code passes the crash point ``<point>``; stages
chain: ``event:2,commit:5`` is the 5th ``commit`` after the 2nd ``event``. Unset, no hook
is installed at all. Points:

- ``submit``: an order is stored SUBMITTED and is about to reach the broker (no ack yet);
- ``accepted``: the broker answered a submit; the answer is not recorded locally yet;
- ``after_fill``: a fill is recorded by the order manager, the position row not yet;
- ``commit``: a database transaction that wrote something has just committed (every unit
  of work of the order manager, the position manager, the paper venue, the runner...);
- ``event``: the runner finished one replay step (quotes, scan or close) of the timeline.

``QA_CRASH_TALLY=<file>`` counts how often each point was passed in each replay step and
writes the counts (JSON: one object per step, the last one after the last step) to
``<file>`` when the process exits normally, so a test can draw crash instants from a clean
run's points.

Used by the restart tests (tests/integration/executor/test_crash_restart.py,
tests/reliability/test_crash_recovery.py); documented in docs/OPERATIONS.md. Production
never sets the variables.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

CrashHook = Callable[[str], None]


def no_crash(point: str) -> None:
    """The default hook: never crash."""


def crash_hook(environ: Mapping[str, str]) -> CrashHook:
    """Return the hook ``QA_CRASH_AT`` in ``environ`` asks for (``no_crash`` when unset)."""
    spec = environ.get("QA_CRASH_AT", "").strip()
    tally_file = environ.get("QA_CRASH_TALLY", "").strip()
    if not spec and not tally_file:
        return no_crash
    stages = [_stage(part) for part in spec.split(",") if part.strip()]
    tally: list[Counter[str]] = [Counter()]  # one per replay step (``event`` ends one)
    if tally_file:
        atexit.register(_write_tally, tally_file, tally)

    def hook(point: str) -> None:
        tally[-1][point] += 1
        if point == "event":
            tally.append(Counter())
        if stages and point == stages[0][0]:
            stages[0][1] -= 1
            if stages[0][1] <= 0:
                stages.pop(0)
                if not stages:
                    os.kill(os.getpid(), signal.SIGKILL)

    return hook


def _stage(part: str) -> list[Any]:
    name, _, count = part.strip().partition(":")
    return [name, int(count or 1)]


def _write_tally(path: str, tally: list[Counter[str]]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        json.dump([dict(step) for step in tally], out)


class HookedBroker:
    """A broker that passes ``submit`` through the ``submit`` crash point before the
    request leaves and the ``accepted`` crash point once the broker has answered."""

    def __init__(self, inner: Any, hook: CrashHook) -> None:
        self._inner = inner
        self._hook = hook
        self.supports_native_brackets = inner.supports_native_brackets

    def submit(self, request: Any) -> Any:
        self._hook("submit")
        answer = self._inner.submit(request)
        self._hook("accepted")
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
