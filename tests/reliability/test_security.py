"""Secrets stay secret, the token file is private, the dashboard is not open to the network.

The leak test sets known fake secrets in the environment (Questrade refresh token, SMTP
password, Twilio SID and token, webhook URLs carrying tokens, the dashboard password, a
database password), then does what an operator does: replays two sessions with the real
runner process (alerts go to local webhook and SMTP servers; the SMTP channel fails, so its
failure path is logged), writes the daily report, sends test alerts, shows the
configuration (and loads one whose database URL carries a password and is refused), stores
and redeems the refresh token against the local Questrade (which refuses it), and renders
every dashboard page. Then it searches every log line, every output, the whole database
dump, every file written (reports included, the token file excepted: it is where the token
belongs), every webhook body and email, every dashboard element and every exception
message: no secret appears anywhere.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from streamlit.testing.v1 import AppTest

from quant_agent.config import load_config
from quant_agent.core.errors import ConfigError
from quant_agent.dashboard import APP_PATH
from quant_agent.dashboard.views import PAGES
from quant_agent.questrade.auth import Authenticator, TokenStore
from quant_agent.questrade.errors import QuestradeError
from quant_agent.testkit.notify_servers import SmtpServer, WebhookServer, free_port
from tests.integration.questrade.conftest import harness

REFRESH = "qt-refresh-7f3a9c1e5b2d4068aa"
HOOK_TOKENS = {"discord": "discord-hook-9a8b7c6d5e4f", "slack": "slack-hook-3c2d1e0f9a8b",
               "hooks": "apprise-tok-6d5c4b3a2f1e"}  # fmt: skip
SECRETS = {
    "QA_QUESTRADE__REFRESH_TOKEN": REFRESH,
    "QA_ALERTS__SMTP_PASSWORD": "smtp-pass-0d9e8f7a6b5c",
    "QA_ALERTS__TWILIO_ACCOUNT_SID": "AC-sid-4c3b2a190817",
    "QA_ALERTS__TWILIO_AUTH_TOKEN": "twilio-tok-5e6f7a8b9c0d",
    "QA_DASHBOARD_PASSWORD": "dash-pass-1a2b3c4d5e6f",
}
DB_PASSWORD = "db-pass-8e7d6c5b4a39"
WINDOW = "2024-02-08:2024-02-09"
TIMEOUT = 300


@pytest.fixture
def servers() -> Iterator[tuple[WebhookServer, SmtpServer]]:
    with WebhookServer() as webhook, SmtpServer() as smtp:
        yield webhook, smtp


def _environment(tmp: Path, webhook: WebhookServer, smtp: SmtpServer) -> dict[str, str]:
    hooks = {k: f"json://127.0.0.1:{webhook.port}/{k}/{v}" for k, v in HOOK_TOKENS.items()}
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    return env | SECRETS | {
        "QA_ALERTS__DISCORD_WEBHOOK": hooks["discord"],
        "QA_ALERTS__SLACK_WEBHOOK": hooks["slack"],
        "QA_ALERT_URLS": hooks["hooks"],
        "QA_ALERTS__EMAIL_ENABLED": "true", "QA_ALERTS__EMAIL_TO": "ops@example.com",
        "QA_ALERTS__SMTP_HOST": "127.0.0.1", "QA_ALERTS__SMTP_PORT": str(smtp.port),
        "QA_ALERTS__SMTP_USER": "trader", "QA_ALERTS__SEND_ATTEMPTS": "1",
        "QA_ALERTS__RETRY_BACKOFF_SECONDS": "0",
        "QA_DATABASE_URL": f"sqlite:///{tmp / 'qa.db'}",
        "QA_PERFORMANCE__REPORT_DIR": str(tmp / "reports"),
        "QA_QUESTRADE__TOKEN_PATH": str(tmp / "var" / "questrade_token.json"),
    }  # fmt: skip


def _cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _clis(env, cwd, args)[0]


def _clis(env: dict[str, str], cwd: Path, *commands: tuple[str, ...]
          ) -> list[subprocess.CompletedProcess[str]]:  # fmt: skip
    """Run CLI commands side by side (they only read what the run wrote)."""
    procs = [subprocess.Popen([sys.executable, "-m", "quant_agent.cli", *args], cwd=cwd, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for args in commands]  # fmt: skip
    done = []
    for args, proc in zip(commands, procs, strict=True):
        out, err = proc.communicate(timeout=TIMEOUT)
        done.append(subprocess.CompletedProcess(list(args), proc.returncode, out, err))
    return done


async def _cli_async(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str]:
    """The CLI as a subprocess while this loop keeps serving (the sandbox lives on it)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "quant_agent.cli", *args, cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    async with asyncio.timeout(TIMEOUT):
        out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


def _questrade(tmp: Path, env: dict[str, str]) -> dict[str, str]:
    """Store the fake refresh token with the real CLI and redeem it against the local
    Questrade, which refuses it; and the same refusal in-process, as an exception."""

    async def main() -> dict[str, str]:
        async with harness(tmp / "sandbox") as h:
            env_q = env | {"QA_QUESTRADE__LOGIN_URL": h.sandbox.login_url}
            code, out = await _cli_async(env_q, tmp, "questrade", "login")
            assert code != 0, out  # refused: the fake token is unknown there
            auth = Authenticator(login_url=h.sandbox.login_url, clock=h.clock,
                                 store=TokenStore(tmp / "other" / "token.json"),
                                 seed_token=SecretStr(REFRESH))  # fmt: skip
            try:
                await auth.session()
            except QuestradeError as exc:
                refused = f"{exc}\n{exc!r}\n{exc.args}"
            else:
                raise AssertionError("the sandbox accepted a made-up refresh token")
            finally:
                await auth.aclose()
            return {"questrade login output": out, "refusal exception": refused}

    return asyncio.run(main())


