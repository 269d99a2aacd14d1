"""AlertManager: turn bus events and direct calls into notifications, delivered off the loop.

Channels are Apprise URLs (``QA_ALERT_URLS`` plus the seed keys ``email_to``/SMTP,
``discord_webhook``, ``slack_webhook`` and Twilio), each classified as ``email``, ``sms`` or
``webhook``. ``alert()`` and the bus handlers only decide (rules, levels, deduplication,
per-channel rate limits, which ``alert_rules.UNTHROTTLED`` keys skip; ``alert_rules.py``)
and enqueue: they never block on the network and never raise. A worker thread delivers with
retries; a failure ends in a log line with the channel's URL masked. Apprise's own 5.5 s
throttle is set to 0 (the worker paces).
"""

from __future__ import annotations

import logging
import queue
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import apprise

from quant_agent.alert_rules import (
    ALERTED_EVENTS,
    UNTHROTTLED,
    ChannelThrottle,
    Deduplicator,
    at_least,
    daily_loss_alert_due,
    describe,
    higher,
)
from quant_agent.config import AlertsConfig
from quant_agent.core.bus import EventBus
from quant_agent.core.clock import Clock
from quant_agent.core.enums import Severity
from quant_agent.core.events import RiskBreach
from quant_agent.logs import add_secrets, scrub

log = logging.getLogger(__name__)

EMAIL_SCHEMAS = frozenset({"mailto", "mailtos", "email"})
SMS_SCHEMAS = frozenset(
    {"twilio", "sns", "clicksend", "d7sms", "vonage", "nexmo", "plivo", "sinch", "msg91",
     "bulksms", "smseagle", "msgbird", "burstsms", "kavenegar", "httpsms", "seven"}
)  # fmt: skip
_NOTIFY_TYPE = {
    Severity.INFO: apprise.NotifyType.INFO,
    Severity.WARNING: apprise.NotifyType.WARNING,
    Severity.CRITICAL: apprise.NotifyType.FAILURE,
}


def split_urls(text: str | None) -> list[str]:
    """Split ``QA_ALERT_URLS`` on spaces and commas."""
    return [part for part in re.split(r"[\s,]+", text or "") if part]


_SECRET_QUERY_KEYS = ("key", "token", "secret", "pass", "sid", "auth", "webhook")


def url_secrets(url: str) -> list[str]:
    """The parts of an Apprise URL that may be secret: the URL, its password, its path
    segments (webhook ids and tokens) and its key/token query values; logs scrub them."""
    parts = urlsplit(url)
    found = [url, unquote(parts.password or ""), unquote(parts.username or "")]
    found += [unquote(p) for p in parts.path.split("/") if len(p) >= 8]
    found += [
        v for k, v in parse_qsl(parts.query) if any(w in k.lower() for w in _SECRET_QUERY_KEYS)
    ]
    if (
        parts.hostname
        and parts.hostname not in {"localhost", "127.0.0.1"}
        and "." not in parts.hostname
    ):
        found.append(parts.hostname)  # discord://WEBHOOK_ID/TOKEN keeps its id as the "host"
    return [f for f in found if f]


def channel_kind(url: str) -> str:
    schema = url.split("://", 1)[0].lower()
    if schema in EMAIL_SCHEMAS:
        return "email"
    if schema in SMS_SCHEMAS:
        return "sms"
    return "webhook"


def configured_urls(config: AlertsConfig) -> list[str]:
    """Every Apprise URL the configuration names, secrets included (never log these)."""
    urls = split_urls(config.urls.get_secret_value() if config.urls else None)
    if config.email_enabled and config.email_to and config.smtp_host:
        to = quote(config.email_to, safe="@")
        query = f"to={to}&from={quote(config.email_from, safe='@')}"
        if config.smtp_user:
            password = config.smtp_password.get_secret_value() if config.smtp_password else ""
            login = f"{quote(config.smtp_user, safe='')}:{quote(password, safe='')}@"
            urls.append(f"mailtos://{login}{config.smtp_host}:{config.smtp_port}/?{query}")
        else:
            urls.append(f"mailto://{config.smtp_host}:{config.smtp_port}/?{query}&mode=insecure")
    for secret in (config.discord_webhook, config.slack_webhook):
        if secret is not None:
            urls.append(secret.get_secret_value())
    sid, token = config.twilio_account_sid, config.twilio_auth_token
    if sid and token and config.sms_from and config.sms_to:
        urls.append(
            f"twilio://{sid.get_secret_value()}:{token.get_secret_value()}"
            f"@{config.sms_from}/{config.sms_to}"
        )
    return urls


