"""A risk breach of each kind, raised by the real ``RiskMonitor`` on a bus the alert manager
listens to, arrives at a webhook on 127.0.0.1 as its mapped alert type (daily loss →
daily_loss_limit, position size → position_size_exceeded, correlation →
correlation_breach, buying power → buying_power_low). On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from quant_agent.alert_rules import RISK_RULE_ALERTS
from quant_agent.alerts import AlertManager
from quant_agent.config import AlertsConfig, LiveTradingConfig
from quant_agent.core.bus import EventBus
from quant_agent.core.clock import SimClock
from quant_agent.risk_monitor import EntryRequest, PortfolioView, RiskMonitor
from quant_agent.storage.store import Store
from quant_agent.testkit.notify_servers import WebhookServer

D = Decimal
NOW = datetime(2025, 3, 10, 14, 0, tzinfo=UTC)
CONFIG = LiveTradingConfig()  # seed limits: 3 positions, 40 %, 2 %, 60 %, 0.7, 20 %
#: The alert type of each risk rule, as the issue names them, and the title it is sent with.
TITLES = {
    "daily_loss_limit": "Daily loss limit",
    "position_size_exceeded": "Position size exceeded",
    "correlation_breach": "Correlation breach",
    "buying_power_low": "Buying power low",
    "risk_breach": "Risk",
}


def correlated_returns(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    held = rng.standard_normal(n) * 0.01
    return pd.DataFrame({"HELD": held, "NEW": held + rng.standard_normal(n) * 0.001})


def view(**kw: object) -> PortfolioView:
    base: dict[str, object] = {"equity": D(100000), "cash": D(100000),
                               "day_start_equity": D(100000)}  # fmt: skip
    base.update(kw)
    return PortfolioView(**base)  # type: ignore[arg-type]


def entry(notional: str) -> EntryRequest:
    return EntryRequest(ticker="NEW", quantity=1, price=D(notional), sector="Tech")


HELD = {"positions": {"HELD": D(10000)}, "sectors": {"HELD": "Energy"}, "cash": D(90000)}
#: rule -> (entry, portfolio, the alert type it must arrive as, its level)
BREACHES = {
    "max_daily_loss_pct": (entry("1000"), view(equity=D(98000)), "daily_loss_limit", "CRITICAL"),
    "max_position_pct": (entry("40000.01"), view(), "position_size_exceeded", "WARNING"),
    "max_correlation": (entry("1000"), view(**HELD), "correlation_breach", "WARNING"),
    "min_buying_power_pct": (entry("10000.01"), view(cash=D(30000)), "buying_power_low", "WARNING"),
}


@pytest.fixture
def webhook() -> Iterator[WebhookServer]:
    with WebhookServer() as server:
        yield server


def wired(store: Store, webhook: WebhookServer) -> tuple[RiskMonitor, AlertManager]:
    clock = SimClock(NOW)
    bus = EventBus(clock)
    settings = AlertsConfig(retry_backoff_seconds=0.01, subject_prefix="[qa]")
    alerts = AlertManager(settings, clock, urls=[f"json://127.0.0.1:{webhook.port}/"])
    alerts.subscribe(bus)
    frame = correlated_returns()
    risk = RiskMonitor(store, clock, CONFIG.risk, CONFIG.trading,
                       returns=lambda tickers: frame, bus=bus)  # fmt: skip
    return risk, alerts


def received(webhook: WebhookServer, alerts: AlertManager) -> list[str]:
    assert alerts.drain(timeout=30)
    alerts.close()
    titles = []
    while not webhook.requests.empty():
        titles.append(webhook.requests.get_nowait().body["title"])
    return titles


@pytest.mark.parametrize("rule", sorted(BREACHES))
def test_a_refused_entry_alerts_as_its_rules_type(
    store: Store, webhook: WebhookServer, rule: str
) -> None:
    request, portfolio, kind, level = BREACHES[rule]
    risk, alerts = wired(store, webhook)
    decision = risk.check_pre_trade_risk(request, portfolio)
    assert (decision.approved, decision.rule) == (False, rule)
    titles = received(webhook, alerts)
    assert titles[0] == f"[qa] {level}: {TITLES[kind]}: {rule}"
    if rule == "max_daily_loss_pct":  # the breach halts: the state change follows it
        assert titles[1:] == ["[qa] CRITICAL: Trading HALTED"]
    else:
        assert titles[1:] == []


def test_the_daily_loss_monitor_alerts_the_limit_then_the_halt(
    store: Store, webhook: WebhookServer
) -> None:
    risk, alerts = wired(store, webhook)
    assert risk.check_daily_loss_limit(view(equity=D(97500)))
    assert received(webhook, alerts) == [
        "[qa] CRITICAL: Daily loss limit: max_daily_loss_pct",
        "[qa] CRITICAL: Trading HALTED",
    ]


def test_every_risk_monitor_rule_has_an_explicit_alert_type(store: Store) -> None:
    risk = RiskMonitor(store, SimClock(NOW), CONFIG.risk, CONFIG.trading)
    names = {rule.name for rule in risk.rules}
    assert names <= set(RISK_RULE_ALERTS), names - set(RISK_RULE_ALERTS)
    assert {RISK_RULE_ALERTS[name] for name in BREACHES} == set(TITLES) - {"risk_breach"}
