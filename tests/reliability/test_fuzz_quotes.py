"""Fuzzing the quote path: frames pushed by the local Questrade server over a real WebSocket
into ``QuoteStream`` (decoding, merging, validation) and on through ``RealtimeDataHandler``
and its ``QuoteGuard``. A quote reaches order logic only when it is valid (positive, finite,
not crossed, real-time, sizes >= 0) and not halted; everything else is rejected and counted
(``stats.malformed``, ``stats.rejected``, ``guard.rejected``). No frame ever kills the socket
or the reading task: a sentinel quote pushed after every example must still arrive.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quant_agent.core.market import Quote
from quant_agent.questrade.stream import QuoteStream
from quant_agent.realtime_data import RealtimeDataHandler
from tests.integration.questrade.conftest import Harness, harness

from .budget import fuzz_settings

FUZZED = {"AAPL": 8049, "RY.TO": 34658}  # the sandbox's symbol ids
SENTINEL = ("MSFT", 27426)
WAIT = 10.0  # seconds: a bound on waiting for a pushed frame, never a wait in itself
INF = float("inf")


@dataclass
class Line:
    """The live quote path under test, on one event loop kept across examples."""

    loop: asyncio.AbstractEventLoop
    harness: Harness
    stream: QuoteStream
    handler: RealtimeDataHandler
    emitted: list[Quote] = field(default_factory=list)
    sentinels: int = 0

    def run(self, frames: list[str]) -> tuple[list[Quote], list[Quote]]:
        """Push ``frames`` then a sentinel; return (quotes emitted, quotes the guard let by)."""
        self.emitted.clear()
        self.loop.run_until_complete(self._push(frames))
        batch = self.handler.drain()
        accepted = [q for q in batch.quotes if q.ticker != SENTINEL[0]] if batch else []
        return [q for q in self.emitted if q.ticker != SENTINEL[0]], accepted

    async def _push(self, frames: list[str]) -> None:
        self.sentinels += 1
        bid = Decimal(100) + Decimal(self.sentinels) / 100
        sentinel = {"symbolId": SENTINEL[1], "bidPrice": float(bid), "askPrice": 200.0,
                    "bidSize": 1, "askSize": 1, "delay": 0, "isHalted": False}  # fmt: skip
        async with asyncio.timeout(WAIT):
            for frame in frames:
                assert await self.harness.sandbox.streams.push_raw("quotes", frame)
            assert await self.harness.sandbox.push_quotes([sentinel])
            await self.stream.wait_until(lambda: self._sentinel_bid() == bid)

    def _sentinel_bid(self) -> Decimal | None:
        quote = self.stream.latest(SENTINEL[0])
        return None if quote is None else quote.bid


@pytest.fixture(scope="module")
def line(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Line]:
    loop = asyncio.new_event_loop()
    context = harness(tmp_path_factory.mktemp("quotes"))
    h = loop.run_until_complete(context.__aenter__())
    box: list[Line] = []

    def on_quote(quote: Quote) -> None:
        box[0].emitted.append(quote)
        handler.on_quote(quote)

    stream = QuoteStream(h.rest, h.auth, clock=h.clock, rng=random.Random(1), on_quote=on_quote)
    handler = RealtimeDataHandler(stream, clock=h.clock, max_age=timedelta(seconds=60))
    box.append(Line(loop, h, stream, handler))

    async def start() -> None:
        async with asyncio.timeout(WAIT):
            await stream.subscribe([*FUZZED, SENTINEL[0]])
            await stream.wait_up()

    loop.run_until_complete(start())
    try:
        yield box[0]
        assert stream.stats.failures == 0 and stream.stats.connects == 1, stream.stats
    finally:
        loop.run_until_complete(stream.stop())
        loop.run_until_complete(context.__aexit__(None, None, None))
        loop.close()


# --- labelled records: the oracle knows whether each one must become a quote ------------------

good_price = st.one_of(st.floats(0.0001, 1e6), st.integers(1, 10**6))
bad_price = st.one_of(
    st.sampled_from([0, 0.0, -0.0, -1, math.nan, INF, -INF, None, True, False, "1.5", "abc"]),
    st.floats(max_value=-1e-6), st.integers(max_value=-1), st.lists(st.integers(), max_size=2),
)  # fmt: skip
good_size = st.one_of(st.none(), st.integers(0, 10**9))
bad_size = st.sampled_from([-1, -500, 1.5, math.nan, INF, "x", "", True, [1], {"a": 1}])
good_delay = st.sampled_from([0, False])
bad_delay = st.one_of(st.integers(1, 60), st.sampled_from([True, -1, 1.5, "x", None]))
good_halt = st.sampled_from([False, None, True])  # halted is a valid quote the guard refuses
bad_halt = st.sampled_from(["yes", 1, 0, 1.0, [], {}])
good_last = st.one_of(st.none(), st.floats(-1e6, 1e6), st.integers(-10, 10**6))
bad_last = st.sampled_from([math.nan, INF, -INF, "12.5", True, [1.0]])
extra = st.dictionaries(
    st.sampled_from(["symbol", "tier", "VWAP", "lastTradeTime", "openPrice", "unknownField"]),
    st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=8)), max_size=3,
)  # fmt: skip


def _pick(draw: st.DrawFn, good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any],
          chance_bad: float = 0.15) -> tuple[Any, bool]:  # fmt: skip
    if draw(st.floats(0, 1)) < chance_bad:
        return draw(bad), False
    return draw(good), True


def _dec(value: int | float) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


@st.composite
def labelled(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    """A full quote record for a subscribed ticker and whether it must become a quote."""
    ticker = draw(st.sampled_from(sorted(FUZZED)))
    parts = {
        "bidPrice": _pick(draw, good_price, bad_price),
        "askPrice": _pick(draw, good_price, bad_price),
        "bidSize": _pick(draw, good_size, bad_size, 0.1),
        "askSize": _pick(draw, good_size, bad_size, 0.1),
        "volume": _pick(draw, good_size, bad_size, 0.1),
        "lastTradePrice": _pick(draw, good_last, bad_last, 0.1),
        "delay": _pick(draw, good_delay, bad_delay, 0.1),
        "isHalted": _pick(draw, good_halt, bad_halt, 0.1),
    }
    record = {**draw(extra), "symbolId": FUZZED[ticker], **{k: v for k, (v, _) in parts.items()}}
    ok = all(fine for _, fine in parts.values())
    if ok and _dec(record["bidPrice"]) > _dec(record["askPrice"]):
        ok = False  # crossed
    return record, ok


@fuzz_settings()
@given(frames=st.lists(st.lists(labelled(), min_size=1, max_size=3), min_size=1, max_size=3))
def test_a_quote_passes_only_when_valid_and_each_rejection_is_counted(
    line: Line, frames: list[list[tuple[dict[str, Any], bool]]]
) -> None:
    stats, guard_rejected = line.stream.stats, line.handler.guard.rejected
    rejected_before = stats.rejected
    texts = [json.dumps({"quotes": [record for record, _ in frame]}) for frame in frames]
    emitted, accepted = line.run(texts)

    records = [pair for frame in frames for pair in frame]
    valid = [record for record, ok in records if ok]
    assert [(q.ticker, q.bid, q.ask) for q in emitted] == [
        (_ticker(r), _dec(r["bidPrice"]), _dec(r["askPrice"])) for r in valid
    ]
    assert stats.rejected - rejected_before == len(records) - len(valid)
    halted = [r for r in valid if r["isHalted"] is True]
    assert len(accepted) == len(valid) - len(halted)
    assert line.handler.guard.rejected - guard_rejected == len(halted)
    assert all(not q.is_halted and q.delay == 0 for q in accepted)
    for ticker in FUZZED:  # the latest word on a ticker decides whether it has a quote
        last = [(r, ok) for r, ok in records if _ticker(r) == ticker]
        if last:
            latest = line.stream.latest(ticker)
            assert (latest is not None) == last[-1][1], (ticker, last[-1])


def _ticker(record: dict[str, Any]) -> str:
    return next(t for t, i in FUZZED.items() if i == record["symbolId"])


# --- junk frames: anything at all, never fatal, each one counted --------------------------------

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=10,
)  # fmt: skip
record_like = st.dictionaries(
    st.sampled_from(["symbolId", "bidPrice", "askPrice", "bidSize", "askSize", "volume",
                     "lastTradePrice", "delay", "isHalted", "lastTradeTime", "symbol"]),
    st.one_of(json_values, st.sampled_from([8049, 34658, "8049", 999, -1, 2**70, 1e300])),
)  # fmt: skip
junk = st.one_of(
    st.text(max_size=60),
    json_values.map(lambda v: json.dumps(v)),
    st.lists(record_like, max_size=4).map(lambda rs: json.dumps({"quotes": rs})),
    st.tuples(st.lists(record_like, min_size=1, max_size=3), st.integers(1, 200)).map(
        lambda p: json.dumps({"quotes": p[0]})[: p[1]]),  # truncated mid-frame
    st.integers(1, 20_000).map(lambda n: "[" * n + "]" * n),  # nested too deeply
    st.sampled_from(['{"success": true}', '{"quotes": null}', '{"quotes": {}}', "NaN", "",
                     '{"quotes": [NaN, Infinity]}', "\ud800".encode("utf-8", "surrogatepass")
                     .decode("latin-1")]),
)  # fmt: skip


def _expect_malformed(frame: str) -> bool:
    """Whether the stream must count ``frame`` as malformed (not a quotes document)."""
    try:
        doc = json.loads(frame)
    except (ValueError, RecursionError):
        return True
    if isinstance(doc, dict) and isinstance(doc.get("quotes"), list):
        return False
    return not (isinstance(doc, dict) and "success" in doc)


@fuzz_settings()
@given(frames=st.lists(junk, min_size=1, max_size=4))
def test_junk_frames_are_counted_and_never_stop_the_stream(line: Line, frames: list[str]) -> None:
    stats = line.stream.stats
    before = (stats.frames, stats.malformed)
    emitted, accepted = line.run(frames)
    assert stats.frames - before[0] == len(frames) + 1  # the sentinel too
    assert stats.malformed - before[1] == sum(_expect_malformed(f) for f in frames)
    for quote in [*emitted, *accepted]:  # whatever got through is a sound quote
        assert quote.bid > 0 and quote.ask >= quote.bid and quote.bid.is_finite()
        assert min(quote.bid_size, quote.ask_size, quote.volume) >= 0 and quote.delay == 0
    assert all(not q.is_halted for q in accepted)
    assert line.stream.up and stats.failures == 0
