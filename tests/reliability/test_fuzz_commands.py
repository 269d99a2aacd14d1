"""Fuzzing the dashboard's command rows: rows in ``commands`` with unknown kinds, payloads
that are not JSON objects (or not JSON at all), junk tickers and reasons, unreadable times.
The runner's poll marks each one APPLIED or FAILED with the reason and keeps going; a
failed command writes nothing else (orders, fills, positions, trades, risk events, scans
and signals keep their counts), and nothing is left PENDING or half-marked.

The real runner process first replays a day with a malformed row of every kind queued
(it must finish and mark them FAILED); the fuzzing then runs on that database in-process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from quant_agent.config import LiveTradingConfig
from quant_agent.core.enums import CommandKind
from quant_agent.market.source import load_history
from quant_agent.runner import Runner
from quant_agent.storage import tables as t
from quant_agent.storage.store import Store

from .budget import fuzz_settings

DAY = date(2024, 2, 8)
CREATED = datetime(2024, 2, 8, 14, 0, tzinfo=UTC)
WRITTEN = (t.orders, t.fills, t.positions, t.live_trades, t.risk_events, t.scan_runs,
           t.live_signals, t.paper_orders, t.order_events)  # fmt: skip
# (kind, payload JSON text, created_at text): rows no dashboard writes, but a hand or a bug may.
STAMP = "2024-02-08 14:00:00.000000"
MALFORMED = {  # row -> what its FAILED result must say
    ("EXPLODE", "{}", STAMP): "malformed command row: ValueError: 'EXPLODE' is not a valid",
    ("pause", "{}", STAMP): "malformed command row",
    ("HALT", "[1, 2]", STAMP): "payload is a JSON list, not an object",
    ("RESUME", '"text"', STAMP): "payload is a JSON str, not an object",
    ("PAUSE", "{not json", STAMP): "malformed command row",
    ("PAUSE", "{}", "yesterday-ish"): "malformed command row",
    ("CLOSE_POSITION", "{}", STAMP): "needs a 'ticker' string",
    ("CLOSE_POSITION", '{"ticker": "NOPE$"}', STAMP): "invalid ticker 'NOPE$'",
    ("CLOSE_POSITION", '{"ticker": "ZZZZ"}', STAMP): "no open position in ZZZZ",
}
INSERT = ("INSERT INTO commands (kind, payload, status, created_at, created_by) "
          "VALUES (?, ?, 'PENDING', ?, 'fuzz')")  # fmt: skip


def _insert_raw(store: Store, rows: list[tuple[str, str, str]]) -> list[int]:
    """Insert rows as raw text (SQLite), bypassing every check a repository makes."""
    ids = []
    with store.engine.begin() as conn:
        for row in rows:
            conn.exec_driver_sql(INSERT, row)
            ids.append(int(conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one()))
    return ids


def _rows(store: Store, ids: list[int]) -> list[Any]:
    with store.engine.connect() as conn:
        stmt = sa.select(t.commands.c.id, t.commands.c.status, t.commands.c.result,
                         t.commands.c.applied_at).where(t.commands.c.id.in_(ids))  # fmt: skip
        return list(conn.execute(stmt.order_by(t.commands.c.id)))


def _counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        count = sa.select(sa.func.count())
        return {tb.name: int(conn.execute(count.select_from(tb)).scalar_one()) for tb in WRITTEN}


@dataclass
class Desk:
    store: Store
    runner: Runner
    held: list[str]


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    folder = tmp_path_factory.mktemp("commands")
    url = f"sqlite:///{folder / 'qa.db'}"
    store = Store.open(url)
    ids = _insert_raw(store, list(MALFORMED))
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env["QA_DATABASE_URL"] = url
    done = subprocess.run(
        [sys.executable, "-m", "quant_agent.cli", "run", "--replay", f"{DAY}:{DAY}", "--json"],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["steps"] > 0
    for row, reason in zip(_rows(store, ids), MALFORMED.values(), strict=True):
        assert row.status == "FAILED" and reason in row.result and row.applied_at, row
    config = LiveTradingConfig(database={"url": url})
    runner = Runner(config, store, load_history(config.data), (DAY, DAY))
    with store.unit_of_work() as uow:
        held = sorted(str(p.ticker) for p in uow.positions.list_open())
    yield Desk(store, runner, held)
    store.close()


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(max_size=12)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)  # fmt: skip
kinds = st.one_of(
    st.sampled_from(["PAUSE", "RESUME", "HALT", "CLOSE_POSITION"]),  # SCAN: a real scan, slow
    st.sampled_from(["", "scan", "Pause", "HALT ", "DROP TABLE", "CLOSE"]), st.text(max_size=20),
)  # fmt: skip


@st.composite
def payloads(draw: st.DrawFn, held: list[str]) -> tuple[str, bool]:
    """A payload as stored JSON text, and whether it is a JSON object at all."""
    choice = draw(st.integers(0, 3))
    if choice == 0:
        ticker = draw(st.one_of(st.sampled_from(held or ["AAA"]), json_values))
        reason = draw(json_values)
        return json.dumps({"ticker": ticker, "reason": reason}), True
    if choice == 1:
        value = draw(json_values)
        return json.dumps(value), isinstance(value, dict)
    if choice == 2:
        return draw(st.sampled_from(["{", "", "nul", "{'a': 1}", "[1,", "NaN"])), False
    return json.dumps(draw(st.dictionaries(st.text(max_size=8), json_values, max_size=3))), True


@fuzz_settings()
@given(data=st.data(), kind=kinds, stamp=st.sampled_from([STAMP, "x"]))
def test_a_command_row_is_applied_or_failed_with_a_reason_never_half_done(
    desk: Desk, data: st.DataObject, kind: str, stamp: str
) -> None:
    payload, is_object = data.draw(payloads(desk.held))
    before = _counts(desk.store)
    (command_id,) = _insert_raw(desk.store, [(kind, payload, stamp)])
    desk.runner.apply_commands()  # must not raise, whatever the row holds
    (row,) = _rows(desk.store, [command_id])
    assert row.status in ("APPLIED", "FAILED") and row.applied_at is not None and row.result
    well_formed = kind in set(CommandKind) and is_object and stamp != "x"
    if not well_formed:
        assert row.status == "FAILED" and "malformed command row" in row.result, row
    if row.status == "FAILED":
        assert _counts(desk.store) == before, f"failed command {kind!r} wrote: {row.result}"
    with desk.store.unit_of_work() as uow:
        assert uow.commands.pending_ids() == []
