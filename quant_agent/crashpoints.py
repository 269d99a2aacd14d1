"""Deterministic crash points: a test-only seam to SIGKILL the process at a named instant.

``QA_CRASH_AT=<point>[:<n>]`` makes the process kill itself (SIGKILL, no cleanup, no
flush) the ``n``-th time (default 1) code passes ``crash_point(<point>)``. Unset, a crash
point costs one dictionary lookup. Points:

- ``submit``: an order is stored SUBMITTED and is about to reach the broker (no ack yet);
- ``after_fill``: a fill is recorded by the order manager, the position row not yet;
- ``event``: the runner finished one replay step (quotes, scan or close) of the timeline.

Used by the restart tests (tests/integration/executor/test_crash_restart.py); documented
in docs/OPERATIONS.md. Production never sets the variable.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Mapping
from typing import Any

CrashHook = Callable[[str], None]


def no_crash(point: str) -> None:
    """The default hook: never crash."""


def crash_hook(environ: Mapping[str, str]) -> CrashHook:
    """Return the hook ``QA_CRASH_AT`` in ``environ`` asks for (``no_crash`` when unset)."""
    spec = environ.get("QA_CRASH_AT", "").strip()
    if not spec:
        return no_crash
    name, _, count = spec.partition(":")
    remaining = {name: int(count or 1)}

    def hook(point: str) -> None:
        if point in remaining:
            remaining[point] -= 1
            if remaining[point] <= 0:
                os.kill(os.getpid(), signal.SIGKILL)

    return hook


class HookedBroker:
    """A broker that passes ``submit`` through the ``submit`` crash point first."""

    def __init__(self, inner: Any, hook: CrashHook) -> None:
        self._inner = inner
        self._hook = hook
        self.supports_native_brackets = inner.supports_native_brackets

    def submit(self, request: Any) -> Any:
        self._hook("submit")
        return self._inner.submit(request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
