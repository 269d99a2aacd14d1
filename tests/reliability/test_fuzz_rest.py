"""Fuzzing Questrade's REST replies: the real ``Authenticator`` and ``QuestradeRest`` over an
in-memory transport that plays Questrade and answers each call with a fuzzed reply (any
status, garbled rate-limit headers, the documented body with one field mangled or dropped,
an error body, or junk bytes). Every call returns its documented type or raises a typed
``QuestradeError`` (parse errors as ``QuestradeParseError``); no other exception escapes.
The login server's reply is fuzzed the same way through ``parse_token``.
"""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from quant_agent.core.clock import SimClock
from quant_agent.questrade import models as m
from quant_agent.questrade import parsing
from quant_agent.questrade.auth import Authenticator, TokenStore
from quant_agent.questrade.errors import QuestradeError, QuestradeParseError
from quant_agent.questrade.rest import QuestradeRest

from .budget import fuzz_settings

FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "questrade" / "fixtures"
START = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
API = "https://api01.iq.questrade.test/"
LOGIN = "https://login.questrade.test"
T0, T1 = START - timedelta(days=2), START

Call = Callable[[QuestradeRest], Awaitable[Any]]
CALLS: dict[str, tuple[str, Call, type | tuple[type, ...]]] = {
    "time": ("time.json", lambda r: r.time(), datetime),
    "accounts": ("accounts.json", lambda r: r.accounts(), m.Accounts),
    "positions": ("positions.json", lambda r: r.positions("1"), tuple),
    "balances": ("balances.json", lambda r: r.balances("1"), m.Balances),
    "executions": ("executions.json", lambda r: r.executions("1", T0, T1), tuple),
    "orders": ("orders.json", lambda r: r.orders("1", T0, T1), tuple),
    "activities": ("activities.json", lambda r: r.activities("1", T0, T1), tuple),
    "markets": ("markets.json", lambda r: r.markets(), tuple),
    "symbols": ("symbols.json", lambda r: r.symbols([8049]), tuple),
    "quotes": ("quotes.json", lambda r: r.quotes([8049]), tuple),
    "candles": ("candles.json", lambda r: r.candles(8049, T0, T1, "OneDay"), tuple),
}  # fmt: skip
DOCS = {name: json.loads((FIXTURES / spec[0]).read_text()) for name, spec in CALLS.items()}
TOKEN = json.loads((FIXTURES / "token.json").read_text()) | {"api_server": API}

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
              st.sampled_from(["²", "--5", "9" * 5000, "0001-01-01T00:00:00+05:00",
                               "9999-12-31T23:59:59-05:00", "2026-02-30T10:00:00Z", "NaN"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)  # fmt: skip


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            found += _paths(value, (*prefix, i))
    return found


@st.composite
def mangled(draw: st.DrawFn, doc: Any) -> Any:
    """``doc`` with one value replaced by junk, or one key dropped."""
    doc = json.loads(json.dumps(doc))
    path = draw(st.sampled_from(_paths(doc)))
    if not path:
        return draw(json_values)
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(json_values)
    return doc


@st.composite
def replies(draw: st.DrawFn, name: str) -> tuple[int, dict[str, str], bytes]:
    status = draw(st.one_of(st.just(200), st.just(200), st.sampled_from([400, 401, 403, 404,
                  429, 500, 502, 503]), st.integers(100, 599)))  # fmt: skip
    body = draw(st.one_of(
        mangled(DOCS[name]).map(lambda d: json.dumps(d).encode()),
        st.fixed_dictionaries({"code": json_values, "message": json_values})
        .map(lambda d: json.dumps(d).encode()),
        st.binary(max_size=40),
        st.just(DOCS[name]).map(lambda d: json.dumps(d).encode()[: draw(st.integers(0, 80))]),
    ))  # fmt: skip
    headers = {name: draw(header_values) for name in RATE_HEADERS if draw(st.booleans())}
    clean = {k: v for k, v in headers.items() if v.isascii() and v.isprintable()}
    return status, clean, body


RATE_HEADERS = ("X-RateLimit-Remaining", "X-RateLimit-Reset")
EPOCH = int(START.timestamp())
header_values = st.one_of(
    st.text(max_size=12), st.integers(-(10**6), 10**6).map(str),
    st.integers(10**10, 10**22).map(str),  # beyond year 9999
    st.integers(EPOCH - 7200, EPOCH + 10**7).map(str),  # near now, and far ahead
    st.sampled_from(["²", "0", " 12 ", "-1", "+5", "1e9", "٣"]),
)  # fmt: skip


class Questrade:
    """The in-memory transport: the login server's token, then the current fuzzed reply."""

    def __init__(self) -> None:
        self.reply: tuple[int, dict[str, str], bytes] = (200, {}, b"{}")
        self.login: bytes = json.dumps(TOKEN).encode()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/token"):
            return httpx.Response(200, content=self.login)
        status, headers, body = self.reply
        return httpx.Response(status, headers=headers, content=body)


def _run(tmp: Path, server: Questrade, call: Call) -> Any:
    async def main() -> Any:
        clock = SimClock(START)

        async def sleep(seconds: float) -> None:
            clock.advance(timedelta(seconds=seconds))

        http = httpx.AsyncClient(transport=httpx.MockTransport(server))
        auth = Authenticator(login_url=LOGIN, store=TokenStore(tmp), clock=clock, http=http,
                             seed_token=SecretStr("seed-token"))  # fmt: skip
        rest = QuestradeRest(auth, clock=clock, http=http, sleep=sleep, retries=1,
                             rng=random.Random(0))  # fmt: skip
        try:
            async with asyncio.timeout(10):
                return await call(rest)
        finally:
            await http.aclose()

    return asyncio.run(main())


TOKEN_DIR = Path(tempfile.mkdtemp(prefix="qa-fuzz-rest-"))


@fuzz_settings()
@given(data=st.data(), name=st.sampled_from(sorted(CALLS)))
def test_every_reply_gives_the_documented_type_or_a_typed_error(data: st.DataObject,
                                                                name: str) -> None:  # fmt: skip
    server = Questrade()
    server.reply = data.draw(replies(name))
    _, call, kind = CALLS[name]
    try:
        result = _run(TOKEN_DIR / "token.json", server, call)
    except QuestradeError as exc:
        if server.reply[0] == 200:
            assert isinstance(exc, QuestradeParseError) or "code" in server.reply[2].decode(
                "utf-8", "replace"), exc  # fmt: skip
        return
    assert server.reply[0] == 200, f"HTTP {server.reply[0]} returned {result!r}"
    assert isinstance(result, kind)


@fuzz_settings()
@given(doc=st.one_of(mangled(TOKEN), json_values))
def test_a_login_reply_gives_a_token_or_a_parse_error(doc: Any) -> None:
    try:
        token = parsing.parse_token(doc)
    except QuestradeParseError:
        return
    assert token.api_server.startswith(("https://", "http://")) and token.expires_in > 0
    assert token.access_token.get_secret_value() and token.refresh_token.get_secret_value()
