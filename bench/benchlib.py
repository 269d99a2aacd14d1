"""Helpers shared by the bench scripts (not a benchmark itself: `make bench` runs bench_*.py).

Importing it puts the repository on ``sys.path`` so a script run as
``.venv/bin/python bench/bench_x.py`` imports the working tree's ``quant_agent``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

T = TypeVar("T")


def best_of(runs: int, fn: Callable[[], T]) -> tuple[float, T]:
    """Best wall time (seconds) of ``runs`` calls, and the last result."""
    best = float("inf")
    result: T
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def shared_data_dir() -> Path:
    """The real market data folder: ``$QA_SHARED_DATA`` or ``../shared/data``."""
    override = os.environ.get("QA_SHARED_DATA")
    return Path(override) if override else REPO_ROOT.parent / "shared" / "data"
