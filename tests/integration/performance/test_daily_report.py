"""The daily report: rendered HTML loads in headless Chromium; CLI writes HTML and Markdown."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from quant_agent.cli import app
from quant_agent.config import PerformanceConfig
from quant_agent.core.clock import SimClock
from quant_agent.core.enums import ExitReason, Severity
from quant_agent.core.ids import Ticker
from quant_agent.core.records import EquitySnapshot, RiskEventRecord, TradeRecord
from quant_agent.daily_report import EQUITY_CHART_ID, build_report, render_html
from quant_agent.live_performance import LivePerformanceTracker
from quant_agent.market.calendar import get_calendar
from quant_agent.storage.store import Store
from quant_agent.testkit.notify_servers import WebhookServer

CAL = get_calendar("NYSE")
DAYS = CAL.trading_days(date(2024, 1, 2), date(2024, 3, 28))
DAY = date(2024, 3, 28)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip


def seed(store: Store) -> None:
    with store.unit_of_work() as uow:
        for i, day in enumerate(DAYS):
            eq = Decimal(100_000 + 150 * i - (4_000 if 20 <= i < 30 else 0))
            uow.equity.add(
                EquitySnapshot(
                    ts=CAL.session_close(day),
                    kind="daily",
                    equity=eq,
                    cash=eq / 2,
                    positions_value=eq / 2,
                    realized_pnl=Decimal(0),
                    unrealized_pnl=Decimal(0),
                )
            )
        uow.trades.add(
            TradeRecord(
                ticker=Ticker("MSFT"),
                entry_date=date(2024, 3, 20),
                exit_date=DAY,
                entry_price=Decimal("400"),
                exit_price=Decimal("380"),
                quantity=5,
                pnl=Decimal("-102"),
                pnl_pct=-0.05,
                hold_days=6,
                commission=Decimal("2"),
                exit_reason=ExitReason.STOP_LOSS,
                created_at=CAL.session_close(DAY),
            )
        )
        uow.risk_events.add(
            RiskEventRecord(
                ts=CAL.session_close(DAY) - timedelta(hours=1),
                event_type="breach",
                severity=Severity.WARNING,
                message="sector exposure 58% of 60%",
                rule="sector",
            )
        )
    # fmt: skip


def benchmark() -> pd.Series:
    index = pd.DatetimeIndex([pd.Timestamp(d) for d in DAYS])
    return pd.Series([470.0 + 0.5 * i for i in range(len(DAYS))], index=index)


def test_report_html_renders_in_headless_chromium(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("CI installs Debian's chromium (.ci/run)")
        pytest.skip("Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    store = Store.open(f"sqlite:///{tmp_path / 'qa.db'}")
    seed(store)
    tracker = LivePerformanceTracker(store, SimClock(CAL.session_close(DAY)), CAL,
                                     PerformanceConfig(), benchmark=benchmark())  # fmt: skip
    page_file = tmp_path / "report.html"
    page_file.write_text(render_html(build_report(tracker, DAY)), encoding="utf-8")
    store.close()
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("request", lambda req: requests.append(req.url))
        page.goto(page_file.as_uri())
        page.wait_for_selector(f"#{EQUITY_CHART_ID} .main-svg", timeout=15_000)
        traces = page.locator(f"#{EQUITY_CHART_ID} .scatterlayer .trace").count()
        title = page.locator(f"#{EQUITY_CHART_ID} .gtitle").text_content() or ""
        text = page.locator("body").inner_text()
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert errors == []
    assert all(url.startswith(("file://", "data:")) for url in requests), requests
    assert traces == 2 and "Equity vs benchmark" in title
    assert "MSFT" in text and "sector exposure 58% of 60%" in text
    if artifacts := os.environ.get("QA_TEST_ARTIFACTS"):
        shutil.copy(tmp_path / "report.png", Path(artifacts) / "daily_report.png")


def test_report_command_writes_markdown_and_html(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'qa.db'}"
    store = Store.open(url)
    seed(store)
    store.close()
    env = {"QA_DATABASE_URL": url}
    runner = CliRunner()
    md = tmp_path / "r.md"
    result = runner.invoke(app, ["report", "--date", "2024-03-28", "--format", "md",
                                 "--out", str(md)], env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    text = md.read_text()
    assert text.startswith("# Daily report 2024-03-28") and "| MSFT |" in text
    assert "STOP_LOSS" in text and "sector exposure" in text
    png = ["--png"] if Path(CHROMIUM).exists() else []
    result = runner.invoke(app, ["report", "--date", "2024-03-28", "--out", str(tmp_path), *png],
                           env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    page = (tmp_path / "report-2024-03-28.html").read_text()
    if png:  # kaleido renders the charts with the same Debian chromium
        assert (tmp_path / "equity-2024-03-28.png").read_bytes().startswith(b"\x89PNG")
    assert EQUITY_CHART_ID in page and "<script src=" not in page  # plotly.js inline
    closed = runner.invoke(app, ["report", "--date", "2024-03-29", "--out", str(tmp_path)],
                           env=env)  # fmt: skip
    assert closed.exit_code == 2 and "not a NYSE session" in closed.output


def test_alerts_test_command_reaches_every_channel() -> None:
    with WebhookServer() as hook:
        result = CliRunner().invoke(
            app, ["alerts", "test"], env={"QA_ALERT_URLS": f"json://127.0.0.1:{hook.port}/a"}
        )
        request = hook.requests.get(timeout=10)
    assert result.exit_code == 0, result.output
    assert "delivered" in result.output and request.body["message"] == "quant-agent test alert"


def test_after_close_report_is_written_and_sent(tmp_path: Path) -> None:
    from quant_agent.alerts import AlertManager
    from quant_agent.config import AlertsConfig
    from quant_agent.daily_report import run_after_close_report

    store = Store.open(f"sqlite:///{tmp_path / 'qa.db'}")
    seed(store)
    clock = SimClock(datetime(2024, 3, 28, 21, 0, tzinfo=UTC))
    tracker = LivePerformanceTracker(store, clock, CAL, PerformanceConfig())
    with WebhookServer() as hook:
        alerts = AlertManager(AlertsConfig(), clock, urls=[f"json://127.0.0.1:{hook.port}/"])
        path = run_after_close_report(tracker, DAY, tmp_path / "reports", "html", alerts)
        request = hook.requests.get(timeout=10)
        alerts.close()
    store.close()
    assert path == tmp_path / "reports" / "report-2024-03-28.html" and path.exists()
    assert request.body["title"] == "[quant-agent] INFO: Daily report 2024-03-28"
    assert "trades today 1" in request.body["message"]
