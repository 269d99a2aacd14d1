"""The database unavailable for a while under the real runner process (``quant-agent run
--replay``): a private PostgreSQL cluster stopped mid-run and started again, and a SQLite
file locked by another connection (an exclusive transaction) mid-run.

While it is down the runner does not crash: it logs CRITICAL, sends a
``database_unavailable`` alert (a real webhook receives it), probes with backoff and sends
nothing to the venue; the protective orders stay working there. Once the database is back
it rebuilds from the database (the restart path) and ends exactly like an uninterrupted
run: the same orders, fills, positions, trades and venue orders, no client order id sent
twice, and the outage recorded as a CRITICAL risk event.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from quant_agent.storage import tables as t
from quant_agent.storage.store import Store
from quant_agent.testkit.notify_servers import WebhookServer
from quant_agent.testkit.runner_process import replay_command, venue_ids_sent_once
from quant_agent.testkit.runner_process import runner_env as replay_env
from quant_agent.testkit.runner_process import state as run_state

from .private_pg import PrivateCluster, pg_bin

TIMEOUT = 180
WINDOW = "2024-02-08:2024-02-12"  # three sessions, three round trips
SPEED = "100000"  # the window replays in a few seconds: an outage lands mid-run
RETRY = {"QA_RUNNER__DB_RETRY_SECONDS": "0.2", "QA_RUNNER__DB_RETRY_MAX_SECONDS": "1"}


class Replay:
    """The runner process, its stderr read line by line so a test can wait on a line."""

    def __init__(self, url: str, cwd: Path, alerts: str | None = None) -> None:
        extra = RETRY | ({"QA_ALERT_URLS": alerts} if alerts else {})
        self.process = subprocess.Popen(
            replay_command(WINDOW, "--speed", SPEED), cwd=cwd, env=replay_env(url, extra),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self.lines.append("<eof>")
            self._changed.notify_all()

    def wait_line(self, text: str, timeout: float = 60) -> str:
        """The first stderr line holding ``text``; fails if the process ends first."""
        with self._changed:
            found = self._changed.wait_for(
                lambda: any(text in x for x in self.lines) or "<eof>" in self.lines, timeout
            )
            hit = [x for x in self.lines if text in x]
        assert found and hit, f"no line with {text!r}:\n{''.join(self.lines[-30:])}"
        return hit[0]

    def finish(self) -> dict[str, Any]:
        self.process.wait(timeout=TIMEOUT)  # stdout is one small JSON: it fits the pipe
        assert self.process.stdout is not None
        out = self.process.stdout.read()
        self._reader.join(timeout=10)
        assert self.process.returncode == 0, "".join(self.lines[-40:])
        return dict(json.loads(out))

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The state of an uninterrupted run of the same replay."""
    where = tmp_path_factory.mktemp("clean")
    url = f"sqlite:///{where / 'clean.db'}"
    done = subprocess.run(replay_command(WINDOW), cwd=where, env=replay_env(url, RETRY),
                          capture_output=True, text=True, timeout=TIMEOUT, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["trades"] >= 1
    return run_state(url)


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    """A private PostgreSQL cluster (never the shared server): this test stops it."""
    found = pg_bin()
    if found is None:
        message = "initdb/pg_ctl not found under /usr/lib/postgresql/*/bin"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message + " (CI installs PostgreSQL in .ci/run)", pytrace=False)
        pytest.skip(message)
    made = PrivateCluster(found)
    try:
        made.start()
        yield made
    finally:
        made.remove()


def wait_for_first_step(url: str, replay: Replay) -> None:
    """Until the runner stored its first finished step (bounded: about 60 s)."""
    for _ in range(600):
        with contextlib.suppress(sa.exc.OperationalError, sa.exc.ProgrammingError):
            store = Store.open(url, upgrade=False)
            try:
                with store.unit_of_work() as uow:
                    if uow.system_state.get("runner.cursor") is not None:
                        return
            finally:
                store.close()
        assert replay.process.poll() is None, "".join(replay.lines[-30:])
        with contextlib.suppress(subprocess.TimeoutExpired):
            replay.process.wait(timeout=0.1)  # the poll interval: returns early if it exits
    raise AssertionError("the runner never stored a step")


def alert_titles(webhook: WebhookServer, timeout: float) -> list[str]:
    titles = [webhook.requests.get(timeout=timeout).body.get("title", "")]
    while not webhook.requests.empty():
        titles.append(webhook.requests.get_nowait().body.get("title", ""))
    return titles


def wait_for_alert(webhook: WebhookServer, text: str) -> None:
    seen: list[str] = []
    for _ in range(20):  # up to 20 deliveries (start, signals, ...) before ours
        seen += alert_titles(webhook, timeout=30)
        if any(text in title for title in seen):
            return
    raise AssertionError(f"no {text!r} alert among {seen}")


def ends_like_an_uninterrupted_run(url: str, replay: Replay, baseline: dict[str, Any]) -> None:
    summary = replay.finish()
    assert summary["stopped_early"] is False
    replay.wait_line("database back after")
    assert run_state(url) == baseline
    venue_ids_sent_once(url)
    store = Store.open(url, upgrade=False)
    try:
        with store.unit_of_work() as uow:
            events = [(e.rule, e.severity.value) for e in uow.risk_events.list()]
    finally:
        store.close()
    assert ("database_unavailable", "CRITICAL") in events


def working_protection(conn: sqlite3.Connection) -> set[tuple[str, str]]:
    """The protective (sell stop and limit) orders working at the paper venue."""
    rows = conn.execute(f"SELECT client_order_id, ticker FROM {t.paper_orders.name} "
                        "WHERE side = 'SELL' AND order_type IN ('STOP', 'LIMIT') "
                        "AND status IN ('ACCEPTED', 'PARTIALLY_FILLED')").fetchall()  # fmt: skip
    return {(str(a), str(b)) for a, b in rows}


def sent_orders(conn: sqlite3.Connection) -> int:
    return int(conn.execute(f"SELECT COUNT(*) FROM {t.paper_orders.name}").fetchone()[0])


def test_sqlite_locked_mid_run_then_released(baseline: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    url = f"sqlite:///{path}"
    with WebhookServer() as webhook:
        replay = Replay(url, tmp_path, alerts=f"json://127.0.0.1:{webhook.port}/")
        try:
            wait_for_first_step(url, replay)
            lock = sqlite3.connect(path, isolation_level=None, timeout=60)
            try:
                lock.execute("BEGIN EXCLUSIVE")  # every write of the runner now fails
                replay.wait_line("database unavailable")
                sent, working = sent_orders(lock), working_protection(lock)
                wait_for_alert(webhook, "database_unavailable")
                assert replay.process.poll() is None  # alive, waiting for the database
                assert (sent_orders(lock), working_protection(lock)) == (sent, working)
            finally:
                lock.execute("ROLLBACK")
                lock.close()
            ends_like_an_uninterrupted_run(url, replay, baseline)
        finally:
            replay.kill()


@pytest.mark.postgres
def test_postgresql_stopped_mid_run_then_restarted(
    baseline: dict[str, Any], cluster: PrivateCluster, tmp_path: Path
) -> None:
    url = cluster.url
    replay = Replay(url, tmp_path)
    try:
        wait_for_first_step(url, replay)
        cluster.stop()
        try:
            replay.wait_line("database unavailable")
            replay.wait_line("database still unavailable (probe 2)")  # backoff, no crash
            assert replay.process.poll() is None
        finally:
            cluster.start()
        ends_like_an_uninterrupted_run(url, replay, baseline)
    finally:
        replay.kill()
