"""What to alert and how often: events to alert texts, levels, rate limits, deduplication.

Pure and synchronous: no I/O, no clock reads (callers pass ``now`` as monotonic seconds).
``alerts.py`` owns delivery; this module decides what is delivered.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from datetime import datetime

from quant_agent.core.enums import ExitReason, Severity, TradingState
from quant_agent.core.events import (
    ApiErrorOccurred,
    ConnectionStatusChanged,
    FeedStatusChanged,
    HandlerFailed,
    OrderTicketIssued,
    PositionClosed,
    PositionOpened,
    RiskBreach,
    SignalGenerated,
    SystemStarted,
    SystemStopped,
    TradingStateChanged,
)

LEVEL_ORDER = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}

#: Event classes the alert manager subscribes to on the bus.
ALERTED_EVENTS: tuple[type, ...] = (
    SignalGenerated,
    PositionOpened,
    PositionClosed,
    RiskBreach,
    TradingStateChanged,
    FeedStatusChanged,
    ConnectionStatusChanged,
    ApiErrorOccurred,
    HandlerFailed,
    SystemStarted,
    SystemStopped,
    OrderTicketIssued,
)


#: Alert rule keys never held back by a channel's rate limit: each is an action the trader
#: must take (an assisted-mode order ticket), and a burst of them (an entry's fill ticketing
#: its stop and target) is exactly when a limit would drop one. Duplicates still are.
UNTHROTTLED: frozenset[str] = frozenset({"order_ticket"})


def at_least(level: Severity, floor: Severity) -> bool:
    return LEVEL_ORDER[level] >= LEVEL_ORDER[floor]


def higher(a: Severity, b: Severity) -> Severity:
    return a if LEVEL_ORDER[a] >= LEVEL_ORDER[b] else b


@dataclass(frozen=True, slots=True)
class AlertSpec:
    """An alert derived from an event: its rule key, the event's own level, its text."""

    event_type: str
    title: str
    message: str
    level: Severity = Severity.INFO  # raised to the rule's level, never lowered
    ts: datetime | None = None


#: Alert rule key of each risk rule name ``risk_monitor`` uses (its rules' ``name``s).
RISK_RULE_ALERTS: dict[str, str] = {
    "max_daily_loss_pct": "daily_loss_limit",
    "max_position_pct": "position_size_exceeded",
    "max_correlation": "correlation_breach",
    "min_buying_power_pct": "buying_power_low",
    "max_positions": "risk_breach",
    "max_sector_exposure_pct": "risk_breach",
    "trading_state": "risk_breach",  # an entry refused while PAUSED or HALTED
}

_RISK_TITLES = {
    "daily_loss_limit": "Daily loss limit",
    "daily_loss_approaching": "Daily loss approaching",
    "position_size_exceeded": "Position size exceeded",
    "correlation_breach": "Correlation breach",
    "buying_power_low": "Buying power low",
    "risk_breach": "Risk",
}


def risk_rule_type(rule: str) -> str:
    """Map a risk rule name to its alert rule key (the table, else by the words it holds)."""
    name = rule.lower()
    if name in RISK_RULE_ALERTS:
        return RISK_RULE_ALERTS[name]
    if "daily_loss" in name:
        return "daily_loss_approaching" if "approach" in name else "daily_loss_limit"
    if "position" in name and any(w in name for w in ("size", "pct", "percent")):
        return "position_size_exceeded"
    if "correlation" in name:
        return "correlation_breach"
    if "buying_power" in name or "cash" in name:
        return "buying_power_low"
    return "risk_breach"


def _closed(event: PositionClosed) -> AlertSpec:
    kind = {
        ExitReason.STOP_LOSS: ("stop_loss_hit", "Stop loss hit"),
        ExitReason.TAKE_PROFIT: ("take_profit_hit", "Take profit hit"),
    }.get(event.reason, ("position_closed", "Position closed"))
    return AlertSpec(
        kind[0],
        f"{kind[1]}: {event.ticker}",
        f"Closed {event.quantity} {event.ticker} at {event.exit_price} "
        f"({event.reason.value}); realized P&L {event.realized_pnl}",
    )


_TICKET_ACTIONS = {
    "place": "Place this order in Questrade",
    "cancel": "Cancel this order in Questrade",
    "replace": "Change this order in Questrade",
    "withdrawn": "Do NOT place this order (withdrawn)",
}


def _ticket(event: OrderTicketIssued) -> AlertSpec:
    """Assisted mode: the exact ticket (terms and bracket legs are in ``event.text``)."""
    action = _TICKET_ACTIONS.get(event.kind, event.kind)
    return AlertSpec(
        "order_ticket",
        f"Order ticket ({event.kind}): {event.ticker}",
        f"{action}:\n{event.text}\n"
        f"client order id: {event.client_order_id}\nticket: {event.ticket_id}",
    )


