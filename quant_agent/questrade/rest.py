"""Questrade REST client over httpx: every read call, rate limits, retries, typed errors.

Layers: ``Authenticator`` (tokens) → ``RateBucket`` (client-side throttle, two buckets:
``markets/*`` = market data 20/s, everything else = account 30/s, plus the hourly window
learnt from ``X-RateLimit-Remaining``/``X-RateLimit-Reset``) → ``QuestradeRest._call``
(one 401/1017 → one refresh and one retry; 429 → wait until the reset; 5xx and transport
errors → backoff and retry, for reads only) → ``parsing`` (pure). Sleeping goes through an
injectable ``sleep`` and time through the injected ``Clock``, so tests never really wait.
Order calls (partner keys only) go through ``_call(..., retry=False)``: never retried
blindly (the caller looks the order up first) and a 200 reply carrying ``code`` is an error.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from quant_agent.core.clock import Clock
from quant_agent.questrade import models as m
from quant_agent.questrade import parsing
from quant_agent.questrade.auth import ApiSession, Authenticator
from quant_agent.questrade.errors import (
    QuestradeAccessTokenError,
    QuestradeError,
    QuestradeNotFoundError,
    QuestradeRateLimitError,
    QuestradeTransientError,
    error_from_body,
    int_from_text,
)

Sleep = Callable[[float], Awaitable[None]]
MAX_CANDLES_PER_CALL = 2000
ACTIVITY_WINDOW = timedelta(days=30)
MAX_RATE_LIMIT_WAITS = 3
KEEPALIVE_INTERVAL = timedelta(minutes=25)
RATE_WINDOW = timedelta(hours=1, minutes=5)  # Questrade's hourly window, plus clock skew
KEEPALIVE_RETRY = timedelta(seconds=30)


def query_time(t: datetime) -> str:
    """Second precision in UTC (``2026-03-03T21:48:34Z``): longer fractions give 1003."""
    if t.tzinfo is None:
        raise ValueError("query times must be timezone-aware")
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class RateBucket:
    """A token bucket of ``per_second`` plus the server's hourly window from the headers."""

    def __init__(self, name: str, per_second: float, clock: Clock, sleep: Sleep) -> None:
        self.name = name
        self._rate = per_second
        self._tokens = per_second
        self._clock = clock
        self._sleep = sleep
        self._last = clock.monotonic()
        self.remaining: int | None = None
        self.reset_at: datetime | None = None

    def _refill(self) -> None:
        now = self._clock.monotonic()
        self._tokens = min(self._rate, self._tokens + (now - self._last) * self._rate)
        self._last = now

    async def acquire(self) -> None:
        """Wait (via ``sleep``) until a request may go out, then take one token."""
        if self.remaining == 0 and self.reset_at is not None:
            wait = (self.reset_at - self._clock.now()).total_seconds()
            if wait > 0:
                await self._sleep(wait)
            self.remaining = None
        self._refill()
        while self._tokens < 1 - 1e-9:  # float dust must not cause sub-microsecond sleeps
            await self._sleep(max(0.001, (1 - self._tokens) / self._rate))
            self._refill()
        self._tokens = max(0.0, self._tokens - 1)

    def observe(self, headers: httpx.Headers) -> None:
        remaining = _int(headers.get("X-RateLimit-Remaining"))
        if remaining is not None and remaining >= 0:
            self.remaining = remaining
        reset = reset_time(headers.get("X-RateLimit-Reset"), self._clock.now())
        if reset is not None:
            self.reset_at = reset


