"""Scheduler: scans at 09:00 and 10:00 New York on trading days only, right across DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from quant_agent.config import ScheduleConfig
from quant_agent.core.clock import SimClock
from quant_agent.core.enums import ScanKind
from quant_agent.market.calendar import get_calendar
from quant_agent.scheduler import (
    ScanScheduler,
    missed_scan,
    next_scan_times,
    scan_times_on,
    should_run,
)

NYSE = get_calendar("NYSE")
SCHEDULE = ScheduleConfig()  # 09:00 premarket, 10:00 market, America/New_York


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def fired_with_apscheduler(start: datetime, end: datetime) -> list[tuple[datetime, ScanKind]]:
    """Walk the real CronTriggers with a SimClock and let ``fire`` decide, recording runs."""
    clock = SimClock(start)
    ran: list[tuple[datetime, ScanKind]] = []
    scheduler = ScanScheduler(
        clock=clock, schedule=SCHEDULE, calendar=NYSE,
        run_scan=lambda kind: ran.append((clock.now(), kind)),
    )  # fmt: skip
    triggers = scheduler.triggers()
    while True:
        upcoming = sorted(
            (trigger.get_next_fire_time(None, clock.now() + timedelta(microseconds=1)), kind)
            for kind, trigger in triggers.items()
        )
        when, kind = upcoming[0]
        if when > end:
            return ran
        clock.set(when)
        scheduler.fire(kind)


def test_thanksgiving_week_fires_on_trading_days_only() -> None:
    ran = fired_with_apscheduler(utc(2025, 11, 24, 0), utc(2025, 12, 1, 23))
    days = sorted({when.date() for when, _ in ran})
    assert days == [date(2025, 11, 24), date(2025, 11, 25), date(2025, 11, 26),
                    date(2025, 11, 28), date(2025, 12, 1)]  # fmt: skip
    assert date(2025, 11, 27) not in days  # Thanksgiving; 29-30 are the weekend
    assert ran[:2] == [(utc(2025, 11, 24, 14), ScanKind.PREMARKET),
                       (utc(2025, 11, 24, 15), ScanKind.MARKET)]  # fmt: skip


def test_apscheduler_wiring_and_the_pure_schedule_agree() -> None:
    start, end = utc(2025, 3, 1), utc(2025, 4, 30)
    ran = fired_with_apscheduler(start, end)
    pure = next_scan_times(start, SCHEDULE, NYSE, count=len(ran) + 1)
    assert [(d.at, d.kind) for d in pure if d.at <= end] == ran


@pytest.mark.parametrize(
    ("day", "premarket_utc", "market_utc"),
    [
        (date(2025, 3, 7), utc(2025, 3, 7, 14), utc(2025, 3, 7, 15)),  # EST, before Mar 9
        (date(2025, 3, 10), utc(2025, 3, 10, 13), utc(2025, 3, 10, 14)),  # EDT after
        (date(2025, 10, 31), utc(2025, 10, 31, 13), utc(2025, 10, 31, 14)),  # EDT, before Nov 2
        (date(2025, 11, 3), utc(2025, 11, 3, 14), utc(2025, 11, 3, 15)),  # EST after
    ],
)
def test_scans_fire_at_the_right_utc_instants_on_both_sides_of_dst(
    day: date, premarket_utc: datetime, market_utc: datetime
) -> None:
    after = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    due = next_scan_times(after, SCHEDULE, NYSE, count=2)
    assert [(d.kind, d.at, d.day) for d in due] == [
        (ScanKind.PREMARKET, premarket_utc, day), (ScanKind.MARKET, market_utc, day),
    ]  # fmt: skip
    ran = fired_with_apscheduler(after, after + timedelta(hours=23))
    assert ran == [(premarket_utc, ScanKind.PREMARKET), (market_utc, ScanKind.MARKET)]


def test_next_scan_after_friday_close_is_monday_premarket() -> None:
    due = next_scan_times(utc(2025, 11, 28, 21), SCHEDULE, NYSE)
    assert due[0].at == utc(2025, 12, 1, 14) and due[0].kind is ScanKind.PREMARKET


def test_a_job_firing_on_a_holiday_or_weekend_does_not_run() -> None:
    assert not should_run(utc(2025, 11, 27, 14), SCHEDULE, NYSE)
    assert not should_run(utc(2025, 11, 29, 14), SCHEDULE, NYSE)
    assert should_run(utc(2025, 11, 28, 14), SCHEDULE, NYSE)


def test_missed_run_policy_runs_only_todays_latest_due_scan_before_the_close() -> None:
    never = {ScanKind.PREMARKET: None, ScanKind.MARKET: None}
    # down at 09:00 and 10:00, back at 11:30: run the 10:00 market scan once
    due = missed_scan(utc(2025, 11, 25, 16, 30), SCHEDULE, NYSE, never)
    assert due is not None and due.kind is ScanKind.MARKET and due.at == utc(2025, 11, 25, 15)
    # back at 09:30: the premarket scan is the latest due
    assert missed_scan(utc(2025, 11, 25, 14, 30), SCHEDULE, NYSE, never).kind is ScanKind.PREMARKET
    # already ran after it was due: nothing
    ran = {ScanKind.PREMARKET: None, ScanKind.MARKET: utc(2025, 11, 25, 15, 0, 2)}
    assert missed_scan(utc(2025, 11, 25, 16, 30), SCHEDULE, NYSE, ran) is None
    # after the close, before the first scan, or on a holiday: never a stale scan
    assert missed_scan(utc(2025, 11, 25, 21, 1), SCHEDULE, NYSE, never) is None
    assert missed_scan(utc(2025, 11, 25, 13, 59), SCHEDULE, NYSE, never) is None
    assert missed_scan(utc(2025, 11, 27, 16), SCHEDULE, NYSE, never) is None
    # early close (13:00 New York on 2025-11-28): 13:30 is too late
    assert missed_scan(utc(2025, 11, 28, 18, 30), SCHEDULE, NYSE, never) is None


def test_catch_up_at_start_runs_the_missed_scan_once() -> None:
    clock = SimClock(utc(2025, 11, 25, 16, 30))
    ran: list[ScanKind] = []
    scheduler = ScanScheduler(clock=clock, schedule=SCHEDULE, calendar=NYSE,
                              run_scan=ran.append)  # fmt: skip
    assert scheduler.catch_up() is not None and ran == [ScanKind.MARKET]


def test_scan_times_follow_the_configured_times_and_zone() -> None:
    toronto = ScheduleConfig(premarket_scan="08:30", market_hours_scan="11:15",
                             timezone="America/Toronto")  # fmt: skip
    due = scan_times_on(date(2025, 7, 2), toronto)
    assert [d.at for d in due] == [utc(2025, 7, 2, 12, 30), utc(2025, 7, 2, 15, 15)]


def test_start_registers_one_weekday_cron_job_per_scan_in_new_york_time() -> None:
    ran: list[ScanKind] = []
    scheduler = ScanScheduler(clock=SimClock(utc(2025, 11, 29, 15)), schedule=SCHEDULE,
                              calendar=NYSE, run_scan=ran.append)  # fmt: skip
    scheduler.start()  # a Saturday: nothing to catch up
    try:
        jobs = scheduler.jobs()
    finally:
        scheduler.shutdown()
    assert ran == []
    assert jobs == {
        "scan-premarket": "cron[day_of_week='mon-fri', hour='9', minute='0']",
        "scan-market": "cron[day_of_week='mon-fri', hour='10', minute='0']",
    }