def describe(event: object) -> AlertSpec | None:
    """Return the alert an event calls for, or None for events that are not alerted."""
    spec: AlertSpec | None = None
    match event:
        case SignalGenerated():
            price = f" at {event.entry_price}" if event.entry_price is not None else ""
            spec = AlertSpec(
                "new_signal",
                f"New signal: {event.ticker}",
                f"{event.ticker} scored {event.score:.1f}{price}",
            )
        case PositionOpened():
            spec = AlertSpec(
                "position_opened",
                f"Position opened: {event.ticker}",
                f"Bought {event.quantity} {event.ticker} at {event.entry_price}",
            )
        case PositionClosed():
            spec = _closed(event)
        case RiskBreach():
            kind = risk_rule_type(event.rule)
            spec = AlertSpec(
                kind, f"{_RISK_TITLES[kind]}: {event.rule}", event.message, event.severity
            )
        case TradingStateChanged():
            spec = AlertSpec(
                "trading_state_changed",
                f"Trading {event.current.value}",
                f"{event.previous.value} -> {event.current.value}: {event.reason}",
                Severity.CRITICAL if event.current is TradingState.HALTED else Severity.INFO,
            )
        case FeedStatusChanged(healthy=False):
            spec = AlertSpec("data_feed_issue", f"Data feed issue: {event.feed}", event.message)
        case ConnectionStatusChanged(connected=False):
            spec = AlertSpec("connection_lost", f"Connection lost: {event.service}", event.message)
        case ApiErrorOccurred():
            spec = AlertSpec("api_error", f"API error: {event.service}", event.message)
        case HandlerFailed():
            spec = AlertSpec(
                "handler_failed",
                f"Handler failed: {event.handler}",
                f"{event.handler} failed on {event.event_type}: {event.error}",
            )
        case OrderTicketIssued():
            spec = _ticket(event)
        case SystemStarted():
            spec = AlertSpec(
                "startup", f"quant-agent started ({event.mode})", event.message or "started"
            )
        case SystemStopped():
            spec = AlertSpec("shutdown", "quant-agent stopped", event.reason or "stopped")
    if spec is None:
        return None
    ts = getattr(event, "ts_event", None)
    return AlertSpec(spec.event_type, spec.title, spec.message, spec.level, ts)


def daily_loss_alert_due(
    day_pnl: float, start_equity: float, max_daily_loss_pct: float, warn_fraction: float
) -> bool:
    """True when the day's loss has reached ``warn_fraction`` of the daily loss limit."""
    if start_equity <= 0 or day_pnl >= 0:
        return False
    return -day_pnl >= warn_fraction * max_daily_loss_pct / 100.0 * start_equity


class ChannelThrottle:
    """Per-channel sliding-window rate limit with a count of what it suppressed."""

    def __init__(self, limit: int, window: float) -> None:
        self._limit = limit
        self._window = window
        self._sent: deque[float] = deque()
        self.suppressed: Counter[str] = Counter()
        self._suppressed_since: float | None = None

    def allow(self, now: float) -> bool:
        """Take a delivery slot at ``now`` if one is free."""
        while self._sent and now - self._sent[0] >= self._window:
            self._sent.popleft()
        if len(self._sent) >= self._limit:
            return False
        self._sent.append(now)
        return True

    def suppress(self, key: str, now: float) -> None:
        if self._suppressed_since is None:
            self._suppressed_since = now
        self.suppressed[key] += 1

    def summary_due(self, now: float, force: bool = False) -> bool:
        """True when suppressed alerts are waiting and a window has passed (or ``force``)."""
        if self._suppressed_since is None:
            return False
        return force or now - self._suppressed_since >= self._window

    def take_summary(self) -> str:
        """Return the text summarising the suppressed alerts and reset the count."""
        total = sum(self.suppressed.values())
        lines = [f"{total} alert(s) suppressed by rate limiting or deduplication:"]
        lines += [f"  {n} x {key}" for key, n in self.suppressed.most_common(10)]
        if len(self.suppressed) > 10:
            lines.append(f"  ... and {len(self.suppressed) - 10} other kinds")
        self.suppressed.clear()
        self._suppressed_since = None
        return "\n".join(lines)


class Deduplicator:
    """Remember alert keys; a key seen again within ``window`` seconds is a duplicate."""

    def __init__(self, window: float) -> None:
        self._window = window
        self._seen: dict[str, float] = {}

    def is_duplicate(self, key: str, now: float) -> bool:
        if self._window <= 0:
            return False
        last = self._seen.get(key)
        if last is not None and now - last < self._window:
            return True
        self._seen[key] = now
        if len(self._seen) > 10_000:
            self._seen = {k: t for k, t in self._seen.items() if now - t < self._window}
        return False
