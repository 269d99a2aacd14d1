"""The run size switch itself: ``make test`` is reduced, ``QA_SOAK=1`` is full."""

from __future__ import annotations

from .budget import SOAK, counts, fuzz_settings


def test_counts_follow_the_soak_switch() -> None:
    assert counts(3, 50) == (50 if SOAK else 3)
    assert fuzz_settings().max_examples == (2_500 if SOAK else 150)
