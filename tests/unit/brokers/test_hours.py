"""The time-in-force window: when a DAY or GTC order may be sent and when a DAY one expires."""

from __future__ import annotations

from datetime import UTC, datetime

from quant_agent.brokers.hours import order_window
from quant_agent.core.enums import TimeInForce
from quant_agent.market.calendar import get_calendar
from quant_agent.testkit.quotes import AFTER_CLOSE, PRE_MARKET, SESSION_CLOSE, at

NYSE = get_calendar("NYSE")
SATURDAY = datetime(2025, 3, 15, 15, 0, tzinfo=UTC)
EARLY_CLOSE_DAY = datetime(2025, 11, 28, 15, 0, tzinfo=UTC)  # day after Thanksgiving


def test_day_order_in_session_is_good_until_that_sessions_close() -> None:
    window = order_window(NYSE, at(60), TimeInForce.DAY)
    assert window.ok and window.expires_at == SESSION_CLOSE


def test_day_order_on_an_early_close_expires_at_the_early_close() -> None:
    window = order_window(NYSE, EARLY_CLOSE_DAY, TimeInForce.DAY)
    assert window.expires_at == datetime(2025, 11, 28, 18, 0, tzinfo=UTC)  # 13:00 New York


def test_day_order_pre_market_is_queued_for_the_same_days_session() -> None:
    window = order_window(NYSE, PRE_MARKET, TimeInForce.DAY)
    assert window.ok and window.expires_at == SESSION_CLOSE


def test_day_order_after_the_close_or_on_a_weekend_is_refused_with_a_reason() -> None:
    for when in (AFTER_CLOSE, SATURDAY):
        window = order_window(NYSE, when, TimeInForce.DAY)
        assert not window.ok and "market closed" in (window.problem or "")
        assert "GTC" in (window.problem or "")


def test_gtc_is_accepted_any_time_and_never_expires() -> None:
    for when in (AFTER_CLOSE, SATURDAY, at(5)):
        assert order_window(NYSE, when, TimeInForce.GTC) == order_window(
            NYSE, AFTER_CLOSE, TimeInForce.GTC
        )
        assert order_window(NYSE, when, TimeInForce.GTC).expires_at is None
