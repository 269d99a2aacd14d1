"""The only module that reads the wall clock.

Every component that needs the time receives a ``Clock`` and calls ``now()``; live trading
uses ``LiveClock``, replay and backtest use ``SimClock``. ``now()`` always returns a
timezone-aware UTC ``datetime``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """A source of the current time."""

    def now(self) -> datetime:
        """Return the current instant as an aware UTC datetime."""
        ...

    def monotonic(self) -> float:
        """Return seconds from an arbitrary origin that never goes backwards."""
        ...


def ensure_utc(value: datetime) -> datetime:
    """Return ``value`` converted to UTC; reject naive datetimes, whose zone is a guess."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no timezone; pass an aware one")
    return value.astimezone(UTC)


class LiveClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def __repr__(self) -> str:
        return "LiveClock()"


class SimClock:
    """A settable clock for replay, backtest and tests. It never moves backwards."""

    def __init__(self, start: datetime) -> None:
        self._now = ensure_utc(start)
        self._origin = self._now

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return (self._now - self._origin).total_seconds()

    def set(self, value: datetime) -> None:
        """Move the clock to ``value``; moving backwards raises ``ValueError``."""
        value = ensure_utc(value)
        if value < self._now:
            raise ValueError(
                f"SimClock cannot go backwards: {value.isoformat()} < {self._now.isoformat()}"
            )
        self._now = value

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` and return the new time."""
        if delta < timedelta(0):
            raise ValueError(f"SimClock cannot advance by a negative delta {delta}")
        self._now = self._now + delta
        return self._now

    def __repr__(self) -> str:
        return f"SimClock({self._now.isoformat()})"
