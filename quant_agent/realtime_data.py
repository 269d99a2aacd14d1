"""Quotes in: the ``QuoteFeed`` protocol, the validation and staleness guard, the replay feed.

Owns the last line of defence between a feed and order logic: ``QuoteGuard.accept`` lets a
quote through only if it is fresh by the injected clock (not older than the configured
age, not from the future) and not halted. Malformed, crossed, zero, negative or NaN
prices never become a ``Quote`` at all (``Quote.parse`` raises), so feeds build quotes
with ``parse_quote`` and count what they drop. It must never place orders or read the
wall clock.

``RealtimeDataHandler`` is the live feed (the Questrade L1 stream): quotes are stale
(withheld) while the stream is down, outages are published on the bus, a watchdog forces a
reconnect of a silent stream in market hours (see its docstring).

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

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from quant_agent.core.clock import Clock
from quant_agent.core.errors import InvalidQuoteError
from quant_agent.core.events import ConnectionStatusChanged, FeedStatusChanged
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
        return bool(self.accept_all((quote,)))

    def accept_all(self, quotes: Iterable[Quote]) -> list[Quote]:
        """``accept`` for each quote in order, reading the clock once: the accepted ones."""
        now = self._clock.now()
        oldest = now - self._max_age
        latest = self.latest
        out = []
        for quote in quotes:
            at = quote.ts_event
            if at < oldest or at > now or quote.is_halted:  # age > max_age or < 0
                self.rejected += 1
                continue
            seen = latest.get(quote.ticker)
            if seen is not None and seen.ts_event > at:
                self.rejected += 1  # out of order: an older quote never replaces a newer one
                continue
            latest[quote.ticker] = quote
            out.append(quote)
        return out

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


# --- live quotes ---------------------------------------------------------------------------


KeepAlive = Callable[[], Coroutine[Any, Any, None]]


class LiveQuoteStream(Protocol):
    """What ``RealtimeDataHandler`` needs of a live stream (``questrade.stream.QuoteStream``)."""

    @property
    def up(self) -> bool: ...

    def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def subscribe(self, tickers: Iterable[str]) -> None: ...

    async def reconnect(self) -> None: ...


class RealtimeDataHandler:
    """Live quotes behind the ``QuoteFeed`` protocol, stale while the stream is down.

    The stream hands each validated quote to ``on_quote`` (its ``on_quote`` callback); the
    handler buffers them until ``drain`` and keeps the latest per ticker. While the stream
    is down nothing gets out: ``drain`` drops the buffer, ``get_latest_quote`` answers None,
    so no order is ever placed or filled from a quote of a dead feed. ``check`` (called by
    the live runner's loop) publishes ``ConnectionStatusChanged`` when the stream has been
    down for ``connection_grace`` (a reconnect within it is only logged, so a blip raises no
    alert) and when it comes back after that, ``FeedStatusChanged(healthy=False)`` once an
    outage has lasted ``outage_alert_after`` (and ``healthy=True`` when it ends), and is
    the watchdog: during market hours, a stream that is up but silent for ``stall_after``
    is forced to reconnect. ``connect_websocket`` also starts the REST keep-alive (a call
    whenever none was made for ``keep_alive_every``, < 25 minutes) when one is given.
    """

    def __init__(
        self, stream: LiveQuoteStream, *, clock: Clock, max_age: timedelta,
        outage_alert_after: timedelta = timedelta(minutes=2),
        stall_after: timedelta = timedelta(minutes=2),
        connection_grace: timedelta = timedelta(seconds=15), bus: _Bus | None = None,
        calendar: _Calendar | None = None, keep_alive: KeepAlive | None = None,
        name: str = "questrade-quotes",
    ) -> None:  # fmt: skip
        self.stream = stream
        self._clock = clock
        self.guard = QuoteGuard(clock, max_age)
        self._outage_after = outage_alert_after
        self._stall_after = stall_after
        self._grace = connection_grace
        self._bus = bus
        self._calendar = calendar
        self._keep_alive = keep_alive
        self._keep_task: asyncio.Task[None] | None = None
        self.name = name
        self._buffer: list[Quote] = []
        self._tickers: tuple[str, ...] = ()
        self._was_up = False
        self._down_since: datetime | None = clock.now()
        self._alerted = False
        self._said_down = False
        self._ever_up = False
        self.last_quote_at: datetime | None = None
        self.dropped_while_down = 0
        self.forced_reconnects = 0

    # --- the seed's interface ----------------------------------------------------------

    async def connect_websocket(self) -> None:
        """Start the stream (if tickers are subscribed) and the REST keep-alive."""
        if self._tickers:
            self.stream.start()
        if self._keep_alive is not None and self._keep_task is None:
            self._keep_task = asyncio.create_task(self._keep_alive(), name=f"{self.name}-alive")

    async def subscribe_quotes(self, tickers: Iterable[str]) -> None:
        """Stream exactly ``tickers`` from now on (a new port request and reconnect)."""
        self._tickers = tuple(sorted({t.strip().upper() for t in tickers}))
        await self.stream.subscribe(self._tickers)

    def get_latest_quote(self, ticker: str) -> Quote | None:
        """The ticker's latest quote when the stream is up and the quote is fresh, else None."""
        if not self.stream.up:
            return None
        return self.guard.fresh(Ticker(ticker.strip().upper()))

    def is_market_open(self) -> bool:
        """Whether the regular session is open now (False without a calendar)."""
        return self._calendar is not None and self._calendar.is_market_open(self._clock.now())

    def handle_disconnection(self) -> None:
        """The stream is down: drop buffered quotes, forget the latest ones, say so once,
        and alert once the outage has lasted ``outage_alert_after``."""
        now = self._clock.now()
        self.dropped_while_down += len(self._buffer)
        self._buffer.clear()
        self.guard.latest.clear()
        if self._was_up or self._down_since is None:
            self._was_up = False
            self._down_since = now
            log.warning("%s: quote stream down: quotes are stale; reconnecting", self.name)
        if not self._said_down and now - self._down_since >= self._grace:
            self._said_down = True
            self._publish_connection(False, f"quote stream down for {now - self._down_since}")
        if not self._alerted and now - self._down_since >= self._outage_after:
            self._alerted = True
            self._publish_feed(False, f"no live quotes for {now - self._down_since} (outage)")

    # --- feed --------------------------------------------------------------------------

    def on_quote(self, quote: Quote) -> None:
        """The stream's callback: keep a validated quote for ``drain``."""
        if not self.stream.up:
            self.dropped_while_down += 1
            return
        self._buffer.append(quote)
        self.last_quote_at = quote.ts_event

    def on_quotes(self, quotes: list[Quote]) -> None:
        """The stream's per-frame callback: ``on_quote`` for a whole frame at once."""
        if not self.stream.up:
            self.dropped_while_down += len(quotes)
            return
        if quotes:
            self._buffer.extend(quotes)
            self.last_quote_at = quotes[-1].ts_event

    def drain(self) -> QuoteBatch | None:
        """The quotes received since the last drain, if the stream is still up (else None)."""
        if not self.stream.up:
            self.handle_disconnection()
            return None
        quotes = self.guard.accept_all(self._buffer)
        self._buffer.clear()
        return QuoteBatch(self._clock.now(), tuple(quotes)) if quotes else None

    def batches(self) -> Iterator[QuoteBatch]:
        """What has arrived so far (never blocks): the ``QuoteFeed`` protocol."""
        batch = self.drain()
        if batch is not None:
            yield batch

    async def check(self) -> None:
        """Publish status changes and run the stall watchdog (the runner calls this)."""
        now = self._clock.now()
        if not self.stream.up:
            self.handle_disconnection()
            return
        if not self._was_up:
            self._was_up = True
            if self._said_down or not self._ever_up:
                self._publish_connection(True, "quote stream connected")
            elif self._down_since is not None:
                log.info("%s: reconnected after %s", self.name, now - self._down_since)
            self._ever_up, self._said_down = True, False
            if self._alerted:
                self._publish_feed(True, "live quotes restored")
            self._alerted, self._down_since = False, None
            self.last_quote_at = now  # the watchdog's silence counts from the reconnect
        last = self.last_quote_at or now
        if self.is_market_open() and now - last >= self._stall_after:
            self.forced_reconnects += 1
            self.last_quote_at = now
            log.warning("%s: no quote for %s in market hours: reconnecting", self.name, now - last)
            await self.stream.reconnect()

    async def close(self) -> None:
        task, self._keep_task = self._keep_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.stream.stop()

    def _publish_connection(self, connected: bool, message: str) -> None:
        if self._bus is not None:
            now = self._clock.now()
            self._bus.publish(ConnectionStatusChanged(
                ts_event=now, ts_init=now, service=self.name, connected=connected,
                message=message))  # fmt: skip

    def _publish_feed(self, healthy: bool, message: str) -> None:
        log.log(logging.INFO if healthy else logging.ERROR, "%s: %s", self.name, message)
        if self._bus is not None:
            now = self._clock.now()
            self._bus.publish(FeedStatusChanged(
                ts_event=now, ts_init=now, feed=self.name, healthy=healthy,
                message=message))  # fmt: skip


class _Bus(Protocol):
    def publish(self, event: object) -> None: ...


class _Calendar(Protocol):
    def is_market_open(self, t: datetime) -> bool: ...
