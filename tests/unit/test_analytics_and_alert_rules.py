"""Pure pieces: analytics against empyrical, alert rules, throttling, alert configuration."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from quant_agent import analytics
from quant_agent.alert_rules import ChannelThrottle, Deduplicator, describe, risk_rule_type
from quant_agent.alerts import channel_kind, configured_urls, split_urls
from quant_agent.config import AlertsConfig, load_config
from quant_agent.core.enums import ExitReason, Severity
from quant_agent.core.errors import ConfigError
from quant_agent.core.events import PositionClosed, RiskBreach
from quant_agent.core.ids import Ticker

T0 = datetime(2024, 3, 1, 15, 0, tzinfo=UTC)
RETURNS = np.random.default_rng(11).normal(0.0004, 0.012, 300)


def test_ratios_and_drawdown_equal_empyrical() -> None:
    ep = pytest.importorskip("empyrical")
    rf = 0.03
    daily_rf = analytics.daily_risk_free(rf)
    equity = np.concatenate([[1.0], np.cumprod(1 + RETURNS)])
    assert analytics.sharpe_ratio(RETURNS, rf) == pytest.approx(
        ep.sharpe_ratio(RETURNS, risk_free=daily_rf), abs=1e-9
    )
    assert analytics.sortino_ratio(RETURNS, rf) == pytest.approx(
        ep.sortino_ratio(RETURNS, required_return=daily_rf), abs=1e-9
    )
    assert analytics.max_drawdown(equity).max_drawdown == pytest.approx(
        ep.max_drawdown(RETURNS), abs=1e-9
    )
    s, b = RETURNS[1:], RETURNS[:-1] * 0.5 + RETURNS[1:] * 0.3
    beta, corr = analytics.beta_and_correlation(s, b)
    assert beta == pytest.approx(ep.beta(s, b), abs=1e-9)
    assert corr == pytest.approx(float(np.corrcoef(s, b)[0, 1]), abs=1e-9)


def test_ratios_without_variance_are_nan_not_errors() -> None:
    assert math.isnan(analytics.sharpe_ratio([0.01, 0.01, 0.01]))
    assert math.isnan(analytics.sortino_ratio([0.01, 0.02]))
    assert analytics.trade_stats([10.0, 5.0]).profit_factor == math.inf
    assert math.isnan(analytics.trade_stats([]).win_rate)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("daily_loss_limit", "daily_loss_limit"),
        ("max_position_pct", "position_size_exceeded"),
        ("max_correlation", "correlation_breach"),
        ("min_buying_power_pct", "buying_power_low"),
        ("max_sector_exposure_pct", "risk_breach"),
    ],
)
def test_risk_rules_map_to_their_alert_type(rule: str, expected: str) -> None:
    assert risk_rule_type(rule) == expected


def test_events_describe_their_alert() -> None:
    closed = PositionClosed(ts_event=T0, ts_init=T0, ticker=Ticker("AAPL"), quantity=5,
                            exit_price=Decimal("110"), realized_pnl=Decimal("50"),
                            reason=ExitReason.TAKE_PROFIT)  # fmt: skip
    spec = describe(closed)
    assert spec is not None and spec.event_type == "take_profit_hit" and spec.ts == T0
    breach = describe(RiskBreach(ts_event=T0, ts_init=T0, rule="daily_loss_limit",
                                 message="loss 2.1%", severity=Severity.CRITICAL))  # fmt: skip
    assert breach is not None and breach.level is Severity.CRITICAL
    assert describe(object()) is None


def test_throttle_allows_the_limit_per_window_then_summarises() -> None:
    throttle = ChannelThrottle(limit=2, window=60.0)
    assert [throttle.allow(0.0) for _ in range(3)] == [True, True, False]
    throttle.suppress("WARNING x", 0.0)
    assert not throttle.summary_due(59.0) and throttle.summary_due(60.0)
    assert throttle.take_summary().startswith("1 alert(s) suppressed")
    assert throttle.allow(60.0) and not throttle.summary_due(1e9)


def test_deduplicator_forgets_after_the_window() -> None:
    dedup = Deduplicator(10.0)
    assert [dedup.is_duplicate("k", t) for t in (0.0, 5.0, 10.0)] == [False, True, False]
    assert not Deduplicator(0.0).is_duplicate("k", 0.0)


def test_urls_come_from_the_environment_and_the_seed_keys() -> None:
    config = load_config(None, environ={
        "QA_ALERT_URLS": "json://127.0.0.1:9/a, mailto://relay:25?to=a@b.c  twilio://x:y@1/2",
        "QA_ALERTS__DISCORD_WEBHOOK": "https://discord.com/api/webhooks/1/tok",
    }, dotenv_path=None)  # fmt: skip
    urls = configured_urls(config.alerts)
    assert [channel_kind(u) for u in urls] == ["webhook", "email", "sms", "webhook"]
    assert split_urls(" a,b  c ") == ["a", "b", "c"]


def test_alert_rules_merge_with_defaults_and_reject_unknown_events() -> None:
    config = AlertsConfig.model_validate({"rules": {"new_signal": {"level": "WARNING"}}})
    assert config.rules["new_signal"].level == "WARNING"
    assert config.rules["stop_loss_hit"].level == "WARNING"  # default kept
    with pytest.raises(ValueError, match="unknown alert rule"):
        AlertsConfig.model_validate({"rules": {"new_singal": {"level": "INFO"}}})


def test_an_alert_url_in_the_yaml_is_refused(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "c.yaml"
    path.write_text("alerts:\n  urls: json://127.0.0.1/\n")
    with pytest.raises(ConfigError, match="secret"):
        load_config(path, environ={}, dotenv_path=None)


def test_the_secret_parts_of_alert_urls_are_scrubbed_from_logs() -> None:
    from quant_agent.alerts import AlertManager
    from quant_agent.core.clock import SimClock
    from quant_agent.logs import scrub

    manager = AlertManager(AlertsConfig(), SimClock(T0), urls=[
        "discord://4174296324183/AbCdEfTokenXyz123", "mailtos://me:pa55word@smtp.example.com",
    ])  # fmt: skip
    manager.close()
    line = scrub("POST https://discord.com/api/webhooks/4174296324183/AbCdEfTokenXyz123 pa55word")
    assert "AbCdEfTokenXyz123" not in line and "4174296324183" not in line
    assert "pa55word" not in line