class QuestradeRest:
    """The read calls of Questrade's REST API, returning ``models`` values."""

    def __init__(
        self,
        auth: Authenticator,
        *,
        clock: Clock,
        http: httpx.AsyncClient | None = None,
        sleep: Sleep = asyncio.sleep,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        timeout: float = 10.0,
        account_rate: float = 30,
        market_rate: float = 20,
        rng: random.Random | None = None,
    ) -> None:
        self._auth = auth
        self._clock = clock
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._owns_http = http is None
        self._sleep = sleep
        self._retries = retries
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._rng = rng or random.Random()
        self.buckets = {
            "account": RateBucket("account", account_rate, clock, sleep),
            "market": RateBucket("market", market_rate, clock, sleep),
        }
        self._by_name: dict[str, m.Symbol] = {}
        self._by_id: dict[int, m.Symbol] = {}
        self.last_request_at: datetime | None = None

    def __repr__(self) -> str:
        return f"QuestradeRest({self._auth!r})"

    @property
    def refresh_due_at(self) -> datetime | None:
        """From when the next call refreshes the access token first (None: no session yet)."""
        return self._auth.refresh_due_at

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # --- transport --------------------------------------------------------------------------

    async def _send(
        self, session: ApiSession, method: str, path: str, params: dict[str, str] | None,
        body: Any,
    ) -> httpx.Response:  # fmt: skip
        headers = {
            "Authorization": f"Bearer {session.access_token.get_secret_value()}",
            "Accept": "application/json",
        }
        try:
            return await self._http.request(
                method, session.api_server + path, params=params, json=body, headers=headers
            )
        except httpx.TimeoutException:
            raise QuestradeTransientError(f"{method} {path}: timed out") from None
        except httpx.HTTPError as exc:
            raise QuestradeTransientError(f"{method} {path}: {type(exc).__name__}") from None

    async def _call(
        self,
        path: str,
        params: dict[str, str] | None = None,
        *,
        method: str = "GET",
        body: Any = None,
        retry: bool = True,
    ) -> Any:
        """Make one API call and return its decoded JSON; ``retry`` False for order calls."""
        bucket = self.buckets["market" if path.startswith("markets") else "account"]
        attempt = waits = 0
        refreshed = False
        while True:
            session = await self._auth.session()
            await bucket.acquire()
            try:
                reply = await self._send(session, method, path, params, body)
                self.last_request_at = self._clock.now()
                bucket.observe(reply.headers)
                doc = self._decode(reply, path, order_call=not retry)
                return doc
            except QuestradeAccessTokenError:
                if refreshed:
                    raise
                refreshed = True
                await self._auth.renew(session)
            except QuestradeRateLimitError as exc:
                waits += 1
                if waits > MAX_RATE_LIMIT_WAITS:
                    raise
                await self._sleep(self._rate_limit_wait(exc, bucket))
            except QuestradeTransientError:
                if not retry or attempt >= self._retries:
                    raise
                attempt += 1
                delay = min(self._max_backoff, self._backoff * 2 ** (attempt - 1))
                await self._sleep(delay * (0.5 + self._rng.random() / 2))

    def _decode(self, reply: httpx.Response, path: str, *, order_call: bool) -> Any:
        what = path.split("?")[0]
        if reply.status_code == 200:
            doc = parsing.loads(reply.content, what)
            if order_call and isinstance(doc, dict) and "code" in doc:
                raise error_from_body(200, doc)
            return doc
        try:
            doc = parsing.loads(reply.content, what)
        except QuestradeError:
            doc = None
        error = error_from_body(reply.status_code, doc)
        if isinstance(error, QuestradeRateLimitError):
            error.remaining = _int(reply.headers.get("X-RateLimit-Remaining"))
            error.reset_at = reset_time(reply.headers.get("X-RateLimit-Reset"), self._clock.now())
        raise error

    def _rate_limit_wait(self, exc: QuestradeRateLimitError, bucket: RateBucket) -> float:
        """Wait until the reset when the hourly window is spent; else the per-second window."""
        if exc.remaining == 0 and exc.reset_at is not None:
            bucket.remaining = None  # we wait for it here
            return max(0.0, (exc.reset_at - self._clock.now()).total_seconds())
        return 1.0

    # --- account calls ----------------------------------------------------------------------

    async def time(self) -> datetime:
        return parsing.parse_time(await self._call("time"))

    async def accounts(self) -> m.Accounts:
        return parsing.parse_accounts(await self._call("accounts"))

    async def positions(self, account: str) -> tuple[m.Position, ...]:
        return parsing.parse_positions(await self._call(f"accounts/{account}/positions"))

    async def balances(self, account: str) -> m.Balances:
        return parsing.parse_balances(await self._call(f"accounts/{account}/balances"))

    async def executions(
        self, account: str, start: datetime | None = None, end: datetime | None = None
    ) -> tuple[m.Execution, ...]:
        """Executions in [start, end] (default: today), fetched in 30-day windows."""
        out: list[m.Execution] = []
        for params in _windows(start, end):
            doc = await self._call(f"accounts/{account}/executions", params)
            out += parsing.parse_executions(doc)
        return tuple({e.id: e for e in out}.values())

    async def orders(
        self,
        account: str,
        start: datetime | None = None,
        end: datetime | None = None,
        state_filter: str = "All",
    ) -> tuple[m.BrokerOrder, ...]:
        """Orders in [start, end] (default: today) with ``stateFilter`` All, Open or Closed."""
        if state_filter not in ("All", "Open", "Closed"):
            raise ValueError(f"state_filter must be All, Open or Closed, not {state_filter!r}")
        out: list[m.BrokerOrder] = []
        for params in _windows(start, end):
            params["stateFilter"] = state_filter
            out += parsing.parse_orders(await self._call(f"accounts/{account}/orders", params))
        return tuple({o.id: o for o in out}.values())

    async def order(self, account: str, order_id: int) -> m.BrokerOrder | None:
        """One order by id, or None when Questrade does not know it (1020)."""
        try:
            doc = await self._call(f"accounts/{account}/orders/{order_id}")
        except QuestradeNotFoundError:
            return None
        orders = parsing.parse_orders(doc)
        return orders[0] if orders else None

    # --- order calls (partner keys only; never retried here) -------------------------------

    async def place_order(
        self, account: str, body: dict[str, Any], replace_id: int | None = None
    ) -> tuple[int, tuple[m.BrokerOrder, ...]]:
        """Place (or, with ``replace_id``, replace) an order; return its id and records."""
        path = f"accounts/{account}/orders" + (f"/{replace_id}" if replace_id else "")
        doc = await self._call(path, method="POST", body=body, retry=False)
        return parsing.parse_order_id(doc), parsing.parse_orders(doc)

    async def cancel_order(self, account: str, order_id: int) -> int:
        doc = await self._call(
            f"accounts/{account}/orders/{order_id}", method="DELETE", retry=False
        )
        return parsing.parse_order_id(doc)

    async def order_impact(self, account: str, body: dict[str, Any]) -> dict[str, Any]:
        """The dry run of an order: commissions and buying-power effect, nothing placed."""
        doc = await self._call(f"accounts/{account}/orders/impact", method="POST", body=body)
        return dict(doc) if isinstance(doc, dict) else {}

    async def activities(
        self, account: str, start: datetime, end: datetime
    ) -> tuple[m.Activity, ...]:
        """Account activities in [start, end], in 30-day windows (the API allows 31)."""
        out: list[m.Activity] = []
        for params in _windows(start, end):
            out += parsing.parse_activities(
                await self._call(f"accounts/{account}/activities", params)
            )
        return tuple(out)

    # --- market calls -----------------------------------------------------------------------

    async def markets(self) -> tuple[m.Market, ...]:
        return parsing.parse_markets(await self._call("markets"))

    async def symbols(self, ids: Iterable[int]) -> tuple[m.Symbol, ...]:
        wanted = ",".join(str(i) for i in ids)
        return self._cache(parsing.parse_symbols(await self._call("symbols", {"ids": wanted})))

    async def symbols_by_name(self, names: Iterable[str]) -> tuple[m.Symbol, ...]:
        wanted = ",".join(n.strip().upper() for n in names)
        return self._cache(parsing.parse_symbols(await self._call("symbols", {"names": wanted})))

    async def search(self, prefix: str, offset: int = 0) -> tuple[m.Symbol, ...]:
        doc = await self._call("symbols/search", {"prefix": prefix, "offset": str(offset)})
        return parsing.parse_symbols(doc)

    def _cache(self, symbols: Sequence[m.Symbol]) -> tuple[m.Symbol, ...]:
        for s in symbols:
            self._by_name[s.symbol] = s
            self._by_id[s.symbol_id] = s
        return tuple(symbols)

    async def resolve(self, tickers: Iterable[str]) -> dict[str, m.Symbol]:
        """Map tickers (``RY.TO``, ``GOOS``, ``GDNP.VN``) to symbols, asking only for the
        ones not cached; a listing is exact, so ``GOOS`` and ``GOOS.TO`` stay apart."""
        names = [t.strip().upper() for t in tickers]
        missing = sorted({n for n in names if n not in self._by_name})
        if missing:
            await self.symbols_by_name(missing)
        unknown = [n for n in names if n not in self._by_name]
        if unknown:
            raise QuestradeNotFoundError(f"unknown symbols: {', '.join(unknown)}", code=1019)
        return {n: self._by_name[n] for n in names}

    def cached_symbol(self, symbol_id: int) -> m.Symbol | None:
        return self._by_id.get(symbol_id)

    async def quotes(self, ids: Iterable[int]) -> tuple[m.Level1Quote, ...]:
        wanted = ",".join(str(i) for i in ids)
        return parsing.parse_quotes(await self._call("markets/quotes", {"ids": wanted}))

    async def candles(
        self, symbol_id: int, start: datetime, end: datetime, interval: str
    ) -> tuple[m.Candle, ...]:
        """All candles starting in [start, end], paged 2,000 per call, in order, no repeats."""
        out: list[m.Candle] = []
        cursor = start
        while cursor <= end:
            params = {"startTime": query_time(cursor), "endTime": query_time(end),
                      "interval": interval}  # fmt: skip
            page = parsing.parse_candles(await self._call(f"markets/candles/{symbol_id}", params))
            fresh = [c for c in page if not out or c.start > out[-1].start]
            out += fresh
            if len(page) < MAX_CANDLES_PER_CALL or not fresh:
                break
            cursor = out[-1].start.replace(microsecond=0) + timedelta(seconds=1)
        return tuple(out)

    # --- streaming ports --------------------------------------------------------------------

    async def quote_stream_port(self, ids: Iterable[int]) -> int:
        params = {"ids": ",".join(str(i) for i in ids), "stream": "true", "mode": "WebSocket"}
        return parsing.parse_stream_port(await self._call("markets/quotes", params))

    async def notifications_port(self) -> int:
        doc = await self._call("notifications", {"mode": "WebSocket"})
        return parsing.parse_stream_port(doc)