def _tree_text(node: Any) -> Iterator[str]:
    proto = getattr(node, "proto", None)
    if proto is not None:
        yield str(proto)
    children = getattr(node, "children", {}) or {}
    for child in children.values():
        yield from _tree_text(child)


def _dashboard(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp: Path) -> str:
    """Every element of every page as the browser would receive it, and the login page of
    a non-local bind."""
    monkeypatch.chdir(tmp)
    for key in [k for k in os.environ if k.startswith("QA_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        if key.startswith("QA_"):
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("QA_DASHBOARD_REFRESH_SECONDS", "0")
    texts = []
    at = AppTest.from_file(str(APP_PATH), default_timeout=120).run()
    at.text_input(key="password").input(SECRETS["QA_DASHBOARD_PASSWORD"])
    at.button[0].click().run()
    for page in PAGES:
        at.sidebar.radio(key="page").set_value(page).run()
        assert not at.exception, [e.value for e in at.exception]
        texts += _tree_text(at._tree)
    monkeypatch.setenv("QA_DASHBOARD_HOST", "0.0.0.0")
    login = AppTest.from_file(str(APP_PATH), default_timeout=120).run()
    assert not login.sidebar.radio and login.text_input(key="password") is not None
    texts += _tree_text(login._tree)
    return "\n".join(texts)


def _files(tmp: Path) -> dict[str, str]:
    """Every file written under the run's folder (the token files excepted), the SQLite
    database as a full SQL dump."""
    found = {}
    for path in sorted(p for p in tmp.rglob("*") if p.is_file()):
        if "token.json" in path.name:
            continue
        if path.suffix == ".db":
            with sqlite3.connect(path) as db:
                found[f"dump of {path.name}"] = "\n".join(db.iterdump())
        found[str(path.relative_to(tmp))] = path.read_bytes().decode("utf-8", "replace")
    return found


def _received(webhook: WebhookServer, smtp: SmtpServer) -> tuple[list[str], str]:
    paths, bodies = [], []
    while not webhook.requests.empty():
        request = webhook.requests.get_nowait()
        paths.append(request.path)
        bodies.append(json.dumps(request.body))
    while not smtp.messages.empty():
        bodies.append(smtp.messages.get_nowait().as_string())
    return paths, "\n".join(bodies)


def test_no_secret_appears_in_logs_database_reports_pages_or_errors(
    tmp_path: Path, servers: tuple[WebhookServer, SmtpServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    webhook, smtp = servers
    env = _environment(tmp_path, webhook, smtp)
    seen: dict[str, str] = {}

    run = _cli(env, tmp_path, "run", "--replay", WINDOW, "--json")
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout)["orders"] > 0
    seen |= {"run output": run.stdout, "run log": run.stderr}
    commands = {"report": ("report",), "alerts test": ("alerts", "test"),
                "config check": ("config", "check")}  # fmt: skip
    for name, done in zip(commands, _clis(env, tmp_path, *commands.values()), strict=True):
        seen |= {f"{name} output": done.stdout, f"{name} log": done.stderr}
    assert "report written to" in seen["report output"]
    assert "delivered" in seen["alerts test output"] and "FAILED" in seen["alerts test output"]
    bad_url = env | {"QA_DATABASE_URL": f"mysql://trader:{DB_PASSWORD}@127.0.0.1/qa"}
    with pytest.raises(ConfigError, match="database.url") as refused:
        load_config(None, environ=bad_url, dotenv_path=None)
    seen["bad database URL error"] = f"{refused.value}\n{refused.value!r}"
    seen |= _questrade(tmp_path, env)

    paths, bodies = _received(webhook, smtp)
    assert {p.split("/")[1] for p in paths} == set(HOOK_TOKENS), paths  # every channel used
    seen["alerts received"] = bodies
    seen |= _files(tmp_path)
    assert any(name.startswith("reports") for name in seen), sorted(seen)
    seen["dashboard"] = _dashboard(env, monkeypatch, tmp_path)

    secrets = [*SECRETS.values(), *HOOK_TOKENS.values(), DB_PASSWORD]
    leaks = [(secret, where) for secret in secrets for where, text in seen.items()
             if secret in text]  # fmt: skip
    assert not leaks, leaks


def test_the_token_file_is_private_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "var" / "questrade_token.json"
    path.parent.mkdir()
    path.write_text("{}")
    path.chmod(0o644)  # an older, too open file is replaced, not reused
    previous = os.umask(0)
    try:
        store = TokenStore(path)
        store.save(SecretStr(REFRESH), saved_at=datetime(2026, 3, 3, tzinfo=UTC))
        with store.locked():
            pass
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.lock_path.stat().st_mode) == 0o600
    assert store.load() == SecretStr(REFRESH)
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("host", ["0.0.0.0", "localhost"])
def test_the_dashboard_refuses_a_non_local_bind_without_a_password(tmp_path: Path,
                                                                   host: str) -> None:  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    port = free_port()
    done = _cli(env, tmp_path, "dashboard", "--host", host, "--port", str(port))
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"refusing to bind the dashboard to {host}" in done.stderr
    assert "QA_DASHBOARD_PASSWORD" in done.stderr and "dashboard on" not in done.stdout
