"""The dashboard served by ``quant-agent dashboard`` on 127.0.0.1, opened in headless
Chromium (Debian's, driven by playwright): every page renders without a Streamlit exception,
the halt button works end to end, and a screenshot of each page is kept as an artifact."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from quant_agent.dashboard.views import PAGES
from quant_agent.storage import tables as t

from .conftest import FULL_WINDOW, Seeded

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip
TIMEOUT_MS = 60_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _until(what: str, ready: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Poll ``ready`` (bounded) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := ready():
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def served(make_seeded: Callable[..., Seeded], tmp_path: Path) -> Iterator[tuple[str, Seeded]]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("CI installs Debian's chromium (.ci/run)")
        pytest.skip("Debian chromium is not installed")
    seeded = make_seeded("sqlite", FULL_WINDOW)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "QA_DASHBOARD_PASSWORD"}
    env.update(QA_DATABASE_URL=seeded.url, QA_DASHBOARD_REFRESH_SECONDS="1")
    cli = [sys.executable, "-c", "from quant_agent.cli import app; app()"]
    proc = subprocess.Popen([*cli, "dashboard", "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        try:
            return httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        _until("the dashboard server", healthy)
        yield url, seeded
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def _db_halt(seeded: Seeded) -> Any:
    with seeded.store.unit_of_work() as uow:
        stmt = select(t.commands).where(t.commands.c.kind == "HALT")
        return uow.connection.execute(stmt).first()


def test_every_page_renders_in_chromium_and_halt_works_end_to_end(
    served: tuple[str, Seeded], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    url, seeded = served
    shots = Path(os.environ.get("QA_TEST_ARTIFACTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        page.wait_for_selector('[data-testid="stMetric"]')
        for name in PAGES:
            page.locator('[data-testid="stSidebar"]').get_by_text(name, exact=True).click()
            page.locator("h2", has_text=name).wait_for()
            page.wait_for_selector('[data-testid="stMetric"]')
            if name == "Performance":  # plotly draws after the rest
                page.wait_for_selector(".js-plotly-plot .main-svg")
            assert page.locator('[data-testid="stException"]').count() == 0, name
            page.screenshot(path=shots / f"dashboard_{name.lower()}.png", full_page=True)

        page.get_by_label("Halt reason").fill("halted in the browser")
        page.get_by_label("Halt reason").press("Enter")
        page.get_by_role("button", name="Halt", exact=True).click()
        row = _until("the HALT command row", lambda: _db_halt(seeded))
        assert (row.status, row.payload) == ("PENDING", {"reason": "halted in the browser"})
        # the runner applies it at its first step (own thread: playwright's loop runs here)
        with ThreadPoolExecutor(1) as pool:
            pool.submit(seeded.replay, date(2024, 3, 11)).result(timeout=120)
        page.locator('[data-testid="stMetricValue"]', has_text="HALTED").wait_for()
        page.get_by_text(f"HALT #{row.id}: APPLIED", exact=False).wait_for()
        # the auto-refresh redrew the page without losing its state
        assert page.get_by_label("Halt reason").input_value() == "halted in the browser"
        assert page.locator("h2", has_text="Settings").count() == 1
        assert page.locator('[data-testid="stException"]').count() == 0
        page.screenshot(path=shots / "dashboard_settings_halted.png", full_page=True)
        browser.close()
    assert len(list(shots.glob("dashboard_*.png"))) == len(PAGES) + 1