def _int(value: str | None) -> int | None:
    return None if value is None else int_from_text(value)


def reset_time(value: str | None, now: datetime) -> datetime | None:
    """``X-RateLimit-Reset`` (epoch seconds) as a UTC time, or None when absent or not a
    time in the hourly window ahead: a garbled header never makes the client wait for
    days, or raise."""
    seconds = _int(value)
    if seconds is None:
        return None
    try:
        at = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return at if at <= now + RATE_WINDOW else None


def _windows(start: datetime | None, end: datetime | None) -> list[dict[str, str]]:
    """Query windows of at most 30 days covering [start, end]; none given: the API default."""
    if start is None and end is None:
        return [{}]
    if start is None or end is None:
        raise ValueError("give both start and end, or neither")
    out = []
    cursor = start
    while True:
        stop = min(end, cursor + ACTIVITY_WINDOW)
        out.append({"startTime": query_time(cursor), "endTime": query_time(stop)})
        if stop >= end:
            return out
        cursor = stop


async def keep_alive(
    rest: QuestradeRest,
    *,
    clock: Clock,
    sleep: Sleep = asyncio.sleep,
    interval: timedelta = KEEPALIVE_INTERVAL,
) -> None:
    """Keep Questrade's session, and so the stream sockets, alive; runs until cancelled.

    Questrade closes a stream socket when no REST request came for 30 minutes, or when the
    access token it authenticated with expires without a REST refresh (section 3.4). So a
    cheap call (``GET time``) goes out whenever none was made for ``interval``, and also
    once the access token is due for refresh (its expiry less the refresh margin), which
    makes that call redeem the refresh token first. A failed call is retried after
    ``KEEPALIVE_RETRY``; the stream's own reconnects cover a longer outage."""
    while True:
        now = clock.now()
        last, due = rest.last_request_at, rest.refresh_due_at
        if last is None or now - last >= interval or (due is not None and now >= due):
            try:
                await rest.time()
            except QuestradeTransientError:
                pass
            now = clock.now()
        wake = (rest.last_request_at or now) + interval
        due = rest.refresh_due_at
        if due is not None:
            wake = min(wake, due if due > now else now + KEEPALIVE_RETRY)
        await sleep(max(1.0, (wake - now).total_seconds()))
