"""The ``commit`` crash point's seam: ``Store.on_commit`` runs after each unit of work that
wrote something has committed (never after a read, never after a rollback), and
``crash_hook`` chains its stages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from quant_agent.crashpoints import crash_hook, no_crash
from quant_agent.storage.repositories import SystemStateRepository
from quant_agent.storage.store import Store

AT = datetime(2024, 2, 14, 14, 0, tzinfo=UTC)


def test_the_callback_runs_after_each_committed_write_only(store: Store) -> None:
    seen: list[object] = []
    store.on_commit(lambda: seen.append(store_value(store)))
    with store.unit_of_work() as uow:
        uow.system_state.set("k", {"n": 1}, AT)
    assert seen == [{"n": 1}]  # after the commit: a new transaction reads the value
    with store.unit_of_work() as uow:
        uow.system_state.get("k")
    assert len(seen) == 1  # a read is not a commit point
    with pytest.raises(RuntimeError), store.unit_of_work() as uow:
        uow.system_state.set("k", {"n": 2}, AT)
        raise RuntimeError("rolled back")
    assert len(seen) == 1 and store_value(store) == {"n": 1}


def store_value(store: Store) -> object:
    with store.engine.connect() as conn:
        return SystemStateRepository(conn).get("k")


def test_no_variables_no_hook_and_a_chain_counts_from_its_previous_stage() -> None:
    assert crash_hook({}) is no_crash
    hook = crash_hook({"QA_CRASH_AT": "event:2,commit:5"})
    for point in ("commit",) * 6 + ("event", "submit", "commit", "event") + ("commit",) * 4:
        hook(point)  # alive: only the 4 commits after the 2nd event count (the 5th kills)
