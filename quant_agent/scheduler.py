"""Scheduled scans: APScheduler cron jobs on the exchange's trading days.

Owns which instants scans are due (``scan_times_on``, ``next_scan_times``), whether a job
that fired may run (``should_run``: only on a trading day of the calendar), the missed-run
policy (``missed_scan``) and ``ScanScheduler``, the thin APScheduler 3 wiring. The pure
functions take ``now``/``after`` and a calendar, so a ``SimClock`` drives them in tests;
APScheduler itself is edge code.

Triggers: ``CronTrigger(day_of_week="mon-fri", hour, minute, timezone=schedule.timezone)``
(not ``from_crontab``, whose day numbers start on Monday = 0); weekday holidays are skipped
by ``should_run``. A job up to ``MISFIRE_GRACE`` late (a busy or suspended process) still
runs, coalesced to one run.

Missed-run policy (the process was down at a due time): on start, if today is a trading
day, the latest scan due today at or before now has not started since it was due, and
the session has not closed yet, run that one scan once, now. Earlier missed scans of the
same day and scans of previous days are never run: a stale scan is worse than none.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from quant_agent.config import ScheduleConfig
from quant_agent.core.clock import Clock, ensure_utc
from quant_agent.core.enums import ScanKind
from quant_agent.market.calendar import MarketCalendar

log = logging.getLogger(__name__)
MISFIRE_GRACE = timedelta(minutes=15)


@dataclass(frozen=True, slots=True, order=True)
class ScanDue:
    """A scan due at ``at`` (UTC) for the trading day ``day`` (local date)."""

    at: datetime
    kind: ScanKind
    day: date


def scan_times_on(day: date, schedule: ScheduleConfig) -> list[ScanDue]:
    """The scans configured on ``day`` (trading day or not), in time order."""
    tz = schedule.tz
    due = [
        ScanDue(datetime.combine(day, when, tzinfo=tz).astimezone(UTC), kind, day)
        for kind, when in (
            (ScanKind.PREMARKET, schedule.premarket_scan),
            (ScanKind.MARKET, schedule.market_hours_scan),
        )
        if when is not None
    ]
    return sorted(due)


def next_scan_times(
    after: datetime, schedule: ScheduleConfig, calendar: MarketCalendar, count: int = 1
) -> list[ScanDue]:
    """The next ``count`` scans due strictly after ``after``, on trading days only."""
    after = ensure_utc(after)
    day = after.astimezone(schedule.tz).date()
    found: list[ScanDue] = []
    while len(found) < count:
        if calendar.is_trading_day(day):
            found += [due for due in scan_times_on(day, schedule) if due.at > after]
        day += timedelta(days=1)
    return found[:count]


def should_run(now: datetime, schedule: ScheduleConfig, calendar: MarketCalendar) -> bool:
    """True when a job firing at ``now`` falls on a trading day (in the schedule's zone)."""
    return calendar.is_trading_day(ensure_utc(now).astimezone(schedule.tz).date())


def missed_scan(
    now: datetime,
    schedule: ScheduleConfig,
    calendar: MarketCalendar,
    last_started: Mapping[ScanKind, datetime | None],
) -> ScanDue | None:
    """The one scan to run at start under the missed-run policy (module docstring), if any."""
    now = ensure_utc(now)
    today = now.astimezone(schedule.tz).date()
    if not calendar.is_trading_day(today) or now >= calendar.session_close(today):
        return None
    passed = [due for due in scan_times_on(today, schedule) if due.at <= now]
    if not passed:
        return None
    latest = passed[-1]
    started = last_started.get(latest.kind)
    if started is not None and ensure_utc(started) >= latest.at:
        return None
    return latest


class ScanScheduler:
    """APScheduler 3 cron jobs that call ``run_scan(kind)`` on trading days."""

    def __init__(
        self,
        *,
        clock: Clock,
        schedule: ScheduleConfig,
        calendar: MarketCalendar,
        run_scan: Callable[[ScanKind], object],
        last_started: Callable[[ScanKind], datetime | None] = lambda kind: None,
    ) -> None:
        self._clock = clock
        self._schedule = schedule
        self._calendar = calendar
        self._run_scan = run_scan
        self._last_started = last_started
        self._scheduler: object | None = None

    def triggers(self) -> dict[ScanKind, object]:
        """One ``CronTrigger`` per scan kind, Monday to Friday in the schedule's timezone."""
        from apscheduler.triggers.cron import CronTrigger

        times = {
            ScanKind.PREMARKET: self._schedule.premarket_scan,
            ScanKind.MARKET: self._schedule.market_hours_scan,
        }
        return {
            kind: CronTrigger(
                day_of_week="mon-fri",
                hour=when.hour,
                minute=when.minute,
                timezone=self._schedule.tz,
            )  # fmt: skip
            for kind, when in times.items()
            if when is not None
        }

    def fire(self, kind: ScanKind) -> bool:
        """The job body: run the scan if today is a trading day; return whether it ran."""
        now = self._clock.now()
        if not should_run(now, self._schedule, self._calendar):
            log.info("scan %s skipped: %s is not a trading day", kind, now.date())
            return False
        self._run_scan(kind)
        return True

    def catch_up(self) -> ScanDue | None:
        """Apply the missed-run policy once (call at start); return the scan run, if any."""
        started = {kind: self._last_started(kind) for kind in ScanKind}
        due = missed_scan(self._clock.now(), self._schedule, self._calendar, started)
        if due is not None:
            log.info("running missed %s scan due at %s", due.kind, due.at.isoformat())
            self._run_scan(due.kind)
        return due

    def start(self) -> None:
        """Catch up on a missed scan, then start the background scheduler."""
        from apscheduler.schedulers.background import BackgroundScheduler

        self.catch_up()
        scheduler = BackgroundScheduler(timezone=self._schedule.tz)
        for kind, trigger in self.triggers().items():
            scheduler.add_job(
                self.fire, trigger, args=[kind], id=f"scan-{kind.value.lower()}",
                misfire_grace_time=int(MISFIRE_GRACE.total_seconds()), coalesce=True,
                max_instances=1,
            )  # fmt: skip
        scheduler.start()
        self._scheduler = scheduler

    def jobs(self) -> dict[str, str]:
        """The running scheduler's job ids and triggers (empty when not started)."""
        if self._scheduler is None:
            return {}
        return {job.id: str(job.trigger) for job in self._scheduler.get_jobs()}  # type: ignore[attr-defined]

    def shutdown(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)  # type: ignore[attr-defined]
            self._scheduler = None
