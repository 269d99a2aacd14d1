"""How big a reliability run is: reduced under ``make test``, full under ``make soak``.

A test asks ``counts(reduced, full)`` for its number of attempts and ``fuzz_settings()`` for
its hypothesis budget, so the two runs exercise the same code and differ only in size.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

SOAK = os.environ.get("QA_SOAK", "").strip() not in ("", "0", "false", "no")

# Fuzzing budgets: ``make soak`` runs at least 10,000 cases across the fuzz targets.
FUZZ_EXAMPLES = {"reliability": 150, "reliability-soak": 2_500}
for _name, _examples in FUZZ_EXAMPLES.items():
    settings.register_profile(
        _name,
        max_examples=_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        derandomize=True,
    )


def counts(reduced: int, full: int) -> int:
    """How many attempts a test makes: ``full`` under ``make soak``, ``reduced`` otherwise."""
    return full if SOAK else reduced


def fuzz_settings() -> settings:
    """Hypothesis settings for a fuzz target, sized by the run (seeded, so reproducible)."""
    return settings.get_profile("reliability-soak" if SOAK else "reliability")
