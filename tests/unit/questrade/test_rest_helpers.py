"""Client-side pieces of the REST layer that need no server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from quant_agent.core.clock import SimClock
from quant_agent.questrade.rest import RateBucket, _windows, keep_alive, query_time

T0 = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)


class Sleeper:
    def __init__(self, clock: SimClock, stop_after: int | None = None) -> None:
        self.clock, self.calls, self.stop_after = clock, [], stop_after

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.clock.advance(timedelta(seconds=seconds))
        if self.stop_after is not None and len(self.calls) >= self.stop_after:
            raise asyncio.CancelledError


def test_query_time_is_second_precision_utc() -> None:
    t = datetime(2026, 3, 3, 10, 0, 5, 123456, tzinfo=UTC) - timedelta(hours=5)
    assert query_time(t) == "2026-03-03T05:00:05Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        query_time(datetime(2026, 3, 3))  # noqa: DTZ001


def test_windows_cover_the_range_in_30_day_steps() -> None:
    windows = _windows(T0 - timedelta(days=65), T0)
    assert len(windows) == 3 and windows[-1]["endTime"] == query_time(T0)
    assert _windows(None, None) == [{}]
    with pytest.raises(ValueError):
        _windows(T0, None)


def test_bucket_spaces_requests_at_its_rate() -> None:
    clock = SimClock(T0)
    sleep = Sleeper(clock)
    bucket = RateBucket("market", 20, clock, sleep)

    async def burst() -> None:
        for _ in range(30):
            await bucket.acquire()

    asyncio.run(burst())
    assert sum(sleep.calls) == pytest.approx(0.5, abs=0.01)  # 20 at once, then 10 at 20/s


def test_bucket_waits_for_the_hourly_reset_when_the_headers_say_none_left() -> None:
    clock = SimClock(T0)
    sleep = Sleeper(clock)
    bucket = RateBucket("account", 30, clock, sleep)
    reset = T0 + timedelta(minutes=20)
    bucket.observe(httpx.Headers({"X-RateLimit-Remaining": "0",
                                  "X-RateLimit-Reset": str(int(reset.timestamp()))}))  # fmt: skip
    asyncio.run(bucket.acquire())
    assert sleep.calls == [1200.0] and clock.now() == reset


def test_keep_alive_calls_time_every_25_minutes_of_silence() -> None:
    clock = SimClock(T0)
    calls: list[datetime] = []

    class FakeRest:
        last_request_at: datetime | None = None
        refresh_due_at: datetime | None = None

        async def time(self) -> datetime:
            calls.append(clock.now())
            self.last_request_at = clock.now()
            return clock.now()

    rest: Any = FakeRest()
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(keep_alive(rest, clock=clock, sleep=Sleeper(clock, stop_after=3)))
    assert calls == [T0, T0 + timedelta(minutes=25), T0 + timedelta(minutes=50)]


def test_keep_alive_also_calls_when_the_access_token_is_due_for_refresh() -> None:
    clock = SimClock(T0)
    calls: list[datetime] = []

    class FakeRest:  # a session of 30 minutes, refreshed by the call once due (1 min before)
        last_request_at: datetime | None = None
        refresh_due_at: datetime | None = T0 + timedelta(minutes=29)

        async def time(self) -> datetime:
            calls.append(clock.now())
            if self.refresh_due_at is not None and clock.now() >= self.refresh_due_at:
                self.refresh_due_at = clock.now() + timedelta(minutes=29)
            self.last_request_at = clock.now()
            return clock.now()

    rest: Any = FakeRest()
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(keep_alive(rest, clock=clock, sleep=Sleeper(clock, stop_after=5),
                               interval=timedelta(minutes=20)))  # fmt: skip
    minutes = [(c - T0) / timedelta(minutes=1) for c in calls]
    assert minutes == [0, 20, 29, 49, 58]  # every 20 minutes, and at each refresh due time
