"""Questrade stream sockets: L1 quotes and order notifications, kept alive through faults.

One ``StreamClient`` per stream type (Questrade drops the older of two sockets of a type).
A connection is: port request over REST (``markets/quotes?...&stream=true&mode=WebSocket``
or ``notifications?mode=WebSocket``) → WebSocket to the API host at that port
(``compression=None``) → the raw access token as the first frame → ``{"success":true}``.
Then frames are decoded by ``parsing`` and handed to the subclass. A watchdog treats
``stall_timeout`` seconds without a frame as a dead socket; any failure reconnects with
exponential backoff and jitter (new port request, re-auth, resubscribe). While down,
``up`` is False and ``down_since`` says since when, so consumers treat quotes as stale.
Malformed frames and invalid quotes are counted and dropped, never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from quant_agent.core.clock import Clock
from quant_agent.core.market import Quote
from quant_agent.questrade import models as m
from quant_agent.questrade import parsing
from quant_agent.questrade.auth import Authenticator
from quant_agent.questrade.decoding import decode
from quant_agent.questrade.errors import QuestradeError, QuestradeParseError
from quant_agent.questrade.parsing import QUOTE
from quant_agent.questrade.quote_book import QUOTE_CORE as QUOTE_CORE  # re-exported
from quant_agent.questrade.quote_book import QuoteBook
from quant_agent.questrade.rest import QuestradeRest

Sleep = Callable[[float], Awaitable[None]]
# websockets logs every frame's text at DEBUG, and the first frame is the access token:
# its own logger, never below INFO, keeps the token out of every log.
WS_LOGGER = logging.getLogger("quant_agent.questrade.websocket")
WS_LOGGER.setLevel(logging.INFO)


@dataclasses.dataclass
class StreamStats:
    connects: int = 0
    failures: int = 0
    stalls: int = 0
    frames: int = 0
    malformed: int = 0
    rejected: int = 0
    out_of_order: int = 0  # records older (lastTradeTime) than the one merged: dropped
    last_error: str = ""


class StreamClient:
    """Connect, authenticate, read and reconnect; subclasses say which port and what to do
    with a decoded frame."""

    kind = "stream"

    def __init__(
        self,
        rest: QuestradeRest,
        auth: Authenticator,
        *,
        clock: Clock,
        stall_timeout: float = 60.0,
        handshake_timeout: float = 10.0,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._rest = rest
        self._auth = auth
        self._clock = clock
        self._stall = stall_timeout
        self._handshake = handshake_timeout
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._task: asyncio.Task[None] | None = None
        self._conn: ClientConnection | None = None
        self._up = asyncio.Event()
        self._tick = asyncio.Event()
        self.stats = StreamStats()
        self.down_since: datetime | None = clock.now()

    @property
    def up(self) -> bool:
        return self._up.is_set()

    async def wait_up(self) -> None:
        """Wait until the socket is authenticated (use with ``asyncio.timeout``)."""
        await self._up.wait()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds, re-checked after every connect, failure and
        frame (use with ``asyncio.timeout``)."""
        while not predicate():
            self._tick.clear()
            await self._tick.wait()

    async def wait_connects(self, count: int) -> None:
        """Wait until ``stats.connects`` reaches ``count``."""
        await self.wait_until(lambda: self.stats.connects >= count)

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"questrade-{self.kind}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._mark_down()

    async def _reconnected(self) -> None:
        """Called on the stream's loop after every connect but the first."""

    async def reconnect(self) -> None:
        """Close the current socket so the loop reconnects (e.g. after a subscription change)."""
        conn = self._conn
        if conn is not None:
            await conn.close()

    async def _port(self) -> int:
        raise NotImplementedError

    def _on_bytes(self, frame: bytes | str) -> None:
        """A frame as received; by default decoded generically for ``_on_frame``."""
        self._on_frame(parsing.loads(frame, self.kind))

    def _on_frame(self, doc: Any) -> None:
        raise NotImplementedError

    def _mark_down(self) -> None:
        if self._up.is_set():
            self._up.clear()
            self.down_since = self._clock.now()

    async def _run(self) -> None:
        failures = 0
        while True:
            connects = self.stats.connects
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except (QuestradeError, OSError, WebSocketException, TimeoutError) as exc:
                self.stats.failures += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"[:200]
                # A socket that was up restarts the backoff; failing to connect grows it.
                failures = 1 if self.stats.connects > connects else failures + 1
            finally:
                self._conn = None
                self._mark_down()
                self._tick.set()
            if failures:
                delay = min(self._max_backoff, self._backoff * 2 ** (failures - 1))
                await self._sleep(delay * (0.5 + self._rng.random() / 2))

    async def _session(self) -> None:
        port = await self._port()
        session = await self._auth.session()
        host = urlsplit(session.api_server)
        scheme = "wss" if host.scheme == "https" else "ws"
        uri = f"{scheme}://{host.hostname}:{port}/"
        async with connect(
            uri, compression=None, open_timeout=self._handshake, logger=WS_LOGGER
        ) as conn:
            self._conn = conn
            await conn.send(session.access_token.get_secret_value())
            reply = await asyncio.wait_for(conn.recv(), self._handshake)
            try:
                ok = json.loads(reply) == {"success": True}
            except ValueError:
                ok = False
            if not ok:
                await self._auth.renew(session)
                raise QuestradeError(f"{self.kind} stream refused the access token")
            self.stats.connects += 1
            self.down_since = None
            self._up.set()
            self._tick.set()
            if self.stats.connects > 1:
                await self._reconnected()
            while True:
                try:  # a timeout scope, not wait_for: no task per frame
                    async with asyncio.timeout(self._stall):
                        frame = await conn.recv(decode=False)  # bytes: msgspec checks UTF-8
                except TimeoutError:
                    self.stats.stalls += 1
                    raise
                self.stats.frames += 1
                try:
                    self._on_bytes(frame)
                except QuestradeParseError:
                    self.stats.malformed += 1
                self._tick.set()


