"""Tests for quant_agent.market.calendar: sessions, holidays, early closes, instants."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import exchange_calendars as xcals
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_agent.core.enums import Exchange
from quant_agent.market.calendar import MarketCalendar, exchange_for_ticker, get_calendar

NY = ZoneInfo("America/New_York")
TORONTO = ZoneInfo("America/Toronto")
US = timedelta(microseconds=1)

# exchange_calendars 4.13 reads tz-aware ``.values`` while building a calendar, which
# pandas 3.1 deprecates (Pandas4Warning); that is the library's business, not ours.


@pytest.fixture(scope="module")
def nyse() -> MarketCalendar:
    return get_calendar(Exchange.NYSE)


@pytest.fixture(scope="module")
def tsx() -> MarketCalendar:
    return get_calendar(Exchange.TSX)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)  # type: ignore[misc]


# ----------------------------------------------------------------- holidays and closes


def test_nyse_is_closed_on_thanksgiving_2025(nyse: MarketCalendar) -> None:
    assert not nyse.is_trading_day(date(2025, 11, 27))
    assert nyse.is_trading_day(date(2025, 11, 26))


def test_nyse_day_after_thanksgiving_2025_closes_early_at_1pm_new_york(
    nyse: MarketCalendar,
) -> None:
    day = date(2025, 11, 28)
    assert nyse.is_trading_day(day)
    assert nyse.is_early_close(day)
    assert nyse.session_open(day) == utc(2025, 11, 28, 14, 30)
    assert nyse.session_close(day) == utc(2025, 11, 28, 18, 0)
    assert nyse.session_close(day).astimezone(NY) == ny(2025, 11, 28, 13, 0)


def test_nyse_july_3_2025_closes_early_at_1pm_new_york_which_is_17_utc(
    nyse: MarketCalendar,
) -> None:
    assert nyse.is_early_close(date(2025, 7, 3))
    assert nyse.session_close(date(2025, 7, 3)) == utc(2025, 7, 3, 17, 0)
    assert not nyse.is_trading_day(date(2025, 7, 4))


def test_nyse_ordinary_day_closes_at_4pm_new_york(nyse: MarketCalendar) -> None:
    day = date(2025, 6, 10)
    assert not nyse.is_early_close(day)
    assert nyse.session_open(day) == utc(2025, 6, 10, 13, 30)
    assert nyse.session_close(day) == utc(2025, 6, 10, 20, 0)
    assert nyse.session_close(day).astimezone(NY) == ny(2025, 6, 10, 16, 0)


def test_nyse_winter_day_closes_at_21_utc(nyse: MarketCalendar) -> None:
    assert nyse.session_close(date(2025, 1, 15)) == utc(2025, 1, 15, 21, 0)


def test_nyse_2026_july_3_is_a_holiday_for_independence_day_on_saturday(
    nyse: MarketCalendar,
) -> None:
    assert not nyse.is_trading_day(date(2026, 7, 3))
    assert nyse.is_trading_day(date(2026, 7, 2))
    assert not nyse.is_early_close(date(2026, 7, 2))


@pytest.mark.parametrize("day", [date(2026, 11, 27), date(2026, 12, 24)])
def test_nyse_2026_early_closes_are_at_18_utc(nyse: MarketCalendar, day: date) -> None:
    assert nyse.is_early_close(day)
    assert nyse.session_close(day) == datetime(day.year, day.month, day.day, 18, tzinfo=UTC)


def test_nyse_early_close_is_false_for_a_holiday(nyse: MarketCalendar) -> None:
    assert not nyse.is_early_close(date(2025, 12, 25))


def test_nyse_adhoc_closure_for_president_carter_2025_is_not_a_session(
    nyse: MarketCalendar,
) -> None:
    assert not nyse.is_trading_day(date(2025, 1, 9))


def test_tsx_is_closed_on_canada_day_2025_and_open_on_july_4(tsx: MarketCalendar) -> None:
    assert not tsx.is_trading_day(date(2025, 7, 1))
    assert tsx.is_trading_day(date(2025, 7, 4))
    assert tsx.session_open(date(2025, 7, 4)) == utc(2025, 7, 4, 13, 30)
    assert tsx.session_close(date(2025, 7, 4)) == utc(2025, 7, 4, 20, 0)


def test_tsx_is_closed_on_observed_boxing_day_2026_12_28(tsx: MarketCalendar) -> None:
    assert not tsx.is_trading_day(date(2026, 12, 25))
    assert not tsx.is_trading_day(date(2026, 12, 28))
    assert tsx.next_trading_day(date(2026, 12, 24)) == date(2026, 12, 29)


def test_tsx_christmas_eve_2026_closes_early_at_1pm_toronto(tsx: MarketCalendar) -> None:
    assert tsx.is_early_close(date(2026, 12, 24))
    assert tsx.session_close(date(2026, 12, 24)) == utc(2026, 12, 24, 18, 0)


def test_tsx_is_open_on_us_thanksgiving(tsx: MarketCalendar) -> None:
    assert tsx.is_trading_day(date(2025, 11, 27))
    assert not tsx.is_early_close(date(2025, 11, 28))


def test_session_open_on_a_holiday_raises_naming_the_day(nyse: MarketCalendar) -> None:
    with pytest.raises(ValueError, match="2025-11-27 is not a NYSE trading session"):
        nyse.session_open(date(2025, 11, 27))
    with pytest.raises(ValueError, match="2025-11-29 is not a NYSE trading session"):
        nyse.session_close(date(2025, 11, 29))


# ----------------------------------------------------------------- next_open / next_close


def test_next_open_from_friday_after_close_is_monday_0930_new_york(
    nyse: MarketCalendar,
) -> None:
    friday_evening = ny(2025, 6, 6, 17, 0)
    assert nyse.next_open(friday_evening) == utc(2025, 6, 9, 13, 30)
    assert nyse.next_open(friday_evening).astimezone(NY) == ny(2025, 6, 9, 9, 30)


def test_next_open_across_march_dst_change_moves_to_13_30_utc(nyse: MarketCalendar) -> None:
    friday_after_close = ny(2025, 3, 7, 16, 30)
    assert nyse.next_open(friday_after_close) == utc(2025, 3, 10, 13, 30)
    assert nyse.session_open(date(2025, 3, 7)) == utc(2025, 3, 7, 14, 30)


def test_next_open_across_november_dst_change_moves_to_14_30_utc(
    nyse: MarketCalendar,
) -> None:
    friday_after_close = ny(2025, 10, 31, 16, 30)
    assert nyse.next_open(friday_after_close) == utc(2025, 11, 3, 14, 30)
    assert nyse.session_open(date(2025, 10, 31)) == utc(2025, 10, 31, 13, 30)


def test_tsx_next_open_across_weekend_and_march_dst(tsx: MarketCalendar) -> None:
    friday_after_close = datetime(2025, 3, 7, 16, 30, tzinfo=TORONTO)
    assert tsx.next_open(friday_after_close) == utc(2025, 3, 10, 13, 30)


def test_tsx_next_open_skips_canada_day(tsx: MarketCalendar) -> None:
    monday_after_close = datetime(2025, 6, 30, 17, 0, tzinfo=TORONTO)
    assert tsx.next_open(monday_after_close) == utc(2025, 7, 2, 13, 30)


def test_next_open_at_the_open_instant_is_the_following_session(nyse: MarketCalendar) -> None:
    assert nyse.next_open(utc(2025, 6, 10, 13, 30)) == utc(2025, 6, 11, 13, 30)
    assert nyse.next_open(utc(2025, 6, 10, 13, 30) - US) == utc(2025, 6, 10, 13, 30)


def test_next_open_skips_thanksgiving(nyse: MarketCalendar) -> None:
    assert nyse.next_open(ny(2025, 11, 26, 16, 0)) == utc(2025, 11, 28, 14, 30)


def test_next_close_during_session_is_todays_close_including_early_close(
    nyse: MarketCalendar,
) -> None:
    assert nyse.next_close(ny(2025, 11, 28, 10, 0)) == utc(2025, 11, 28, 18, 0)
    assert nyse.next_close(utc(2025, 11, 28, 18, 0)) == utc(2025, 12, 1, 21, 0)


def test_previous_close_includes_a_close_at_exactly_t(nyse: MarketCalendar) -> None:
    close = utc(2025, 6, 10, 20, 0)
    assert nyse.previous_close(close) == close
    assert nyse.previous_close(close - US) == utc(2025, 6, 9, 20, 0)
    assert nyse.previous_close(ny(2025, 6, 16, 8, 0)) == utc(2025, 6, 13, 20, 0)


def test_returned_datetimes_are_aware_utc(nyse: MarketCalendar) -> None:
    t = ny(2025, 6, 10, 12, 0)
    for value in (
        nyse.next_open(t),
        nyse.next_close(t),
        nyse.previous_close(t),
        nyse.session_open(date(2025, 6, 10)),
        nyse.session_close(date(2025, 6, 10)),
    ):
        assert value.tzinfo is UTC


# ----------------------------------------------------------------- is_market_open


def test_market_is_open_at_the_open_instant_and_closed_one_microsecond_before(
    nyse: MarketCalendar,
) -> None:
    open_ = utc(2025, 6, 10, 13, 30)
    assert nyse.is_market_open(open_)
    assert not nyse.is_market_open(open_ - US)


def test_market_is_open_half_a_second_before_close_and_closed_at_close(
    nyse: MarketCalendar,
) -> None:
    assert nyse.is_market_open(ny(2025, 6, 10, 15, 59, 59, 500_000))
    assert nyse.is_market_open(ny(2025, 6, 10, 16, 0) - US)
    assert not nyse.is_market_open(ny(2025, 6, 10, 16, 0))


def test_market_is_closed_in_the_afternoon_of_an_early_close(nyse: MarketCalendar) -> None:
    assert nyse.is_market_open(ny(2025, 11, 28, 12, 59, 59))
    assert not nyse.is_market_open(ny(2025, 11, 28, 13, 0))
    assert not nyse.is_market_open(ny(2025, 11, 28, 14, 30))
    assert nyse.session_for(ny(2025, 11, 28, 14, 30)) is None


def test_market_is_closed_all_day_on_a_holiday_and_a_weekend(nyse: MarketCalendar) -> None:
    assert not nyse.is_market_open(ny(2025, 11, 27, 11, 0))
    assert not nyse.is_market_open(ny(2025, 6, 7, 11, 0))
    assert not nyse.is_market_open(ny(2025, 6, 8, 11, 0))


def test_is_market_open_accepts_any_aware_timezone(nyse: MarketCalendar) -> None:
    paris_summer = timezone(timedelta(hours=2))
    assert nyse.is_market_open(datetime(2025, 6, 10, 15, 30, tzinfo=paris_summer))
    assert not nyse.is_market_open(datetime(2025, 6, 10, 15, 29, tzinfo=paris_summer))


def test_is_market_open_handles_nanosecond_pandas_timestamps(nyse: MarketCalendar) -> None:
    just_before_close = pd.Timestamp("2025-06-10 19:59:59.999999999", tz="UTC")
    assert nyse.is_market_open(just_before_close)
    assert not nyse.is_market_open(pd.Timestamp("2025-06-10 20:00:00", tz="UTC"))


def test_naive_datetime_raises_value_error(nyse: MarketCalendar) -> None:
    naive = datetime(2025, 6, 10, 15, 0)  # noqa: DTZ001
    for query in (nyse.is_market_open, nyse.session_for, nyse.next_open, nyse.previous_close):
        with pytest.raises(ValueError, match="naive"):
            query(naive)


def test_datetime_passed_where_a_date_is_expected_raises_type_error(
    nyse: MarketCalendar,
) -> None:
    with pytest.raises(TypeError, match="session_for"):
        nyse.is_trading_day(utc(2025, 6, 10, 15))


def test_session_for_returns_the_local_session_date(nyse: MarketCalendar) -> None:
    # 20:30 UTC on 10 June is 16:30 in New York: after the close.
    assert nyse.session_for(utc(2025, 6, 10, 19, 30)) == date(2025, 6, 10)
    assert nyse.session_for(utc(2025, 6, 10, 20, 30)) is None


# ----------------------------------------------------------------- trading days


def test_trading_days_is_inclusive_and_skips_weekends_and_holidays(
    nyse: MarketCalendar,
) -> None:
    assert nyse.trading_days(date(2025, 11, 24), date(2025, 12, 1)) == [
        date(2025, 11, 24),
        date(2025, 11, 25),
        date(2025, 11, 26),
        date(2025, 11, 28),
        date(2025, 12, 1),
    ]
    assert nyse.trading_days(date(2025, 11, 27), date(2025, 11, 27)) == []
    assert len(nyse.trading_days(date(2025, 1, 1), date(2025, 12, 31))) == 250


def test_trading_days_with_start_after_end_raises(nyse: MarketCalendar) -> None:
    with pytest.raises(ValueError, match="after end"):
        nyse.trading_days(date(2025, 12, 1), date(2025, 11, 1))


def test_next_and_previous_trading_day_are_strict(nyse: MarketCalendar) -> None:
    assert nyse.next_trading_day(date(2025, 11, 26)) == date(2025, 11, 28)
    assert nyse.next_trading_day(date(2025, 11, 27)) == date(2025, 11, 28)
    assert nyse.previous_trading_day(date(2025, 11, 28)) == date(2025, 11, 26)
    assert nyse.previous_trading_day(date(2025, 6, 9)) == date(2025, 6, 6)
    assert nyse.next_trading_day(date(2025, 6, 7)) == date(2025, 6, 9)


# ----------------------------------------------------------------- range, tickers, cache


def test_out_of_range_queries_raise_value_error_naming_the_covered_range(
    nyse: MarketCalendar,
) -> None:
    covered = "covers 2000-01-01..2035-12-31"
    with pytest.raises(ValueError, match=covered):
        nyse.is_trading_day(date(1999, 12, 31))
    with pytest.raises(ValueError, match=covered):
        nyse.is_market_open(utc(2040, 1, 2, 15))
    with pytest.raises(ValueError, match=covered):
        nyse.next_open(ny(2035, 12, 31, 10, 0))
    with pytest.raises(ValueError, match=covered):
        nyse.previous_trading_day(date(2000, 1, 3))
    with pytest.raises(ValueError, match=covered):
        nyse.trading_days(date(2035, 1, 1), date(2036, 1, 1))


def test_custom_range_calendar_reports_its_own_bounds() -> None:
    cal = MarketCalendar(Exchange.TSX, start=date(2024, 1, 1), end=date(2024, 12, 31))
    assert (cal.first_day, cal.last_day) == (date(2024, 1, 1), date(2024, 12, 31))
    assert cal.exchange is Exchange.TSX
    with pytest.raises(ValueError, match="TSX calendar covers 2024-01-01..2024-12-31"):
        cal.is_trading_day(date(2025, 1, 2))


def test_calendar_with_start_not_before_end_raises() -> None:
    with pytest.raises(ValueError, match="must be before"):
        MarketCalendar(Exchange.NYSE, start=date(2025, 1, 1), end=date(2025, 1, 1))


@pytest.mark.parametrize(
    ("ticker", "expected"),
    [
        ("RY.TO", Exchange.TSX),
        ("ry.to", Exchange.TSX),
        ("ABC.VN", Exchange.TSX),
        ("AAPL", Exchange.NYSE),
        ("BRK.B", Exchange.NYSE),
        ("TOST", Exchange.NYSE),
    ],
)
def test_exchange_for_ticker_uses_the_canadian_suffix(ticker: str, expected: Exchange) -> None:
    assert exchange_for_ticker(ticker) is expected


def test_exchange_for_blank_ticker_raises() -> None:
    with pytest.raises(ValueError, match="empty ticker"):
        exchange_for_ticker("  ")


def test_get_calendar_is_cached_and_accepts_names_and_mic_codes() -> None:
    assert get_calendar(Exchange.NYSE) is get_calendar("NYSE") is get_calendar("XNYS")
    assert get_calendar(Exchange.TSX) is get_calendar("TSX") is get_calendar("XTSE")
    assert get_calendar("NYSE") is not get_calendar("TSX")
    assert get_calendar("xtse").exchange is Exchange.TSX
    assert (get_calendar("NYSE").first_day, get_calendar("NYSE").last_day) == (
        date(2000, 1, 1),
        date(2035, 12, 31),
    )


def test_get_calendar_with_unknown_code_raises() -> None:
    with pytest.raises(ValueError, match="unknown exchange 'LSE'"):
        get_calendar("LSE")


# ----------------------------------------------------------------- properties

_START_US = int((datetime(2010, 1, 1, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)) / US)
_END_US = int((datetime(2031, 1, 1, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)) / US)
instants = st.integers(min_value=_START_US, max_value=_END_US - 1).map(
    lambda us: datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)
)
exchanges = st.sampled_from(list(Exchange))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(t=instants, exchange=exchanges)
def test_open_iff_in_a_session_and_next_open_is_a_later_session_open(
    t: datetime, exchange: Exchange
) -> None:
    cal = get_calendar(exchange)
    session = cal.session_for(t)
    assert cal.is_market_open(t) is (session is not None)
    if session is not None:
        assert cal.session_open(session) <= t < cal.session_close(session)
    nxt = cal.next_open(t)
    assert nxt > t
    assert nxt.tzinfo is UTC
    next_day = nxt.astimezone(cal.tz).date()
    assert cal.session_open(next_day) == nxt
    assert cal.previous_close(t) <= t < cal.next_close(t)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(t=instants, exchange=exchanges)
def test_is_market_open_agrees_with_exchange_calendars(t: datetime, exchange: Exchange) -> None:
    reference = xcals.get_calendar(exchange.calendar_code, start="2000-01-01", end="2035-12-31")
    expected = reference.is_open_at_time(pd.Timestamp(t), side="left")
    assert get_calendar(exchange).is_market_open(t) is expected
