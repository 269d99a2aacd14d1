"""The runner process killed with SIGKILL at named instants (``QA_CRASH_AT``), then started
again with the same command: the final orders, fills, positions and trades equal those of
an uninterrupted run of the same replay, and no client order id reached the venue twice.
Also: a replay interrupted mid-way resumes from the stored simulated time, HALTED and
PAUSED survive a restart, commands are applied and marked done, and the demo replay
prints a summary with at least one closed trade."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from quant_agent.core.enums import CommandKind, CommandStatus, OrderStatus, TradingState
from quant_agent.core.records import CommandRecord
from quant_agent.storage.store import Store
from quant_agent.testkit import runner_process
from quant_agent.testkit.runner_process import runner_env, state, system_value, venue_ids_sent_once

WINDOW = "2024-02-08:2024-02-15"


def run_cli(
    url: str, cwd: Path, *args: str, crash: str | None = None, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return runner_process.run_cli(url, cwd, WINDOW, *args, crash=crash, extra=extra)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    where = tmp_path_factory.mktemp("baseline")
    url = f"sqlite:///{where / 'clean.db'}"
    done = run_cli(url, where)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["trades"] >= 1 and summary["resumed_from"] is None
    return state(url)


@pytest.mark.parametrize(
    ("crash", "left_behind"),
    [
        ("submit:1", "an order stored SUBMITTED that the venue never saw"),
        ("submit:4", "an order stored SUBMITTED that the venue never saw"),
        ("after_fill:1", "a fill recorded before its position row"),
        ("after_fill:5", "a fill recorded before its position row"),
    ],
)
def test_sigkill_then_restart_ends_like_an_uninterrupted_run(
    baseline: dict[str, Any], database_url: str, tmp_path: Path, crash: str, left_behind: str
) -> None:
    killed = run_cli(database_url, tmp_path, crash=crash)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    crashed = state(database_url)
    if crash.startswith("submit"):
        sent = {row[0] for row in crashed["paper_orders"]}
        assert any(o[1] == OrderStatus.SUBMITTED and o[0] not in sent
                   for o in crashed["orders"]), left_behind  # fmt: skip
    else:
        applied = int(system_value(database_url, "positions.fill_cursor") or 0)
        assert applied < len(crashed["fills"]), left_behind
    again = run_cli(database_url, tmp_path)
    assert again.returncode == 0, again.stderr
    assert state(database_url) == baseline
    venue_ids_sent_once(database_url, killed.stderr, again.stderr)


def test_interrupted_replay_resumes_from_stored_time_and_matches(
    baseline: dict[str, Any], database_url: str, tmp_path: Path
) -> None:
    url = database_url
    assert run_cli(url, tmp_path, crash="event:17").returncode == -signal.SIGKILL
    cursor = system_value(url, "runner.cursor")
    assert cursor is not None
    again = run_cli(url, tmp_path)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["resumed_from"] == cursor["at"] and summary["steps"] < 42
    assert state(url) == baseline


def test_halted_and_paused_survive_restart_and_commands_are_marked_done(
    database_url: str, tmp_path: Path
) -> None:
    store = Store.open(database_url)
    with store.unit_of_work() as uow:
        uow.commands.add(CommandRecord(kind=CommandKind.HALT, created_at=_ts(),
                                       payload={"reason": "operator halt"}))  # fmt: skip
        uow.commands.add(CommandRecord(kind=CommandKind.CLOSE_POSITION, created_at=_ts(),
                                       payload={"ticker": "NOPE"}))  # fmt: skip
    done = run_cli(database_url, tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["trading_state"] == "HALTED" and summary["orders"] == 0
    with store.unit_of_work() as uow:
        commands = uow.commands.list()
        uow.commands.add(CommandRecord(kind=CommandKind.PAUSE, created_at=_ts()))
        uow.commands.add(CommandRecord(kind=CommandKind.RESUME, created_at=_ts()))
    assert [c.status for c in commands] == [CommandStatus.APPLIED, CommandStatus.FAILED]
    assert "no open position in NOPE" in (commands[1].result or "")
    with store.unit_of_work() as uow:  # still HALTED before the runner reads the commands
        assert uow.system_state.get("trading_state")["state"] == TradingState.HALTED
    resumed = run_cli(database_url, tmp_path, "--replay", "2024-02-16:2024-02-16")
    assert resumed.returncode == 0, resumed.stderr
    with store.unit_of_work() as uow:
        assert all(c.status is CommandStatus.APPLIED for c in uow.commands.list()[2:])
        assert uow.system_state.get("trading_state")["state"] == TradingState.RUNNING
    store.close()


def _ts() -> Any:
    from datetime import UTC, datetime

    return datetime(2024, 2, 1, tzinfo=UTC)


def test_sigterm_stops_gracefully_after_the_current_step(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'term.db'}"
    env = runner_env(url)
    command = runner_process.replay_command(WINDOW, "--speed", "36000")
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        cursor = None
        for _ in range(600):  # bounded: up to ~60 s for the first steps to be stored
            if process.poll() is not None:
                break
            try:
                store = Store.open(url, upgrade=False)
                with store.unit_of_work() as uow:
                    cursor = uow.system_state.get("runner.cursor")
                store.close()
            except sa.exc.OperationalError:
                cursor = None  # not migrated yet
            if cursor is not None:
                break
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.1)  # poll interval: returns early if it exits
        assert cursor is not None, "the runner never stored a step"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    summary = json.loads(out)
    assert summary["stopped_early"] is True and summary["steps"] < 42
