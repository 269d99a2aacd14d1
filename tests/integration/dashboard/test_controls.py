"""The controls write command rows only; the runner applies them and the page shows it
(SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from quant_agent.storage import tables as t
from quant_agent.storage.store import Store

from .conftest import SHORT_WINDOW, Seeded, metric

Page = Callable[[Seeded, str], AppTest]
NEXT_DAYS = [date(2024, 2, 15), date(2024, 2, 16), date(2024, 2, 20)]


@pytest.fixture
def seeded(backend: str, make_seeded: Callable[..., Seeded]) -> Seeded:
    return make_seeded(backend, SHORT_WINDOW)


def _commands(store: Store) -> list[Any]:
    with store.unit_of_work() as uow:
        return list(uow.connection.execute(select(t.commands).order_by(t.commands.c.id)))


def _captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def test_pause_halt_and_resume_are_queued_then_shown_once_the_runner_applied_them(
    seeded: Seeded, open_page: Page
) -> None:
    at = open_page(seeded, "Settings")
    at.button(key="ctl_pause").click().run()
    (row,) = _commands(seeded.store)
    assert (row.kind, row.status, row.created_by, row.payload) == ("PAUSE", "PENDING",
                                                                  "dashboard", {})  # fmt: skip
    assert f"PAUSE #{row.id}: pending" in _captions(at)
    assert metric(at, "Trading state") == "RUNNING"  # nothing changes until the runner acts

    seeded.replay(NEXT_DAYS[0])
    at.run()
    assert metric(at, "Trading state") == "PAUSED"
    assert f"PAUSE #{row.id}: APPLIED by the runner" in _captions(at)

    at.text_input(key="ctl_reason").input("broker looks wrong").run()
    at.button(key="ctl_halt").click().run()
    halt = _commands(seeded.store)[-1]
    assert (halt.kind, halt.payload, halt.status) == ("HALT", {"reason": "broker looks wrong"},
                                                      "PENDING")  # fmt: skip
    seeded.replay(NEXT_DAYS[1])
    at.run()
    assert metric(at, "Trading state") == "HALTED"
    assert f"HALT #{halt.id}: APPLIED" in _captions(at)
    at.sidebar.radio(key="page").set_value("Overview").run()
    assert any("broker looks wrong" in e.value for e in at.error)

    at.sidebar.radio(key="page").set_value("Settings").run()
    at.button(key="ctl_resume").click().run()
    assert _commands(seeded.store)[-1].kind == "RESUME"
    seeded.replay(NEXT_DAYS[2])
    at.run()
    assert metric(at, "Trading state") == "RUNNING"


def test_scan_now_queues_a_scan_the_runner_runs(seeded: Seeded, open_page: Page) -> None:
    at = open_page(seeded, "Settings")
    at.button(key="ctl_scan").click().run()
    assert _commands(seeded.store)[-1].kind == "SCAN"
    seeded.replay(NEXT_DAYS[0])
    at.run()
    row = _commands(seeded.store)[-1]
    assert row.status == "APPLIED" and row.result.startswith("scan ")
    assert f"SCAN #{row.id}: APPLIED" in _captions(at)


def test_close_asks_for_confirmation_then_the_runner_closes_the_position(
    seeded: Seeded, open_page: Page
) -> None:
    at = open_page(seeded, "Positions")
    ticker = at.dataframe[0].value["ticker"].iloc[0]
    at.button(key=f"close_{ticker}").click().run()
    assert not _commands(seeded.store), "a close must wait for the confirmation"
    assert any(ticker in w.value for w in at.warning)
    at.button(key="confirm_close_yes").click().run()
    (row,) = _commands(seeded.store)
    assert (row.kind, row.payload, row.status) == ("CLOSE_POSITION", {"ticker": ticker},
                                                   "PENDING")  # fmt: skip
    seeded.replay(NEXT_DAYS[0])
    at.run()
    row = _commands(seeded.store)[-1]
    assert row.status == "APPLIED", row.result
    assert f"CLOSE_POSITION #{row.id}: APPLIED" in _captions(at)
    at.sidebar.radio(key="page").set_value("Trades").run()
    trades = at.dataframe[0].value
    closed = trades[(trades["ticker"] == ticker) & (trades["exit_reason"] == "MANUAL")]
    assert len(closed) == 1  # (the day's later scan may buy it again: a new position)