class QuoteStream(StreamClient):
    """L1 quotes merged by symbol id; the latest valid ``Quote`` per ticker for consumers.

    Each frame's valid quotes go, in order, to ``on_quotes`` (one call per frame) and/or
    ``on_quote`` (one call per quote); merging and validation are ``QuoteBook``'s."""

    kind = "quotes"

    def __init__(
        self,
        rest: QuestradeRest,
        auth: Authenticator,
        *,
        clock: Clock,
        allow_delayed: bool = False,
        on_quote: Callable[[Quote], None] | None = None,
        on_quotes: Callable[[list[Quote]], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(rest, auth, clock=clock, **kwargs)
        self._ids: tuple[int, ...] = ()
        self._book = QuoteBook(allow_delayed=allow_delayed)
        self._on_quote = on_quote
        self._on_quotes = on_quotes

    async def subscribe(self, tickers: Iterable[str]) -> None:
        """Resolve ``tickers`` to symbol ids and (re)connect with exactly this set."""
        symbols = await self._rest.resolve(tickers)
        self._book.subscribe({s.symbol_id: name for name, s in symbols.items()})
        self._ids = tuple(sorted(self._book.tickers))
        if self._task is None:
            self.start()
        else:
            await self.reconnect()

    @property
    def subscribed(self) -> tuple[int, ...]:
        return self._ids

    def latest(self, ticker: str) -> Quote | None:
        """The last valid quote of ``ticker`` (check ``up`` and its age before trading)."""
        return self._book.valid.get(ticker.strip().upper())

    def raw(self, symbol_id: int) -> m.Level1Quote | None:
        """The merged Questrade record of ``symbol_id`` (decoded on demand), if complete."""
        record = self._book.record(symbol_id)
        if record is None:
            return None
        try:
            quote: m.Level1Quote = decode(m.Level1Quote, QUOTE, record, f"quote {symbol_id}")
        except QuestradeParseError:
            return None
        return quote

    async def _port(self) -> int:
        if not self._ids:
            raise QuestradeError("no symbols subscribed")
        return await self._rest.quote_stream_port(self._ids)

    def _on_bytes(self, frame: bytes | str) -> None:
        book = self._book
        before = book.rejected
        quotes = book.apply_frame(frame, self._clock.now())  # the typed decoder first
        if quotes is None:
            self._on_frame(parsing.loads(frame, self.kind))
            return
        self.stats.rejected += book.rejected - before
        self._publish(quotes)

    def _on_frame(self, doc: Any) -> None:
        records = doc.get("quotes") if isinstance(doc, dict) else None
        if not isinstance(records, list):
            if isinstance(doc, dict) and "success" in doc:
                return
            raise QuestradeParseError("quotes frame without a 'quotes' list")
        book = self._book
        before = book.rejected
        quotes = book.apply(records, self._clock.now())
        self.stats.rejected += book.rejected - before
        self._publish(quotes)

    def _publish(self, quotes: list[Quote]) -> None:
        self.stats.out_of_order = self._book.out_of_order
        if not quotes:
            return
        if self._on_quotes is not None:
            self._on_quotes(quotes)
        if self._on_quote is not None:
            for quote in quotes:
                self._on_quote(quote)


class NotificationStream(StreamClient):
    """Order and execution notifications, handed to ``on_notification`` as they arrive."""

    kind = "notifications"

    def __init__(
        self,
        rest: QuestradeRest,
        auth: Authenticator,
        *,
        clock: Clock,
        on_notification: Callable[[m.Notification], None],
        on_reconnect: Callable[[], Awaitable[None]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(rest, auth, clock=clock, **kwargs)
        self._on_notification = on_notification
        self._on_reconnect = on_reconnect

    async def _port(self) -> int:
        return await self._rest.notifications_port()

    async def _reconnected(self) -> None:
        # What was pushed while the socket was down is lost: ask for it (the broker's
        # catch-up reads orders and executions over REST; duplicates are ignored).
        if self._on_reconnect is not None:
            await self._on_reconnect()

    def _on_frame(self, doc: Any) -> None:
        if isinstance(doc, dict) and "orders" not in doc and "success" in doc:
            return
        self._on_notification(parsing.parse_notification(doc))
