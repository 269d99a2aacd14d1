"""A local Questrade: login and API servers on 127.0.0.1 that play Questrade's documented part.

Follows section 7 of ``questrade-api.md``: single-use refresh tokens (reuse, unknown or
expired → 400 with a plain body), access tokens expiring on the injected clock (401/1014,
400/1015, 401/1017), two rate buckets with per-second and per-hour windows and the
``X-RateLimit-*`` headers (429/1006), the read endpoints with Questrade's wrappers and
validation codes, retail mode (order calls → 403/1016), partner mode (``partner=True``:
the order calls and their state machine in ``sandbox_orders``, pushed on the notifications
stream), and fault switches (5xx, slow replies, malformed JSON, a login 500, an order error
under HTTP 200). Stream sessions end as on Questrade (no REST request for 30 minutes, or
the stream's access token expired without a refresh; ``session_expiry=False`` turns that
off), on the injected clock, see ``sandbox_stream``. Market data is replayed from a
``HistoryStore`` (synthetic by default) by ``sandbox_data``. For tests and
``quant-agent questrade sandbox``; never for production.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from aiohttp import web

from quant_agent.core.clock import Clock
from quant_agent.market.history import HistoryStore
from quant_agent.questrade import sandbox_data as data
from quant_agent.questrade.sandbox_data import ET, INTERVAL_MINUTES, LONG_INTERVALS, qt_time
from quant_agent.questrade.sandbox_http import (
    ApiError,
    Faults,
    Limits,
    RateLimited,
    RateLimiter,
    bad,
    json_response,
    param_time,
)
from quant_agent.questrade.sandbox_orders import OrderDesk
from quant_agent.questrade.sandbox_stream import SESSION_IDLE, StreamHub, StreamSession

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class QuestradeSandbox:
    """Login server and API server on ephemeral loopback ports; start with ``async with``."""

    def __init__(
        self,
        *,
        clock: Clock,
        history: HistoryStore | None = None,
        access_ttl: int = 1800,
        refresh_ttl: timedelta = timedelta(days=7),
        realtime: bool = True,
        snap_quotes_limit: int = 100,
        invalidate_previous_access: bool = False,
        partner: bool = False,
        login_port: int = 0,
        fresh_account: bool = False,
        session_expiry: bool = True,
    ) -> None:
        if history is None:
            from quant_agent.market.synthetic import generate_market

            history = generate_market(12, date(2024, 1, 2), date(2026, 12, 31), seed=7).store()
        self.clock = clock
        self.market = data.SandboxMarket(history)
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.realtime = realtime
        self.snap_quotes_limit = snap_quotes_limit
        self.invalidate_previous_access = invalidate_previous_access
        self.faults = Faults()
        self.limits = Limits()
        self.redemptions = 0
        self.session = StreamSession(clock.now, enabled=session_expiry)
        self.successors: dict[str, str] = {}  # spent refresh token -> the one minted for it
        self.requests: list[tuple[str, str]] = []
        self._refresh: dict[str, datetime] = {}
        self._access: dict[str, datetime] = {}
        self.limiter = RateLimiter(self.limits)
        self._snaps = 0
        self._runners: list[web.AppRunner] = []
        self._sites: list[web.TCPSite] = []
        self.login_url = ""
        self.api_server = ""
        self._orders, self._executions = data.seed_orders(clock.now(), self.market)
        self.fresh_account = fresh_account  # no seeded history; positions from the fills
        if fresh_account:
            self._orders, self._executions = [], []
        self.streams = StreamHub(self.access_token_valid, self.session)
        self._held_acks: list[dict[str, Any]] = []  # notifications held by a fault
        self.partner = partner
        self.login_port = login_port
        self.desk = OrderDesk(
            clock=clock, market=self.market, orders=self._orders,
            executions=self._executions, push=self._push_notification,
        )  # fmt: skip

    # --- lifecycle --------------------------------------------------------------------------

    async def __aenter__(self) -> QuestradeSandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        login = web.Application()
        login.router.add_route("*", "/oauth2/token", self._token)
        api = web.Application(middlewares=[self._middleware])
        self._routes(api.router)
        self.login_url = f"http://127.0.0.1:{await self._serve(login, self.login_port)}"
        self.api_server = f"http://127.0.0.1:{await self._serve(api)}/"

    async def _serve(self, app: web.Application, port: int = 0) -> int:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        self._runners.append(runner)
        return await self._listen(runner, port)

    async def _listen(self, runner: web.AppRunner, port: int = 0) -> int:
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        self._sites.append(site)
        server = site._server
        assert server is not None and isinstance(server, asyncio.base_events.Server)
        return int(server.sockets[0].getsockname()[1])

    async def move_api_server(self) -> str:
        """Serve the API on a new port too; later redemptions return it as ``api_server``
        ("api_server can change between refreshes")."""
        self.api_server = f"http://127.0.0.1:{await self._listen(self._runners[1])}/"
        return self.api_server

    async def close_old_api_servers(self) -> None:
        """Stop every API port except the current one."""
        current = int(self.api_server.rstrip("/").rsplit(":", 1)[1])
        for site in list(self._sites[2:-1]) + [self._sites[1]]:
            server = site._server
            if server is not None and isinstance(server, asyncio.base_events.Server):
                if server.sockets and server.sockets[0].getsockname()[1] != current:
                    await site.stop()

    async def stop(self) -> None:
        await self.streams.close()
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()

    # --- login server -----------------------------------------------------------------------

    def issue_refresh_token(self) -> str:
        """Mint a refresh token as the trader's "generate token" button does (a test hook)."""
        token = secrets.token_urlsafe(24)
        self._refresh[token] = self.clock.now()
        return token

    def refresh_token_valid(self, token: str) -> bool:
        issued = self._refresh.get(token)
        return issued is not None and self.clock.now() - issued <= self.refresh_ttl

    def access_token_valid(self, token: str) -> bool:
        expires = self._access.get(token)
        return expires is not None and self.clock.now() < expires

    async def push_quotes(self, records: list[dict[str, Any]] | None = None) -> bool:
        """Push one ``{"quotes": [...]}`` frame: ``records``, or full replayed records of
        every subscribed id. False when no quote socket is connected."""
        if records is None:
            now = self.clock.now()
            ids = self.streams.subscribed("quotes")
            records = [self.market.quote(self.market.by_id[i], now) for i in ids]
        return await self.streams.push("quotes", {"quotes": records})

    @property
    def last_rest_at(self) -> datetime | None:
        """When the last authenticated REST request came (the session's idle clock)."""
        return self.session.last_rest_at

    @last_rest_at.setter
    def last_rest_at(self, value: datetime | None) -> None:
        self.session.last_rest_at = value

    async def expire_idle_streams(self, idle: timedelta = SESSION_IDLE) -> int:
        """Apply the session rule now (no REST request for ``idle``, or the socket's access
        token expired without a refresh): close the sockets whose session is over and
        return how many. Pushes, REST requests and redemptions apply it too."""
        default, self.session.idle = self.session.idle, idle
        try:
            return await self.streams.expire_sessions()
        finally:
            self.session.idle = default

    def expire_access_tokens(self) -> None:
        """Invalidate every access token at once for REST (401/1017 until a refresh); open
        stream sockets keep their session, which ends by the clock."""
        self._access.clear()

    async def _token(self, request: web.Request) -> web.Response:
        params = await request.post() if request.method == "POST" else request.query
        if request.method not in ("GET", "POST") or params.get("grant_type") != "refresh_token":
            return web.Response(status=400, text="Bad Request")
        if self.faults.login_errors > 0:
            self.faults.login_errors -= 1
            return web.Response(status=500, text="Internal Server Error")
        await self.streams.expire_sessions()  # a refresh that comes too late saves nothing
        token = str(params.get("refresh_token", ""))
        if not self.refresh_token_valid(token):
            return web.Response(status=400, text="Bad Request")
        del self._refresh[token]
        self.redemptions += 1
        successor = self.issue_refresh_token()
        self.successors[token] = successor
        if self.invalidate_previous_access:
            self._access.clear()
        access = secrets.token_urlsafe(24)
        self._access[access] = self.clock.now() + timedelta(seconds=self.access_ttl)
        self.session.minted(access, self._access[access])
        body = json.dumps(
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": self.access_ttl,
                "refresh_token": successor,
                "api_server": self.api_server,
            }
        )
        if self.faults.escape_slashes:
            body = body.replace("/", "\\/")
        return web.Response(text=body, content_type="application/json")

    # --- API middleware: faults, auth, rate limits, errors ----------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append((request.method, request.path_qs))
        await self.streams.expire_sessions()  # before this request can extend the session
        if self.faults.slow_seconds:
            await asyncio.sleep(self.faults.slow_seconds)
        headers: dict[str, str] = {}
        try:
            self._authenticate(request.headers.get("Authorization"))
            self.session.rest_seen()
            headers = self.limiter.count(request.path, self.clock.now())
            if self.faults.server_errors > 0:
                self.faults.server_errors -= 1
                raise ApiError(self.faults.server_error_status, 1008, "IQ servers technical error.")
            if self.faults.malformed_json > 0:
                self.faults.malformed_json -= 1
                return web.Response(text='{"broken": [', content_type="application/json")
            response = await handler(request)
        except ApiError as err:
            response = json_response({"code": err.code, "message": err.message}, err.status)
            headers = err.headers if isinstance(err, RateLimited) else headers
        except web.HTTPMethodNotAllowed:
            response = json_response(
                {"code": 1012, "message": "Method unsupported by endpoint."}, 405
            )
        except web.HTTPNotFound:
            response = json_response({"code": 1001, "message": "Invalid endpoint."}, 404)
        response.headers.update(headers)
        return response

    def _authenticate(self, header: str | None) -> None:
        if not header:
            raise ApiError(401, 1014, "Missing authorization header.")
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token or " " in token:
            raise ApiError(400, 1015, "Malformed authorization header.")
        if not self.access_token_valid(token):
            raise ApiError(401, 1017, "Access token is invalid.")

    # --- routes -----------------------------------------------------------------------------

    def _routes(self, r: web.UrlDispatcher) -> None:
        r.add_get("/v1/time", self._time)
        r.add_get("/v1/accounts", self._accounts)
        r.add_get("/v1/accounts/{id}/positions", self._positions)
        r.add_get("/v1/accounts/{id}/balances", self._balances)
        r.add_get("/v1/accounts/{id}/executions", self._executions_handler)
        r.add_get("/v1/accounts/{id}/orders", self._orders_handler)
        r.add_get("/v1/accounts/{id}/orders/{order_id}", self._orders_handler)
        r.add_route("POST", "/v1/accounts/{id}/orders{rest:.*}", self._order_call)
        r.add_route("DELETE", "/v1/accounts/{id}/orders/{order_id}", self._order_call)
        r.add_get("/v1/accounts/{id}/activities", self._activities)
        r.add_get("/v1/notifications", self._notifications)
        r.add_get("/v1/markets", self._markets)
        r.add_get("/v1/markets/quotes", self._quotes)
        r.add_get("/v1/markets/quotes/{id}", self._quotes)
        r.add_get("/v1/markets/candles/{id}", self._candles)
        r.add_get("/v1/symbols/search", self._search)
        r.add_get("/v1/symbols", self._symbols)
        r.add_get("/v1/symbols/{id}", self._symbols)

    async def _time(self, _: web.Request) -> web.Response:
        return json_response({"time": qt_time(self.clock.now())})

    async def _accounts(self, _: web.Request) -> web.Response:
        rows = [
            {"type": "Margin", "number": data.ACCOUNTS[0], "status": "Active", "isPrimary": True,
             "isBilling": True, "clientAccountType": "Individual"},
            {"type": "TFSA", "number": data.ACCOUNTS[1], "status": "Active", "isPrimary": False,
             "isBilling": False, "clientAccountType": "Individual"},
        ]  # fmt: skip
        return json_response({"accounts": rows, "userId": 100001})

    def _account(self, request: web.Request) -> str:
        number = request.match_info["id"]
        if number not in data.ACCOUNTS:
            raise ApiError(404, 1018, "Account number not found.")
        return number

    async def _positions(self, request: web.Request) -> web.Response:
        account = self._account(request)
        if self.fresh_account:
            return json_response({"positions": self.desk.positions(account)})
        return json_response({"positions": self.market.positions(self.clock.now())})

    async def _balances(self, request: web.Request) -> web.Response:
        self._account(request)
        return json_response(data.balances())

    def _range(self, request: web.Request) -> tuple[datetime, datetime]:
        day = self.clock.now().astimezone(ET).date()
        q = request.query
        start = (
            param_time(q["startTime"], "startTime")
            if "startTime" in q
            else datetime.combine(day, time(0), ET)
        )
        end = (
            param_time(q["endTime"], "endTime")
            if "endTime" in q
            else datetime.combine(day, time(23, 59, 59), ET)
        )
        return start, end

    async def _executions_handler(self, request: web.Request) -> web.Response:
        number = self._account(request)
        start, end = self._range(request)
        rows = [e for a, t, e in self._executions if a == number and start <= t <= end]
        if self.faults.duplicate_executions:
            rows = [e for e in rows for _ in (1, 2)]
        return json_response({"executions": rows})

    async def _orders_handler(self, request: web.Request) -> web.Response:
        number = self._account(request)
        if "order_id" in request.match_info:
            wanted = request.match_info["order_id"]
            rows = [o for a, _, o in self._orders if a == number and str(o["id"]) == wanted]
            if not rows:
                raise ApiError(404, 1020, "Order not found.")
            return json_response({"orders": rows})
        state = request.query.get("stateFilter", "All")
        if state not in ("All", "Open", "Closed"):
            raise bad("Invalid or malformed argument: stateFilter")
        start, end = self._range(request)
        rows = [
            o
            for a, t, o in self._orders
            if a == number
            and start <= t <= end
            and (state == "All" or (o["state"] in data.OPEN_STATES) == (state == "Open"))
        ]
        return json_response({"orders": rows})

    async def _order_call(self, request: web.Request) -> web.Response:
        if self.faults.order_error_200:
            self.faults.order_error_200 -= 1
            error = {"code": 3054, "message": "Order was rejected by the exchange.",
                     "orderId": 177106099, "orders": []}  # fmt: skip
            return json_response(error, 200)
        if not self.partner:
            raise ApiError(403, 1016, "Request is out-of-allowed OAuth scopes.")
        number = self._account(request)
        try:
            body: Any = await request.json() if request.method == "POST" else None
        except ValueError:
            raise bad("Invalid or malformed argument: body") from None
        tail = request.match_info.get("order_id") or request.match_info.get("rest", "")
        reply = await self.desk.call(request.method, number, tail.strip("/"), body)
        if self.faults.lost_order_replies > 0 and request.method == "POST":
            self.faults.lost_order_replies -= 1  # placed, but the caller never hears so
            raise ApiError(503, 1011, "IQ servers did not produce a response before a timeout.")
        return json_response(reply)

    async def _push_notification(self, doc: dict[str, Any]) -> bool:
        faults, ids = self.faults, {o["id"] for o in doc["orders"]}
        if faults.fills_before_acks and not doc.get("executions") and all(
            o["state"] == "Accepted" for o in doc["orders"]
        ):  # fmt: skip
            self._held_acks.append(doc)
            return True
        sent = await self.streams.push("notifications", doc)
        if doc.get("executions"):  # the acknowledgements held for these orders, late
            late = [d for d in self._held_acks if {o["id"] for o in d["orders"]} & ids]
            self._held_acks = [d for d in self._held_acks if d not in late]
            for held in late:
                await self.streams.push("notifications", held)
        if faults.duplicate_notifications > 0:
            faults.duplicate_notifications -= 1
            await self.streams.push("notifications", doc)
        return sent

    async def _activities(self, request: web.Request) -> web.Response:
        self._account(request)
        if "startTime" not in request.query or "endTime" not in request.query:
            raise bad("Missing required argument.", 1004)
        start, end = self._range(request)
        if (end.astimezone(ET).date() - start.astimezone(ET).date()).days > 31:
            raise bad("Argument length exceeds imposed limit.", 1003)
        return json_response({"activities": []})

    async def _notifications(self, request: web.Request) -> web.Response:
        if request.query.get("mode") != "WebSocket":
            raise bad("Invalid or malformed argument: mode")
        return json_response({"streamPort": await self.streams.port("notifications")})

    async def _markets(self, _: web.Request) -> web.Response:
        return json_response({"markets": data.markets(self.clock.now())})

    def _ids(self, request: web.Request) -> list[data.SymbolInfo]:
        raw = request.match_info.get("id") or request.query.get("ids")
        if raw is None:
            raise bad("Missing required argument.", 1004)
        if "id" in request.match_info and "," in raw:
            raise bad("Invalid or malformed argument: id")
        try:
            ids = [int(part) for part in raw.split(",") if part]
        except ValueError:
            raise bad("Invalid or malformed argument: ids") from None
        found = [self.market.by_id.get(i) for i in ids]
        if not ids or any(s is None for s in found):
            raise ApiError(404, 1019, "Symbol not found.")
        return [s for s in found if s is not None]

    async def _quotes(self, request: web.Request) -> web.Response:
        symbols = self._ids(request)
        if request.query.get("stream") == "true":
            if request.query.get("mode") != "WebSocket":
                raise bad("Invalid or malformed argument: mode")
            ids = [s.symbol_id for s in symbols]
            return json_response({"streamPort": await self.streams.port("quotes", ids)})
        now = self.clock.now()
        rows = []
        for info in symbols:
            self._snaps += 1
            late = not self.realtime and self._snaps > self.snap_quotes_limit
            rows.append(self.market.quote(info, now, delay=15 if late else None))
        return json_response({"quotes": rows})

    async def _candles(self, request: web.Request) -> web.Response:
        (info,) = self._ids(request)
        q = request.query
        if "startTime" not in q or "endTime" not in q or "interval" not in q:
            raise bad("Missing required argument.", 1004)
        if q["interval"] not in INTERVAL_MINUTES and q["interval"] not in LONG_INTERVALS:
            raise bad("Invalid or malformed argument: interval")
        start, end = self._range(request)
        rows = self.market.candles(info, start, end, q["interval"], self.clock.now())
        return json_response({"candles": rows})

    async def _search(self, request: web.Request) -> web.Response:
        prefix = request.query.get("prefix", "").upper()
        if not prefix:
            raise bad("Missing required argument.", 1004)
        offset = int(request.query.get("offset", "0") or 0)
        found = [s for name, s in sorted(self.market.by_name.items()) if name.startswith(prefix)]
        return json_response(
            {"symbols": [data.symbol_record(s, full=False) for s in found[offset:]]}
        )

    async def _symbols(self, request: web.Request) -> web.Response:
        if "ids" in request.query and "names" in request.query:
            raise bad("Invalid or malformed argument: ids and names are exclusive")
        if "names" in request.query:
            names = [n.strip().upper() for n in request.query["names"].split(",") if n.strip()]
            if not names or any(n not in self.market.by_name for n in names):
                raise ApiError(404, 1019, "Symbol not found.")
            symbols = [self.market.by_name[n] for n in names]
        else:
            symbols = self._ids(request)
        return json_response({"symbols": [data.symbol_record(s, full=True) for s in symbols]})
