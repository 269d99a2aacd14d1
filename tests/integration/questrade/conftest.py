"""A sandbox, a token store and a REST client sharing one SimClock; sleeping advances it.

The harness itself lives in ``quant_agent.testkit.sandbox_harness`` (the reliability suite
uses it too); the names are re-exported here for the tests of this directory.
"""

from __future__ import annotations

from quant_agent.testkit.sandbox_harness import START, Harness, harness, history

__all__ = ["START", "Harness", "harness", "history"]