@dataclass(eq=False)
class Channel:
    """One Apprise destination; ``plugin`` is the Apprise plugin instance that sends."""

    kind: str
    plugin: Any
    label: str  # the URL with secrets masked, safe to log
    throttle: ChannelThrottle
    attempts: int = 0
    delivered: int = 0
    failed: int = 0

    @classmethod
    def from_url(cls, url: str, throttle: ChannelThrottle) -> Channel:
        plugin = apprise.Apprise.instantiate(url)
        if not plugin:
            raise ValueError(f"not a valid Apprise URL: {scrub(url).split('://', 1)[0]}://***")
        plugin.request_rate_per_sec = 0  # apprise sleeps ~5.5 s between sends otherwise
        label = str(plugin.url(privacy=True))  # type: ignore[no-untyped-call]
        # Apprise's privacy form keeps path tokens (json://host/hook/TOKEN): mask them too.
        for secret in sorted(url_secrets(url), key=len, reverse=True):
            if len(secret) >= 4:
                label = label.replace(secret, "***")
        return cls(channel_kind(url), plugin, label, throttle)


@dataclass(frozen=True, slots=True)
class _Delivery:
    channel: Channel
    level: Severity
    title: str
    body: str


class AlertManager:
    """Rules, rate limits and an off-loop delivery worker over Apprise channels."""

    def __init__(self, config: AlertsConfig, clock: Clock, urls: Iterable[str] | None = None):
        self._config = config
        self._clock = clock
        all_urls = configured_urls(config) if urls is None else list(urls)
        add_secrets(secret for url in all_urls for secret in url_secrets(url))
        self.channels = [
            Channel.from_url(u, ChannelThrottle(config.rate_limit_count, config.rate_limit_seconds))
            for u in all_urls
        ]
        self._dedup = Deduplicator(config.dedup_window_seconds)
        self._lock = threading.Lock()
        self._queue: queue.Queue[_Delivery | None] = queue.Queue(maxsize=config.queue_size)
        self._idle = threading.Condition()
        self._pending = 0
        self._stop = threading.Event()
        self._loss_warned: set[object] = set()
        self._worker = threading.Thread(target=self._run, name="alert-delivery", daemon=True)
        self._worker.start()

    # ------------------------------------------------------------------ public interface

    def alert(
        self,
        level: Severity | str,
        message: str,
        *,
        event_type: str = "manual",
        title: str | None = None,
    ) -> int:
        """Queue an alert on the channels its rule allows; return how many were queued."""
        try:
            return self._alert(Severity(level), message, event_type, title)
        except Exception:  # noqa: BLE001 - alerting must never break the caller
            log.exception("alert %s could not be queued", event_type)
            return 0

    def send_email(self, subject: str, body: str, level: Severity = Severity.INFO) -> int:
        return self._direct({"email"}, level, subject, body)

    def send_sms(self, body: str, level: Severity = Severity.CRITICAL) -> int:
        return self._direct({"sms"}, level, body[:60], body)

    def send_webhook(self, title: str, body: str, level: Severity = Severity.INFO) -> int:
        return self._direct({"webhook"}, level, title, body)

    def send_test(self) -> int:
        """Queue one test alert on every channel, bypassing rules and limits."""
        for channel in self.channels:
            self._enqueue(channel, Severity.INFO, "test alert", "quant-agent test alert")
        return len(self.channels)

    def check_daily_loss(
        self, session: object, day_pnl: float, start_equity: float, max_daily_loss_pct: float
    ) -> bool:
        """Alert once per session when the day's loss nears the limit; True if it alerted."""
        due = daily_loss_alert_due(
            day_pnl, start_equity, max_daily_loss_pct, self._config.daily_loss_warn_fraction
        )
        if not due or session in self._loss_warned:
            return False
        self._loss_warned.add(session)
        used = -day_pnl / start_equity * 100.0
        self.alert(
            Severity.WARNING,
            f"Day's loss {day_pnl:,.2f} is {used:.2f}% of start equity; "
            f"the limit is {max_daily_loss_pct:.2f}%",
            event_type="daily_loss_approaching",
            title="Daily loss approaching the limit",
        )
        return True

    @property
    def sends_daily_report(self) -> bool:
        return self._config.send_daily_report

    def subscribe(self, bus: EventBus) -> None:
        """Alert on the bus events the rules cover."""
        for event_type in ALERTED_EVENTS:
            bus.subscribe(event_type, self.on_event)

    def on_event(self, event: object) -> None:
        spec = describe(event)
        if spec is None:
            return
        if spec.event_type in ("position_opened",) and not self._config.alert_on_entry:
            return
        closing = ("position_closed", "stop_loss_hit", "take_profit_hit")
        if spec.event_type in closing and not self._config.alert_on_exit:
            return
        if isinstance(event, RiskBreach) and not self._config.alert_on_risk_breach:
            return
        self.alert(spec.level, spec.message, event_type=spec.event_type, title=spec.title)

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every queued delivery is done; False if ``timeout`` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def flush_summaries(self, force: bool = True) -> int:
        """Queue the summary of suppressed alerts on each channel that has some."""
        now = self._clock.monotonic()
        sent = 0
        with self._lock:
            for channel in self.channels:
                if channel.throttle.summary_due(now, force):
                    body = channel.throttle.take_summary()
                    self._enqueue(channel, Severity.INFO, "suppressed alerts", body)
                    sent += 1
        return sent

    def close(self, timeout: float = 10.0) -> None:
        """Send pending summaries, deliver what is queued, and stop the worker (idempotent)."""
        if self._stop.is_set():
            return
        self.flush_summaries(force=True)
        self.drain(timeout)
        self._stop.set()
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass
        self._worker.join(timeout)

    # ------------------------------------------------------------------ routing

    def _alert(self, level: Severity, message: str, event_type: str, title: str | None) -> int:
        rule = self._config.rules.get(event_type) or self._config.rules["manual"]
        if not rule.enabled:
            return 0
        level = higher(level, Severity(rule.level))
        if not at_least(level, Severity(self._config.min_level)):
            return 0
        title = title or event_type.replace("_", " ")
        return self._route(set(rule.channels), level, title, message, event_type)

    def _direct(self, kinds: set[str], level: Severity | str, title: str, body: str) -> int:
        try:
            return self._route(kinds, Severity(level), title, body, "direct")
        except Exception:  # noqa: BLE001
            log.exception("direct alert could not be queued")
            return 0

    def _route(self, kinds: set[str], level: Severity, title: str, body: str, key: str) -> int:
        now = self._clock.monotonic()
        dedup_key = f"{key}|{level.value}|{title}|{body}"
        queued = 0
        levels: dict[str, str] = {k: v for k, v in self._config.channel_min_level.items()}
        with self._lock:
            duplicate = self._dedup.is_duplicate(dedup_key, now)
            for channel in self.channels:
                floor = levels.get(channel.kind, "INFO")
                if channel.kind not in kinds or not at_least(level, Severity(floor)):
                    continue
                if channel.throttle.summary_due(now):
                    self._enqueue(channel, Severity.INFO, "suppressed alerts",
                                  channel.throttle.take_summary())  # fmt: skip
                allowed = channel.throttle.allow(now) or key in UNTHROTTLED
                if duplicate or not allowed:
                    channel.throttle.suppress(f"{level.value} {title}", now)
                    continue
                subject = f"{self._config.subject_prefix} {level.value}: {title}".strip()
                queued += self._enqueue(channel, level, subject, body)
        return queued

    def _enqueue(self, channel: Channel, level: Severity, title: str, body: str) -> int:
        if self._stop.is_set():
            log.warning("alert manager closed; dropped %r for %s", title, channel.label)
            return 0
        with self._idle:
            self._pending += 1
        try:
            self._queue.put_nowait(_Delivery(channel, level, title, body))
        except queue.Full:
            self._done()
            log.error("alert queue full; dropped %r for %s", title, channel.label)
            return 0
        return 1

    # ------------------------------------------------------------------ worker

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=1.0)
            except queue.Empty:
                if self._stop.is_set():
                    return
                self.flush_summaries(force=False)
                continue
            if item is None:
                return
            try:
                self._deliver(item)
            except Exception:  # noqa: BLE001 - the worker must survive anything
                log.exception("alert delivery crashed on %s", item.channel.label)
            finally:
                self._done()

    def _deliver(self, item: _Delivery) -> None:
        channel = item.channel
        backoff = self._config.retry_backoff_seconds
        for attempt in range(1, self._config.send_attempts + 1):
            channel.attempts += 1
            try:
                ok = channel.plugin.notify(
                    body=item.body, title=item.title, notify_type=_NOTIFY_TYPE[item.level]
                )
            except Exception as exc:  # noqa: BLE001 - plugins raise anything
                log.warning("alert to %s raised %s", channel.label, type(exc).__name__)
                ok = False
            if ok:
                channel.delivered += 1
                return
            if attempt < self._config.send_attempts and self._stop.wait(backoff):
                break
            backoff *= 2
        channel.failed += 1
        log.error(
            "alert %r not delivered to %s after %d attempt(s)",
            item.title,
            channel.label,
            self._config.send_attempts,
        )

    def _done(self) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()
