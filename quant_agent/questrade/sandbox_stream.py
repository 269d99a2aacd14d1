"""The sandbox's stream sockets: port per (stream type, URL), token handshake, pushes, faults.

Follows section 7.6 of ``questrade-api.md``: the port request returns the same port for the
same URL, the first text frame must be exactly a valid access token (``{"success":true}``
back; otherwise the socket is closed with code 1008, our documented choice), no token
within 5 s closes it, a second socket of one stream type disconnects the first. Pushes are
driven by the test (``push_quotes``), so a test waits on events, never on a cadence.
Faults: abrupt TCP drop, clean close, malformed frame (``push_raw``), and the switches of
``StreamFaults``: a stall (the socket stays open, pushes are swallowed), every push
duplicated, and pushes reordered (each held back and sent after the next one).
``subscriptions`` records the symbol ids of every authenticated socket, in order, so a test
can check that each reconnect subscribed the full set again.

Session expiry (sections 3.4 and 7.6), on the sandbox's clock: ``StreamSession`` says when
the session behind a socket is over: no REST request for 30 minutes, or the access token
the socket authenticated with has expired and no later token (a refresh) is still valid.
The hub closes such a socket (code 1000, reason "session expired") whenever it looks:
before each push, and when the sandbox calls ``expire_sessions`` (before serving every REST
request and every token redemption, so a request that comes too late finds the socket
already gone, as it would on Questrade). With a ``SimClock`` nothing happens between
interactions: the test advances the clock, the next push or request enforces the rule.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

# The sandbox's sockets receive access tokens: never log frames (websockets does at DEBUG).
WS_LOGGER = logging.getLogger("quant_agent.questrade.sandbox.websocket")
WS_LOGGER.setLevel(logging.INFO)
TOKEN_TIMEOUT = 5.0
BAD_TOKEN_CLOSE = 1008
SESSION_IDLE = timedelta(minutes=30)
SESSION_EXPIRED_CLOSE = 1000


@dataclass
class StreamSession:
    """When Questrade ends the session behind a stream socket (the rule, not the sockets).

    ``rest_seen`` and ``minted`` are told of every authenticated REST request and every
    access token minted; ``over(token)`` gives the reason the session of a socket that
    authenticated with ``token`` is over, or None. ``enabled = False`` turns the rule off.
    """

    now: Callable[[], datetime]
    idle: timedelta = SESSION_IDLE
    enabled: bool = True
    last_rest_at: datetime | None = None
    expiries: dict[str, datetime] = field(default_factory=dict)  # every token ever minted
    newest_expiry: datetime | None = None

    def rest_seen(self) -> None:
        self.last_rest_at = self.now()

    def minted(self, token: str, expires_at: datetime) -> None:
        self.expiries[token] = expires_at
        if self.newest_expiry is None or expires_at > self.newest_expiry:
            self.newest_expiry = expires_at

    def over(self, token: str) -> str | None:
        if not self.enabled:
            return None
        now = self.now()
        if self.last_rest_at is not None and now - self.last_rest_at >= self.idle:
            return f"no REST request for {self.idle}"
        latest = max(filter(None, (self.expiries.get(token), self.newest_expiry)), default=None)
        if latest is not None and now >= latest:
            return "the access token expired without a refresh"
        return None


@dataclass
class StreamFaults:
    """Push faults a test switches on (they apply to every stream type)."""

    stalled: bool = False  # pushes are swallowed; the socket stays open and silent
    duplicates: int = 0  # each push is sent this many extra times
    reorder: bool = False  # each push is held back and sent after the next one
    swallowed: int = 0  # pushes swallowed by a stall so far


class StreamHub:
    """All stream servers of one sandbox."""

    def __init__(
        self, token_valid: Callable[[str], bool], session: StreamSession | None = None
    ) -> None:
        self._token_valid = token_valid
        self.session = session
        self._servers: dict[tuple[str, tuple[int, ...]], tuple[Server, int]] = {}
        self._live: dict[str, tuple[ServerConnection, tuple[int, ...]]] = {}
        self._held: dict[str, str] = {}  # a push held back by ``reorder``, per stream type
        self.handshakes = 0
        self.rejected_tokens = 0
        self.faults = StreamFaults()
        self.subscriptions: list[tuple[str, tuple[int, ...]]] = []  # per authenticated socket
        self._tokens: dict[str, str] = {}  # kind -> the token its live socket sent
        self.expired_sessions: list[tuple[str, str]] = []  # (kind, reason) per close

    async def port(self, kind: str, ids: Iterable[int] = ()) -> int:
        """The port of stream ``kind`` for ``ids``, opening a server on first request."""
        key = (kind, tuple(ids))
        if key not in self._servers:
            server = await serve(
                lambda conn: self._handle(conn, key), "127.0.0.1", 0, compression=None,
                ping_interval=None, logger=WS_LOGGER,
            )  # fmt: skip
            port = int(next(iter(server.sockets)).getsockname()[1])
            self._servers[key] = (server, port)
        return self._servers[key][1]

    async def close(self) -> None:
        for server, _ in self._servers.values():
            server.close()
            await server.wait_closed()
        self._servers.clear()

    def connected(self, kind: str) -> bool:
        return kind in self._live

    async def _handle(self, conn: ServerConnection, key: tuple[str, tuple[int, ...]]) -> None:
        kind, ids = key
        try:
            token = await asyncio.wait_for(conn.recv(), TOKEN_TIMEOUT)
        except (TimeoutError, ConnectionClosed):
            await conn.close(BAD_TOKEN_CLOSE, "no token")
            return
        if not isinstance(token, str) or not self._token_valid(token):
            self.rejected_tokens += 1
            await conn.close(BAD_TOKEN_CLOSE, "invalid token")
            return
        previous = self._live.get(kind)
        self._live[kind] = (conn, ids)
        self._tokens[kind] = token
        if previous is not None:
            await previous[0].close(1000, "replaced by a new connection")
        await conn.send('{"success":true}')
        self.handshakes += 1
        self.subscriptions.append((kind, ids))
        try:
            await conn.wait_closed()
        finally:
            if self._live.get(kind, (None,))[0] is conn:
                del self._live[kind]

    def token_of(self, kind: str) -> str | None:
        """The access token the live socket of ``kind`` authenticated with."""
        return self._tokens.get(kind) if kind in self._live else None

    def subscribed(self, kind: str) -> tuple[int, ...]:
        live = self._live.get(kind)
        return live[1] if live else ()

    async def push(self, kind: str, doc: Any) -> bool:
        """Send ``doc`` (JSON) on the live socket of ``kind``; False when none is connected."""
        return await self.push_raw(kind, json.dumps(doc))

    async def push_raw(self, kind: str, text: str) -> bool:
        """Send ``text`` on the live socket of ``kind``, through the switched-on faults;
        False when none is connected (or its session was over: the socket is closed instead)."""
        live = self._live.get(kind)
        if live is None or await self._expire(kind):
            return False
        faults = self.faults
        if faults.stalled:
            faults.swallowed += 1
            return True
        frames = [text]
        if faults.reorder:
            held = self._held.pop(kind, None)
            if held is None:
                self._held[kind] = text
                return True
            frames = [text, held]  # the newer push first, then the older one
        try:
            for frame in frames:
                for _ in range(1 + faults.duplicates):
                    await live[0].send(frame)
        except ConnectionClosed:
            return False
        return True

    async def expire_sessions(self) -> int:
        """Close every socket whose session is over; how many were closed."""
        closed = 0
        for kind in list(self._live):
            closed += await self._expire(kind)
        return closed

    async def _expire(self, kind: str) -> bool:
        reason = self.session.over(self._tokens.get(kind, "")) if self.session else None
        if reason is None:
            return False
        live = self._live.pop(kind, None)
        if live is None:
            return False
        self.expired_sessions.append((kind, reason))
        await live[0].close(SESSION_EXPIRED_CLOSE, "session expired")
        return True

    def drop(self, kind: str) -> None:
        """Abort the TCP connection without a close frame."""
        live = self._live.pop(kind, None)
        if live is not None:
            live[0].transport.abort()

    async def close_clean(self, kind: str) -> None:
        live = self._live.pop(kind, None)
        if live is not None:
            await live[0].close(1000, "closed by server")

    async def close_all(self) -> int:
        kinds = list(self._live)
        for kind in kinds:
            await self.close_clean(kind)
        return len(kinds)
