"""Who may see the dashboard: 127.0.0.1 by default; another bind address needs
QA_DASHBOARD_PASSWORD, and a wrong password shows nothing but the login."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from quant_agent.cli import app
from quant_agent.dashboard import APP_PATH
from quant_agent.dashboard.auth import check_bind, password_matches
from quant_agent.dashboard.launch import streamlit_argv

from .conftest import SHORT_WINDOW, Seeded

SECRET = "correct horse battery"


@pytest.fixture
def seeded(make_seeded: Callable[..., Seeded]) -> Seeded:
    return make_seeded("sqlite", SHORT_WINDOW)


def test_loopback_needs_no_password_and_any_other_address_does() -> None:
    assert check_bind("127.0.0.1", {}) is None
    for host in ("0.0.0.0", "192.168.1.20", "localhost", "::"):
        refused = check_bind(host, {})
        assert refused and "QA_DASHBOARD_PASSWORD" in refused and host in refused
        assert check_bind(host, {"QA_DASHBOARD_PASSWORD": SECRET}) is None


def test_passwords_compare_exactly() -> None:
    assert password_matches(SECRET, SECRET)
    assert not password_matches(SECRET + " ", SECRET)
    assert not password_matches("", SECRET)


def test_cli_refuses_a_public_bind_without_a_password() -> None:
    result = CliRunner().invoke(app, ["dashboard", "--host", "0.0.0.0"],
                                env={"QA_DASHBOARD_PASSWORD": None})  # fmt: skip
    assert result.exit_code == 2
    assert "refusing to bind the dashboard to 0.0.0.0" in result.output
    assert "QA_DASHBOARD_PASSWORD" in result.output


def test_streamlit_is_started_on_the_given_address_without_telemetry() -> None:
    argv = streamlit_argv("127.0.0.1", 8765)
    assert argv[argv.index("--server.address") + 1] == "127.0.0.1"
    assert argv[argv.index("--server.port") + 1] == "8765"
    assert argv[argv.index("--browser.gatherUsageStats") + 1] == "false"
    assert argv[argv.index("run") + 1] == str(APP_PATH)


def _app(seeded: Seeded, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> AppTest:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QA_DATABASE_URL", seeded.url)
    monkeypatch.setenv("QA_DASHBOARD_REFRESH_SECONDS", "0")
    monkeypatch.delenv("QA_DASHBOARD_PASSWORD", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    at = AppTest.from_file(str(APP_PATH), default_timeout=60)
    return at.run()


def _shows_only_the_login(at: AppTest) -> None:
    assert not at.metric and not at.dataframe and not at.sidebar.radio
    assert not at.exception


def test_a_wrong_password_shows_nothing_but_the_login(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    at = _app(seeded, monkeypatch, tmp_path, QA_DASHBOARD_HOST="0.0.0.0",
              QA_DASHBOARD_PASSWORD=SECRET)  # fmt: skip
    _shows_only_the_login(at)
    at.text_input(key="password").input("guess")
    at.button[0].click().run()
    _shows_only_the_login(at)
    assert [e.value for e in at.error] == ["wrong password"]
    at.text_input(key="password").input(SECRET)
    at.button[0].click().run()
    assert at.sidebar.radio(key="page").value == "Overview"
    assert any(m.label == "Equity" for m in at.metric)


def test_the_app_itself_refuses_a_public_bind_without_a_password(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    at = _app(seeded, monkeypatch, tmp_path, QA_DASHBOARD_HOST="0.0.0.0")
    _shows_only_the_login(at)
    assert "QA_DASHBOARD_PASSWORD" in at.error[0].value
