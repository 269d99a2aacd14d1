"""The reliability suite: the real runner, the local Questrade server or the replay feed, and
a real database, tried hard to break.

``make test`` runs every test here at reduced counts; ``make soak`` sets ``QA_SOAK=1`` and
runs the full counts that docs/RELIABILITY.md lists. A test asks ``counts(reduced, full)``
for its number of attempts, so the two runs exercise the same code and differ only in size.
"""

from __future__ import annotations

import pytest

from .budget import SOAK


@pytest.fixture(scope="session")
def soak() -> bool:
    """True under ``make soak`` (``QA_SOAK=1``)."""
    return SOAK
