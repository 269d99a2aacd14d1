"""Exchange trading calendars: sessions, holidays, early closes and regular-hours queries.

This module owns every answer to "is the exchange open?" and "when does it next open or
close?" for the exchanges we trade (NYSE, TSX), and the mapping from a ticker to its
exchange. It wraps ``exchange_calendars`` once, at construction, into plain sorted arrays
(session dates, open and close instants as integer microseconds since the epoch) so that
per-quote queries are a ``bisect`` or a set lookup, with no pandas work per call.

Only regular sessions are modelled (no pre- or post-market). A session is open from its
open instant (inclusive) to its close instant (exclusive), at any resolution. Every
``datetime`` returned is timezone-aware UTC; ``datetime`` inputs must be aware (a naive
one raises ``ValueError``). ``date`` inputs are exchange-local session dates. Queries
outside the calendar's covered range raise ``ValueError`` naming that range.
"""

from __future__ import annotations

import functools
import warnings
from bisect import bisect_left, bisect_right
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import exchange_calendars as xcals
import numpy as np
import numpy.typing as npt
import pandas as pd

from quant_agent.core.clock import ensure_utc
from quant_agent.core.enums import Exchange

__all__ = ["MarketCalendar", "exchange_for_ticker", "get_calendar"]

DEFAULT_START = date(2000, 1, 1)
DEFAULT_END = date(2035, 12, 31)

_TSX_SUFFIXES = (".TO", ".VN")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def exchange_for_ticker(ticker: str) -> Exchange:
    """Return the exchange a ticker trades on: ``.TO``/``.VN`` suffix means TSX, else NYSE.

    The suffix test is case-insensitive. ``BRK.B`` is NYSE: only the two Canadian
    suffixes select TSX.
    """
    symbol = ticker.strip().upper()
    if not symbol:
        raise ValueError(f"empty ticker {ticker!r} has no exchange")
    return Exchange.TSX if symbol.endswith(_TSX_SUFFIXES) else Exchange.NYSE


def _to_us(t: datetime) -> int:
    """Microseconds since the epoch of an aware datetime (exact; sub-microsecond floored)."""
    return (ensure_utc(t) - _EPOCH) // _ONE_US


def _from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _utc_micros(instants: pd.Series) -> npt.NDArray[np.int64]:
    """Integer microseconds since the epoch of a tz-aware datetime Series."""
    naive_utc = instants.dt.tz_convert(UTC).dt.tz_localize(None)
    return np.asarray(naive_utc.to_numpy(dtype="datetime64[us]"), dtype=np.int64)


def _reject_datetime(day: date) -> None:
    # ``datetime`` subclasses ``date`` but never compares equal to one, so a datetime
    # passed where a session date is expected would silently miss every lookup.
    if isinstance(day, datetime):
        raise TypeError(
            f"expected a session date, got the datetime {day.isoformat()}; "
            "use session_for(t) to find the session of an instant"
        )


