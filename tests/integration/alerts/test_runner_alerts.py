"""The runner wired to the alerts and the after-close report, on SQLite and PostgreSQL.

A replayed window of the demo market (seed 42) through the real ``Runner`` sends a webhook
on 127.0.0.1 exactly: startup, the new signal, the position opened, the stop hit, shutdown.
The after-close report is written once per session (``runner.close_report: every``) or
only for the last one (``last``). A hung or dead alert channel neither stops nor slows
the run: every step is done while the first delivery is still waiting on the server. A
quote batch refused whole is a data feed issue; a day's loss near the limit warns once.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from quant_agent.config import LiveTradingConfig
from quant_agent.market.calendar import get_calendar
from quant_agent.market.history import HistoryStore
from quant_agent.market.source import load_history
from quant_agent.runner import Runner, timeline
from quant_agent.storage.store import Store
from quant_agent.testkit.notify_servers import WebhookServer, free_port
from quant_agent.testkit.quotes import quote

# In this window the demo market's best-scored ticker, KOSI, is bought at the first open
# and stopped out three sessions later (max_positions 1 keeps it to that one position).
WINDOW = (date(2024, 4, 16), date(2024, 4, 19))
SESSIONS = ["2024-04-16", "2024-04-17", "2024-04-18", "2024-04-19"]


@pytest.fixture(scope="module")
def history() -> HistoryStore:
    return load_history(LiveTradingConfig().data)


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    return tmp_path / "reports"


@pytest.fixture
def webhook() -> Iterator[WebhookServer]:
    with WebhookServer() as server:
        yield server


def config(url: str, reports: Path, close_report: str = "off", **alerts: Any) -> LiveTradingConfig:
    settings: dict[str, Any] = {
        "urls": url, "rate_limit_count": 1000, "dedup_window_seconds": 0,
        "retry_backoff_seconds": 0.01, "subject_prefix": "[qa]",
    }  # fmt: skip
    settings.update(alerts)
    return LiveTradingConfig.model_validate({
        "trading": {"max_positions": 1}, "alerts": settings,
        "runner": {"close_report": close_report},
        "performance": {"report_dir": str(reports), "report_format": "md"},
    })  # fmt: skip


def replay(cfg: LiveTradingConfig, store: Store, history: HistoryStore, **kw: Any) -> Runner:
    runner = Runner(cfg, store, history, WINDOW, **kw)
    asyncio.run(runner.run())
    return runner


def titles(webhook: WebhookServer) -> list[str]:
    found = []
    while not webhook.requests.empty():
        found.append(webhook.requests.get_nowait().body["title"])
    return found


def test_a_replayed_window_sends_exactly_the_expected_alerts_in_order(
    store: Store, history: HistoryStore, webhook: WebhookServer, reports: Path
) -> None:
    cfg = config(f"json://127.0.0.1:{webhook.port}/", reports)
    runner = replay(cfg, store, history)
    assert runner.summary.exits == {"STOP_LOSS": 1}
    assert titles(webhook) == [
        "[qa] INFO: quant-agent started (paper)",
        "[qa] INFO: New signal: KOSI",
        "[qa] INFO: Position opened: KOSI",
        "[qa] WARNING: Stop loss hit: KOSI",
        "[qa] INFO: quant-agent stopped",
    ]
    assert not reports.exists()  # close_report: off


@pytest.mark.parametrize(("mode", "days"), [("every", SESSIONS), ("last", SESSIONS[-1:])])
def test_the_after_close_report_is_written_once_per_session_or_for_the_last(
    store: Store, history: HistoryStore, webhook: WebhookServer, reports: Path, mode: str,
    days: list[str],
) -> None:  # fmt: skip
    cfg = config(f"json://127.0.0.1:{webhook.port}/", reports, mode)
    runner = replay(cfg, store, history)
    assert sorted(p.name for p in reports.iterdir()) == [f"report-{d}.md" for d in days]
    assert runner.observers.reports == [reports / f"report-{d}.md" for d in days]
    last = (reports / f"report-{days[-1]}.md").read_text()
    assert "| KOSI |" in last and "STOP_LOSS" in last  # the day's trade
    sent = [t for t in titles(webhook) if "Daily report" in t]
    assert sent == [f"[qa] INFO: Daily report {d}" for d in days]


def test_a_hung_alert_channel_does_not_hold_the_loop(
    store: Store, history: HistoryStore, reports: Path
) -> None:
    gate = threading.Event()
    with WebhookServer(gate=gate) as hung:
        cfg = config(f"json://127.0.0.1:{hung.port}/?rto=60", reports, send_attempts=1)
        try:
            runner = replay(cfg, store, history, alert_drain_seconds=0.2)
            assert hung.waiting.get(timeout=10) == "/"  # the startup alert, never answered
            assert hung.hits == 1  # ... and nothing after it: one worker, still waiting
        finally:
            gate.set()
    steps = sum(1 for _ in timeline(history, get_calendar("NYSE"), cfg, *WINDOW))
    assert (runner.summary.steps, runner.summary.stopped_early) == (steps, False)
    assert runner.summary.exits == {"STOP_LOSS": 1}


def test_a_dead_alert_channel_is_retried_and_the_run_is_unchanged(
    store: Store, history: HistoryStore, reports: Path
) -> None:
    cfg = config(f"json://127.0.0.1:{free_port()}/", reports, send_attempts=2)
    runner = replay(cfg, store, history)
    got = runner.summary
    assert (got.scans, got.signals, got.orders, got.fills, got.trades, got.exits) == (
        8, 1, 3, 2, 1, {"STOP_LOSS": 1})  # fmt: skip
    assert runner.observers.alerts is not None
    (channel,) = runner.observers.alerts.channels
    assert (channel.delivered, channel.failed, channel.attempts) == (0, 5, 10)


def test_a_batch_refused_whole_is_a_feed_issue_and_a_loss_near_the_limit_warns_once(
    store: Store, history: HistoryStore, webhook: WebhookServer, reports: Path
) -> None:
    cfg = config(f"json://127.0.0.1:{webhook.port}/", reports)
    runner = Runner(cfg, store, history, WINDOW)
    engine = runner.engine
    opened = datetime(2024, 4, 16, 13, 30, tzinfo=UTC)
    engine.clock.set(opened)
    engine.executor.start()
    stale = [quote("KOSI", "260.00", "260.10", ts=opened - timedelta(minutes=5))]
    runner.on_quotes(stale)
    runner.on_quotes(stale)  # still down: no second alert
    runner.on_quotes([quote("KOSI", "260.00", "260.10", ts=opened)])  # back: not alerted
    engine.risk.start_day(date(2024, 4, 16), Decimal("101700"))  # today: -1.67 % of 2 %
    assert runner.observers.check_daily_loss(engine.executor.portfolio_view())
    assert not runner.observers.check_daily_loss(engine.executor.portfolio_view())
    runner.observers.stopped("test over")
    assert titles(webhook) == [
        "[qa] WARNING: Data feed issue: replay",
        "[qa] WARNING: Daily loss approaching the limit",
        "[qa] INFO: quant-agent stopped",
    ]
