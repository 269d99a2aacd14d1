"""Quotes in: the ``QuoteFeed`` protocol, the validation and staleness guard, the replay feed.

Owns the last line of defence between a feed and order logic: ``QuoteGuard.accept`` lets a
quote through only if it is fresh by the injected clock (not older than the configured
age, not from the future) and not halted. Malformed, crossed, zero, negative or NaN
prices never become a ``Quote`` at all (``Quote.parse`` raises), so feeds build quotes
with ``parse_quote`` and count what they drop. It must never place orders or read the
wall clock.

``ReplayFeed`` turns daily bars into quotes at fixed times of each session, in this
documented order (conservative for long positions: the stop is tested before the target
when a bar touches both):

====================  ==========================================================
 09:30 New York        the open
 11:00                 the low
 13:30                 the high
 15:55                 the close (before the bell, so DAY orders can still fill)
====================  ==========================================================

Each quote has bid = ask = last = the price. Intraday bars, where given, are replayed one
quote per bar at the bar's time instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Protocol
from zoneinfo import ZoneInfo

from quant_agent.core.clock import Clock
from quant_agent.core.errors import InvalidQuoteError
from quant_agent.core.ids import Ticker
from quant_agent.core.market import Bar, Quote

log = logging.getLogger(__name__)
NEW_YORK = ZoneInfo("America/New_York")

#: The instants (New York time) a daily bar is replayed at, and which price each shows.
BAR_PATH: tuple[tuple[time, str], ...] = (
    (time(9, 30), "open"),
    (time(11, 0), "low"),
    (time(13, 30), "high"),
    (time(15, 55), "close"),
)


class QuoteFeed(Protocol):
    """A source of quotes in time order (a replay, a synthetic market, a live stream)."""

    def batches(self) -> Iterator[QuoteBatch]:
        """Yield the quotes grouped by the instant they happen at, oldest first."""
        ...


@dataclass(frozen=True, slots=True)
class QuoteBatch:
    """Every quote of one instant."""

    at: datetime
    quotes: tuple[Quote, ...]


def parse_quote(**fields: object) -> Quote | None:
    """Build a quote from untrusted fields; None (logged) when invalid."""
    try:
        return Quote.parse(**fields)  # type: ignore[arg-type]
    except (InvalidQuoteError, TypeError) as exc:
        log.warning("quote dropped: %s", exc)
        return None


class QuoteGuard:
    """Let only fresh quotes of non-halted tickers through; remember the latest per ticker."""

    __slots__ = ("_clock", "_max_age", "latest", "rejected")

    def __init__(self, clock: Clock, max_age: timedelta) -> None:
        self._clock = clock
        self._max_age = max_age
        self.latest: dict[Ticker, Quote] = {}
        self.rejected = 0

    def accept(self, quote: Quote) -> bool:
        """True when ``quote`` may reach order logic; it then becomes the ticker's latest."""
        age = self._clock.now() - quote.ts_event
        if age > self._max_age or age < timedelta(0) or quote.is_halted:
            self.rejected += 1
            return False
        seen = self.latest.get(quote.ticker)
        if seen is not None and seen.ts_event > quote.ts_event:
            self.rejected += 1  # out of order: an older quote never replaces a newer one
            return False
        self.latest[quote.ticker] = quote
        return True

    def fresh(self, ticker: Ticker) -> Quote | None:
        """The ticker's latest quote if it is still fresh now, else None."""
        quote = self.latest.get(ticker)
        if quote is None or not quote.is_fresh(self._clock.now(), self._max_age):
            return None
        return quote


def bar_quotes(bar: Bar, session: date) -> list[Quote]:
    """The quotes a daily bar is replayed as (see ``BAR_PATH``)."""
    quotes = []
    for when, field in BAR_PATH:
        at = datetime.combine(session, when, tzinfo=NEW_YORK).astimezone(UTC)
        price: Decimal = getattr(bar, field)
        quotes.append(
            Quote(
                ticker=bar.ticker,
                bid=price,
                ask=price,
                last=price,
                volume=bar.volume,
                ts_event=at,
                ts_init=at,
            )  # fmt: skip
        )
    return quotes


class ReplayFeed:
    """Quotes of recorded bars, session by session (``bars[session][ticker]``)."""

    def __init__(
        self,
        daily: Mapping[date, Mapping[str, Bar]],
        intraday: Mapping[date, Iterable[Bar]] | None = None,
    ) -> None:
        self._daily = daily
        self._intraday = intraday or {}

    @property
    def sessions(self) -> list[date]:
        return sorted(self._daily)

    def batches(self) -> Iterator[QuoteBatch]:
        for session in self.sessions:
            yield from self.session_batches(session)

    def session_batches(self, session: date) -> list[QuoteBatch]:
        """The quote batches of one session, in time order."""
        by_time: dict[datetime, list[Quote]] = {}
        if session in self._intraday:
            for bar in self._intraday[session]:
                at = bar.ts_event
                if at is None:
                    continue
                by_time.setdefault(at, []).append(
                    Quote(
                        ticker=bar.ticker,
                        bid=bar.close,
                        ask=bar.close,
                        last=bar.close,
                        volume=bar.volume,
                        ts_event=at,
                        ts_init=at,
                    )  # fmt: skip
                )
        else:
            for ticker in sorted(self._daily[session]):
                for quote in bar_quotes(self._daily[session][ticker], session):
                    by_time.setdefault(quote.ts_event, []).append(quote)
        return [QuoteBatch(at, tuple(qs)) for at, qs in sorted(by_time.items())]
