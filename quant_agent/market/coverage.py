"""Calendar coverage of daily bars: missing sessions, off-calendar rows and zero-volume days.

Owns the warnings that compare each ticker's bars with its exchange's session calendar
(XNYS for NYSE, XTSE for TSX) inside that ticker's own first..last range, and
``exchange_sessions``, the vectorized session list those checks (and the synthetic market)
use. Sessions come from ``quant_agent.market.calendar``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd

from quant_agent.core.enums import Exchange
from quant_agent.market.calendar import MarketCalendar, exchange_for_ticker, get_calendar

FEW_DATES = 5


def exchange_sessions(exchange: Exchange, start: date, end: date) -> pd.DatetimeIndex:
    """Session dates of ``exchange`` from ``start`` to ``end`` inclusive (naive, ns).

    Raises ``ValueError`` when the exchange calendar cannot cover the range.
    """
    first, last = pd.Timestamp(start).date(), pd.Timestamp(end).date()
    if first > last:
        return pd.DatetimeIndex([], dtype="datetime64[ns]")
    return _sessions(Exchange(exchange), first, last)


@lru_cache(maxsize=64)
def _sessions(exchange: Exchange, first: date, last: date) -> pd.DatetimeIndex:
    calendar = get_calendar(exchange)
    if not (calendar.first_day <= first and last <= calendar.last_day):
        lo = min(first, calendar.first_day)
        hi = max(last, calendar.last_day)
        calendar = MarketCalendar(exchange, date(lo.year, 1, 1), date(hi.year, 12, 31))
    days = np.array(calendar.trading_days(first, last), dtype="datetime64[D]")
    return pd.DatetimeIndex(days.astype("datetime64[ns]"))


@dataclass(frozen=True)
class _Tickers:
    """Row ranges of each ticker in a frame sorted by (ticker, date)."""

    names: list[str]
    starts: np.ndarray
    ends: np.ndarray
    days: np.ndarray

    def days_of(self, i: int) -> np.ndarray:
        return self.days[self.starts[i] : self.ends[i]]


def coverage_warnings(
    bars: pd.DataFrame, source: str, exchanges: Mapping[str, Exchange] | None = None
) -> list[str]:
    """Warnings about ``bars`` (valid rows, unique per (ticker, date), sorted by ticker, date).

    Per ticker: sessions of its exchange missing inside its first..last date, rows on dates
    that are not sessions, and zero-volume days; each with a count and the first few dates.
    """
    codes, names = pd.factorize(bars["ticker"])
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    ends = np.r_[starts[1:], len(codes)]
    days = bars["date"].to_numpy().astype("datetime64[D]")
    tickers = _Tickers([str(names[c]) for c in codes[starts]], starts, ends, days)
    by_exchange: dict[Exchange, list[int]] = {}
    for group, ticker in enumerate(tickers.names):
        exchange = (exchanges or {}).get(ticker) or exchange_for_ticker(ticker)
        by_exchange.setdefault(Exchange(exchange), []).append(group)
    out: list[str] = []
    for exchange, groups in sorted(by_exchange.items()):
        out += _calendar_warnings(exchange, np.asarray(groups), tickers, source)
    out += _zero_volume_warnings(bars["volume"].to_numpy(), tickers, source)
    return out


def _calendar_warnings(
    exchange: Exchange, g: np.ndarray, tickers: _Tickers, source: str
) -> list[str]:
    """Missing-session and off-calendar warnings for the tickers ``g`` of one exchange."""
    starts, ends, days = tickers.starts, tickers.ends, tickers.days
    rows = np.concatenate([np.arange(starts[i], ends[i]) for i in g])
    code = exchange.calendar_code
    try:
        sessions = exchange_sessions(exchange, days[rows].min(), days[rows].max())
    except ValueError as exc:
        return [f"{source}: cannot check {code} sessions: {exc}"]
    cal = sessions.to_numpy().astype("datetime64[D]")
    pos = np.searchsorted(cal, days[rows])
    on = np.zeros(len(days), dtype=bool)
    on[rows] = (pos < len(cal)) & (cal[np.minimum(pos, len(cal) - 1)] == days[rows])
    actual = np.add.reduceat(on.astype(np.int64), starts)[g]
    first, last = days[starts[g]], days[ends[g] - 1]
    missing = np.searchsorted(cal, last, side="right") - np.searchsorted(cal, first) - actual
    off = (ends[g] - starts[g]) - actual
    out: list[str] = []
    if missing.sum():
        out.append(
            f"{source}: {int(missing.sum())} {code} session(s) missing inside their ticker's "
            f"date range, over {int((missing > 0).sum())} ticker(s)"
        )
    for k in np.flatnonzero(missing > 0):
        span = cal[np.searchsorted(cal, first[k]) : np.searchsorted(cal, last[k], side="right")]
        gaps = np.setdiff1d(span, tickers.days_of(g[k]), assume_unique=True)
        out.append(
            f"{source}: {tickers.names[g[k]]}: {int(missing[k])} missing {code} session(s) "
            f"between {first[k]} and {last[k]}: {_few(gaps)}"
        )
    for k in np.flatnonzero(off > 0):
        i = g[k]
        stray = tickers.days_of(i)[~on[starts[i] : ends[i]]]
        out.append(
            f"{source}: {tickers.names[i]}: {int(off[k])} row(s) on dates that are not {code} "
            f"sessions: {_few(stray)}"
        )
    return out


def _zero_volume_warnings(volume: np.ndarray, tickers: _Tickers, source: str) -> list[str]:
    zero = volume == 0
    counts = np.add.reduceat(zero.astype(np.int64), tickers.starts)
    if not counts.sum():
        return []
    out = [
        f"{source}: {int(counts.sum())} zero-volume day(s) over {int((counts > 0).sum())} ticker(s)"
    ]
    for i in np.flatnonzero(counts > 0):
        when = tickers.days_of(int(i))[zero[tickers.starts[i] : tickers.ends[i]]]
        out.append(
            f"{source}: {tickers.names[i]}: {int(counts[i])} zero-volume day(s): {_few(when)}"
        )
    return out


def _few(days: np.ndarray) -> str:
    """The first few dates, then how many more."""
    shown = ", ".join(str(d) for d in days[:FEW_DATES])
    extra = len(days) - FEW_DATES
    return shown + (f" (+{extra} more)" if extra > 0 else "")