class MarketCalendar:
    """The regular-session calendar of one exchange over ``[start, end]`` (local dates)."""

    def __init__(
        self, exchange: Exchange, start: date = DEFAULT_START, end: date = DEFAULT_END
    ) -> None:
        _reject_datetime(start)
        _reject_datetime(end)
        if start >= end:
            raise ValueError(f"calendar start {start} must be before its end {end}")
        self._exchange = Exchange(exchange)
        self._first_day = start
        self._last_day = end
        try:
            # Explicit bounds: the library's default window is relative to the wall clock
            # at import time (today - 20y .. today + 1y), which is both too short and
            # non-deterministic.
            # exchange-calendars 4.13 under pandas 3.1 warns (Pandas4Warning) about its own
            # use of Series.values while building; nothing we can act on.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                cal = xcals.get_calendar(
                    self._exchange.calendar_code, start=start.isoformat(), end=end.isoformat()
                )
        except (ValueError, xcals.errors.CalendarError) as exc:
            raise ValueError(
                f"cannot build the {self._exchange} calendar for {start}..{end}: {exc}"
            ) from exc
        self._tz: ZoneInfo = cal.tz

        # Read the schedule through tz-explicit conversions: ``.values`` on a tz-aware
        # column is deprecated under pandas 3.1 (Pandas4Warning) and changes type in 4.
        days_d64 = cal.sessions.to_numpy(dtype="datetime64[D]")
        opens_us = _utc_micros(cal.opens)
        closes_us = _utc_micros(cal.closes)
        if len(days_d64) == 0:
            raise ValueError(f"the {self._exchange} calendar has no sessions in {start}..{end}")
        if not (np.all(opens_us < closes_us) and np.all(closes_us[:-1] <= opens_us[1:])):
            raise ValueError(f"{self._exchange} sessions overlap or are out of order")

        # Plain Python lists: bisect on a list of ints is several times faster than
        # np.searchsorted on a scalar, and indexing returns ready-made objects.
        self._days: list[date] = days_d64.tolist()
        self._ordinals: list[int] = [d.toordinal() for d in self._days]
        self._day_index: dict[date, int] = {d: i for i, d in enumerate(self._days)}
        self._opens_us: list[int] = opens_us.tolist()
        self._closes_us: list[int] = closes_us.tolist()
        self._opens: list[datetime] = [_from_us(us) for us in self._opens_us]
        self._closes: list[datetime] = [_from_us(us) for us in self._closes_us]

        early = {d.date() for d in cal.early_closes}
        self._early_closes: frozenset[date] = frozenset(early & self._day_index.keys())

        # Instants covered: local midnight of the first day to local midnight after the last.
        self._min_us = _to_us(datetime.combine(start, time(0), tzinfo=self._tz))
        self._max_us = _to_us(datetime.combine(end + timedelta(days=1), time(0), tzinfo=self._tz))

    # ------------------------------------------------------------------ properties

    @property
    def exchange(self) -> Exchange:
        return self._exchange

    @property
    def first_day(self) -> date:
        """First local date covered (may itself be a holiday)."""
        return self._first_day

    @property
    def last_day(self) -> date:
        """Last local date covered (may itself be a holiday)."""
        return self._last_day

    @property
    def tz(self) -> ZoneInfo:
        """The exchange's local time zone (session dates are dates in this zone)."""
        return self._tz

    def __repr__(self) -> str:
        return f"MarketCalendar({self._exchange}, {self._first_day}..{self._last_day})"

    # ------------------------------------------------------------------ range checks

    def _range_text(self) -> str:
        return (
            f"the {self._exchange} calendar covers {self._first_day.isoformat()}.."
            f"{self._last_day.isoformat()} ({self._tz.key} dates)"
        )

    def _check_day(self, day: date) -> None:
        _reject_datetime(day)
        if not self._first_day <= day <= self._last_day:
            raise ValueError(f"{day.isoformat()} is out of range: {self._range_text()}")

    def _instant_us(self, t: datetime) -> int:
        us = _to_us(t)
        if not self._min_us <= us < self._max_us:
            raise ValueError(f"{ensure_utc(t).isoformat()} is out of range: {self._range_text()}")
        return us

    def _session_index(self, day: date) -> int:
        self._check_day(day)
        i = self._day_index.get(day)
        if i is None:
            raise ValueError(f"{day.isoformat()} is not a {self._exchange} trading session")
        return i

    def _beyond(self, what: str, after: object) -> ValueError:
        return ValueError(f"no {what} {after} within range: {self._range_text()}")

    # ------------------------------------------------------------------ sessions (dates)

    def is_trading_day(self, day: date) -> bool:
        """True if ``day`` (a local date) has a regular session."""
        self._check_day(day)
        return day in self._day_index

    def is_early_close(self, day: date) -> bool:
        """True if ``day`` is a session that closes before the exchange's normal close."""
        self._check_day(day)
        return day in self._early_closes

    def session_open(self, day: date) -> datetime:
        """The UTC open instant of the session on ``day``; ValueError if not a session."""
        return self._opens[self._session_index(day)]

    def session_close(self, day: date) -> datetime:
        """The UTC close instant of the session on ``day`` (early closes included)."""
        return self._closes[self._session_index(day)]

    def next_trading_day(self, day: date) -> date:
        """The first session date strictly after ``day``."""
        self._check_day(day)
        i = bisect_right(self._ordinals, day.toordinal())
        if i >= len(self._days):
            raise self._beyond("trading day after", day.isoformat())
        return self._days[i]

    def previous_trading_day(self, day: date) -> date:
        """The last session date strictly before ``day``."""
        self._check_day(day)
        i = bisect_left(self._ordinals, day.toordinal()) - 1
        if i < 0:
            raise self._beyond("trading day before", day.isoformat())
        return self._days[i]

    def trading_days(self, start: date, end: date) -> list[date]:
        """Session dates from ``start`` to ``end``, both inclusive, in order."""
        self._check_day(start)
        self._check_day(end)
        if start > end:
            raise ValueError(f"trading_days start {start} is after end {end}")
        lo = bisect_left(self._ordinals, start.toordinal())
        hi = bisect_right(self._ordinals, end.toordinal())
        return self._days[lo:hi]

    # ------------------------------------------------------------------ instants

    def _containing_index(self, us: int) -> int | None:
        i = bisect_right(self._opens_us, us) - 1
        if i >= 0 and us < self._closes_us[i]:
            return i
        return None

    def is_market_open(self, t: datetime) -> bool:
        """True if ``t`` falls in a regular session: ``open <= t < close``."""
        return self._containing_index(self._instant_us(t)) is not None

    def session_for(self, t: datetime) -> date | None:
        """The session whose regular hours contain ``t``, or None when the market is shut."""
        i = self._containing_index(self._instant_us(t))
        return None if i is None else self._days[i]

    def next_open(self, t: datetime) -> datetime:
        """The first session open strictly after ``t``."""
        us = self._instant_us(t)
        i = bisect_right(self._opens_us, us)
        if i >= len(self._opens):
            raise self._beyond("session open after", ensure_utc(t).isoformat())
        return self._opens[i]

    def next_close(self, t: datetime) -> datetime:
        """The first session close strictly after ``t``."""
        us = self._instant_us(t)
        i = bisect_right(self._closes_us, us)
        if i >= len(self._closes):
            raise self._beyond("session close after", ensure_utc(t).isoformat())
        return self._closes[i]

    def previous_close(self, t: datetime) -> datetime:
        """The last session close at or before ``t``."""
        us = self._instant_us(t)
        i = bisect_right(self._closes_us, us) - 1
        if i < 0:
            raise self._beyond("session close at or before", ensure_utc(t).isoformat())
        return self._closes[i]


_ALIASES: dict[str, Exchange] = {
    **{e.value: e for e in Exchange},
    **{e.calendar_code: e for e in Exchange},
}


def _resolve_exchange(exchange: Exchange | str) -> Exchange:
    if isinstance(exchange, Exchange):
        return exchange
    found = _ALIASES.get(str(exchange).strip().upper())
    if found is None:
        raise ValueError(
            f"unknown exchange {exchange!r}; expected one of {', '.join(sorted(_ALIASES))}"
        )
    return found


@functools.cache  # lru_cache(maxsize=None): one calendar per Exchange
def _calendar_for(exchange: Exchange) -> MarketCalendar:
    return MarketCalendar(exchange)


def get_calendar(exchange: Exchange | str) -> MarketCalendar:
    """The shared default-range calendar of an exchange ("NYSE"/"TSX"/"XNYS"/"XTSE")."""
    return _calendar_for(_resolve_exchange(exchange))
