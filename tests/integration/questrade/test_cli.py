"""``quant-agent questrade`` commands against the sandbox on 127.0.0.1 (CliRunner; the
sandbox runs on its own loop thread, the command on the test thread)."""

from __future__ import annotations

import asyncio
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from typer.testing import CliRunner

from quant_agent.cli import app
from quant_agent.core.clock import SimClock
from quant_agent.questrade.auth import TokenStore
from quant_agent.questrade.broker import LoopThread
from quant_agent.questrade.sandbox import QuestradeSandbox
from quant_agent.questrade.sandbox_data import ACCOUNTS

from .conftest import START, history


@contextmanager
def sandbox_thread(**kwargs: object) -> Iterator[tuple[QuestradeSandbox, LoopThread]]:
    loop = LoopThread("cli-sandbox")

    async def serve() -> QuestradeSandbox:
        sandbox = QuestradeSandbox(clock=SimClock(START), history=history(), **kwargs)  # type: ignore[arg-type]
        await sandbox.start()
        return sandbox

    sandbox = loop.run(serve(), 10)
    try:
        yield sandbox, loop
    finally:
        loop.run(sandbox.stop(), 10)
        loop.stop()


def env_for(sandbox: QuestradeSandbox, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "QA_QUESTRADE__LOGIN_URL": sandbox.login_url,
        "QA_QUESTRADE__TOKEN_PATH": str(tmp_path / "token.json"),
        "QA_DATABASE__URL": f"sqlite:///{tmp_path / 'qa.db'}",
        "QUESTRADE_REFRESH_TOKEN": "",
    } | extra


def invoke(args: list[str], env: dict[str, str], stdin: str | None = None) -> str:
    result = CliRunner().invoke(app, ["questrade", *args], env=env, input=stdin)
    assert result.exit_code == 0, result.output
    return result.output


def test_login_from_env_then_check_reports_accounts_data_and_no_orders(tmp_path: Path) -> None:
    with sandbox_thread() as (sandbox, _):
        seed = sandbox.issue_refresh_token()
        env = env_for(sandbox, tmp_path, QUESTRADE_REFRESH_TOKEN=seed)
        login = invoke(["login"], env)
        stored = TokenStore(tmp_path / "token.json").load()
        check = invoke(["check"], env_for(sandbox, tmp_path))

    assert "token accepted" in login and seed not in login
    assert stored is not None and stored.get_secret_value() != seed  # the successor
    assert all(number in check for number in ACCOUNTS)
    assert "market data: real-time" in check
    assert "orders: CANNOT be placed" in check and "personal key" in check


def test_login_prompts_when_the_environment_has_no_token(tmp_path: Path) -> None:
    with sandbox_thread() as (sandbox, _):
        seed = sandbox.issue_refresh_token()
        out = invoke(["login"], env_for(sandbox, tmp_path), stdin=seed + "\n")
    assert "token accepted" in out and seed not in out


def test_check_with_a_partner_key_on_a_partner_and_a_retail_server(tmp_path: Path) -> None:
    for partner, expected in ((True, "orders: can be placed"), (False, "not a partner key")):
        with sandbox_thread(partner=partner) as (sandbox, _):
            env = env_for(sandbox, tmp_path / str(partner), QA_QUESTRADE__ORDER_ENTRY="partner",
                          QUESTRADE_REFRESH_TOKEN=sandbox.issue_refresh_token())  # fmt: skip
            out = invoke(["check"], env)
            assert expected in out
            assert sandbox.desk.placed == 0  # the dry run placed nothing


def test_snapshot_quotes(tmp_path: Path) -> None:
    with sandbox_thread() as (sandbox, _):
        env = env_for(sandbox, tmp_path, QUESTRADE_REFRESH_TOKEN=sandbox.issue_refresh_token())
        out = invoke(["quotes", "AAPL", "MSFT"], env)
    lines = [line for line in out.splitlines() if " bid " in line]
    assert [line.split()[0] for line in lines] == ["AAPL", "MSFT"]


def test_streamed_quotes_survive_a_drop_until_count(tmp_path: Path) -> None:
    with sandbox_thread() as (sandbox, loop):

        async def pusher() -> None:  # push while connected; drop the socket once after 3
            pushed = 0
            while True:
                if sandbox.streams.connected("quotes") and await sandbox.push_quotes():
                    pushed += 1
                    if pushed == 3:
                        sandbox.streams.drop("quotes")
                await asyncio.sleep(0.02)

        task = asyncio.run_coroutine_threadsafe(pusher(), loop.loop)
        try:
            env = env_for(sandbox, tmp_path, QUESTRADE_REFRESH_TOKEN=sandbox.issue_refresh_token())
            out = invoke(["quotes", "AAPL", "--stream", "--count", "6", "--timeout", "30"], env)
        finally:
            task.cancel()
    assert len([line for line in out.splitlines() if line.startswith("AAPL")]) == 6
    assert "6 quotes, 2 connection(s)" in out


def test_sandbox_command_serves_until_stopped(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "quant_agent.cli", "questrade", "sandbox", "--partner"],
        stdout=subprocess.PIPE, env=os.environ | {"COLUMNS": "200"},
    )  # fmt: skip
    text = ""
    try:
        assert proc.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 30
        while "refresh token" not in text:
            assert time.monotonic() < deadline, text
            if selector.select(timeout=1):
                text += os.read(proc.stdout.fileno(), 4096).decode()
    finally:
        proc.terminate()
        proc.wait(10)
    assert "http://127.0.0.1:" in text and "partner" in text
