"""Alerts reach real local servers: SMTP (aiosmtpd) and HTTP webhooks (Discord, Slack, JSON)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from quant_agent.alerts import AlertManager
from quant_agent.config import AlertsConfig
from quant_agent.core.bus import EventBus
from quant_agent.core.clock import SimClock
from quant_agent.core.enums import ExitReason, Severity, Side
from quant_agent.core.events import (
    OrderFilled,
    PositionClosed,
    PositionOpened,
    SignalGenerated,
    SystemStarted,
    SystemStopped,
)
from quant_agent.core.ids import ClientOrderId, FillId, Ticker
from quant_agent.testkit.notify_servers import SmtpServer, WebhookServer, free_port

T0 = datetime(2024, 3, 1, 15, 0, tzinfo=UTC)
ALL_INFO = {"email": "INFO", "sms": "INFO", "webhook": "INFO"}


def settings(**overrides: object) -> AlertsConfig:
    values: dict[str, object] = {
        "channel_min_level": ALL_INFO,
        "subject_prefix": "[qa-test]",
        "retry_backoff_seconds": 0.01,
    }
    values.update(overrides)
    return AlertsConfig.model_validate(values)


@pytest.fixture
def webhook() -> Iterator[WebhookServer]:
    with WebhookServer() as server:
        yield server


def manager(urls: list[str], **overrides: object) -> AlertManager:
    return AlertManager(settings(**overrides), SimClock(T0), urls=urls)


@pytest.mark.parametrize("level", list(Severity))
def test_email_at_each_level_arrives_with_the_configured_subject_and_body(level: Severity) -> None:
    with SmtpServer() as smtp:
        alerts = manager([smtp.url()])
        assert alerts.alert(level, "AAPL crossed its stop", title="Stop watch") == 1
        message = smtp.messages.get(timeout=10)
        alerts.close()
    assert message["Subject"] == f"[qa-test] {level.value}: Stop watch"
    assert message["To"] == "ops@example.com"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and "AAPL crossed its stop" in body.get_content()


def test_seed_email_keys_build_an_smtp_channel() -> None:
    with SmtpServer() as smtp:
        config = settings(
            email_enabled=True, email_to="trader@example.com", smtp_host="127.0.0.1",
            smtp_port=smtp.port, email_from="qa@example.com",
        )  # fmt: skip
        alerts = AlertManager(config, SimClock(T0))
        assert [c.kind for c in alerts.channels] == ["email"]
        alerts.send_email("Daily report", "equity 100,000")
        message = smtp.messages.get(timeout=10)
        alerts.close()
    assert message["To"] == "trader@example.com" and message["From"] == "qa@example.com"
    assert message["Subject"] == "[qa-test] INFO: Daily report"


def test_discord_webhook_receives_discord_json(webhook: WebhookServer) -> None:
    config = settings(discord_webhook="https://discord.com/api/webhooks/123456/tokenABC")
    alerts = AlertManager(config, SimClock(T0))
    (channel,) = alerts.channels
    assert channel.kind == "webhook" and "tokenABC" not in channel.label
    channel.plugin.notify_url = f"{webhook.base}/api/webhooks"  # the plugin's endpoint
    alerts.alert(Severity.WARNING, "feed stale for 30 s", event_type="data_feed_issue",
                 title="Data feed issue")  # fmt: skip
    request = webhook.requests.get(timeout=10)
    alerts.close()
    assert request.path == "/api/webhooks/123456/tokenABC"
    assert request.body["content"] == "[qa-test] WARNING: Data feed issue\r\nfeed stale for 30 s"


def test_slack_webhook_receives_slack_json(webhook: WebhookServer) -> None:
    alerts = manager(["slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"])
    (channel,) = alerts.channels
    channel.plugin.webhook_url = f"{webhook.base}/services"
    alerts.send_webhook("Position opened: AAPL", "Bought 10 AAPL at 180.00")
    request = webhook.requests.get(timeout=10)
    alerts.close()
    assert request.path == "/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"
    (attachment,) = request.body["attachments"]
    assert attachment["title"] == "[qa-test] INFO: Position opened: AAPL"
    assert attachment["text"] == "Bought 10 AAPL at 180.00"


def test_json_webhook_carries_title_message_and_level(webhook: WebhookServer) -> None:
    alerts = manager([f"json://127.0.0.1:{webhook.port}/hook"])
    alerts.alert("CRITICAL", "halted: daily loss", title="Trading HALTED")
    request = webhook.requests.get(timeout=10)
    alerts.close()
    assert request.path == "/hook"
    assert request.body["title"] == "[qa-test] CRITICAL: Trading HALTED"
    assert request.body["message"] == "halted: daily loss"
    assert request.body["type"] == "failure"


@pytest.mark.parametrize(("dedup", "expected"), [(300.0, 1), (0.0, 5)])
def test_a_thousand_identical_alerts_give_the_limit_plus_one_summary(
    webhook: WebhookServer, dedup: float, expected: int
) -> None:
    alerts = manager([f"json://127.0.0.1:{webhook.port}/"], rate_limit_count=5,
                     dedup_window_seconds=dedup)  # fmt: skip
    started = time.monotonic()
    for _ in range(1000):
        alerts.alert(Severity.WARNING, "quote rejected", title="Data feed issue")
    assert time.monotonic() - started < 1.0  # the caller never waits on delivery
    alerts.close()
    received = []
    while not webhook.requests.empty():
        received.append(webhook.requests.get_nowait().body)
    assert len(received) == expected + 1
    assert all(r["message"] == "quote rejected" for r in received[:-1])
    assert received[-1]["title"] == "suppressed alerts"
    assert received[-1]["message"].startswith(f"{1000 - expected} alert(s) suppressed")


def test_a_down_channel_neither_blocks_nor_raises_and_is_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    alerts = manager([f"json://user:s3cretpass@127.0.0.1:{free_port()}/"], send_attempts=3)
    with caplog.at_level(logging.WARNING):
        started = time.monotonic()
        assert alerts.alert(Severity.CRITICAL, "connection lost") == 1
        assert time.monotonic() - started < 0.5
        assert alerts.drain(timeout=30)
        alerts.close()
    (channel,) = alerts.channels
    assert (channel.attempts, channel.delivered, channel.failed) == (3, 0, 1)
    assert "not delivered" in caplog.text and "s3cretpass" not in caplog.text


def test_a_failing_channel_delivers_on_a_later_attempt() -> None:
    with WebhookServer(fail_first=2) as flaky:
        alerts = manager([f"json://127.0.0.1:{flaky.port}/"], send_attempts=3)
        alerts.alert(Severity.WARNING, "retry me")
        request = flaky.requests.get(timeout=10)
        alerts.close()
    assert request.body["message"] == "retry me" and flaky.hits == 3
    assert alerts.channels[0].delivered == 1


def test_a_scripted_day_on_the_bus_produces_the_expected_alert_sequence(
    webhook: WebhookServer,
) -> None:
    clock = SimClock(T0)
    bus = EventBus(clock)
    alerts = AlertManager(settings(), clock, urls=[f"json://127.0.0.1:{webhook.port}/"])
    alerts.subscribe(bus)
    ts = {"ts_event": T0, "ts_init": T0}
    aapl = Ticker("AAPL")
    bus.publish(SystemStarted(mode="paper", **ts))
    bus.publish(SignalGenerated(ticker=aapl, score=82.5, **ts))
    bus.publish(PositionOpened(ticker=aapl, quantity=10, entry_price=Decimal("180"), **ts))
    bus.publish(OrderFilled(client_order_id=ClientOrderId("c1"), fill_id=FillId("f1"), ticker=aapl,
                            side=Side.SELL, quantity=10, price=Decimal("171"),
                            commission=Decimal("1"), **ts))  # fmt: skip
    stop = ExitReason.STOP_LOSS
    bus.publish(PositionClosed(ticker=aapl, quantity=10, exit_price=Decimal("171"),
                               realized_pnl=Decimal("-91"), reason=stop, **ts))  # fmt: skip
    bus.publish(SystemStopped(reason="end of session", **ts))
    alerts.close()
    titles = []
    while not webhook.requests.empty():
        titles.append(webhook.requests.get_nowait().body["title"])
    assert titles == [
        "[qa-test] INFO: quant-agent started (paper)",
        "[qa-test] INFO: New signal: AAPL",
        "[qa-test] INFO: Position opened: AAPL",
        "[qa-test] WARNING: Stop loss hit: AAPL",
        "[qa-test] INFO: quant-agent stopped",
    ]


def test_daily_loss_approaching_alerts_once_per_session(webhook: WebhookServer) -> None:
    alerts = manager([f"json://127.0.0.1:{webhook.port}/"])
    assert not alerts.check_daily_loss("2024-03-01", -1_500.0, 100_000.0, 2.0)
    assert alerts.check_daily_loss("2024-03-01", -1_600.0, 100_000.0, 2.0)
    assert not alerts.check_daily_loss("2024-03-01", -1_900.0, 100_000.0, 2.0)
    alerts.close()
    request = webhook.requests.get(timeout=1)
    assert request.body["title"] == "[qa-test] WARNING: Daily loss approaching the limit"
    assert webhook.requests.empty()
