"""The quote and notification streams against the sandbox's sockets, through faults."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from quant_agent.core.market import Quote
from quant_agent.questrade import models as m
from quant_agent.questrade.stream import NotificationStream, QuoteStream

from .conftest import Harness, harness

FIXTURES = Path(__file__).parents[2] / "unit" / "questrade" / "fixtures"
LIMIT = 10.0  # seconds: a bound on waits for events, never a wait in itself


async def no_wait(_: float) -> None:
    await asyncio.sleep(0)


def run(tmp_path: Path, body: Callable[[Harness, QuoteStream, list[Quote]], Awaitable[None]],
        sandbox: dict[str, Any] | None = None, **stream_kwargs: Any) -> None:  # fmt: skip
    async def main() -> None:
        async with harness(tmp_path, **(sandbox or {})) as h:
            seen: list[Quote] = []
            waits: list[float] = []

            async def recording(seconds: float) -> None:
                waits.append(seconds)
                await asyncio.sleep(0)

            stream = QuoteStream(
                h.rest, h.auth, clock=h.clock, on_quote=seen.append, sleep=recording,
                rng=random.Random(1), **stream_kwargs,
            )  # fmt: skip
            stream.backoff_waits = waits  # type: ignore[attr-defined]
            try:
                async with asyncio.timeout(LIMIT):
                    await body(h, stream, seen)
            finally:
                await stream.stop()

    asyncio.run(main())


async def push_and_receive(h: Harness, stream: QuoteStream, seen: list[Quote], n: int) -> None:
    """Push full quotes and wait until ``n`` more have reached the handler."""
    target = len(seen) + n
    await stream.wait_up()
    assert await h.sandbox.push_quotes()
    await stream.wait_until(lambda: len(seen) >= target)


def test_pushed_quotes_reach_latest_merged_by_symbol_id(tmp_path: Path) -> None:
    async def body(h: Harness, stream: QuoteStream, seen: list[Quote]) -> None:
        await stream.subscribe(["AAPL", "RY.TO"])
        await stream.wait_up()
        assert await h.sandbox.push_quotes()
        await stream.wait_until(lambda: len(seen) >= 2)
        rest = {q.symbol: q for q in await h.rest.quotes([8049, 34658])}
        aapl = stream.latest("AAPL")
        assert aapl is not None and aapl.bid == rest["AAPL"].bid_price
        await h.sandbox.push_quotes([{"symbolId": 8049, "bidPrice": 1.0, "bidSize": 7}])
        await stream.wait_until(lambda: len(seen) >= 3)
        merged = stream.latest("AAPL")
        assert merged is not None and merged.bid == Decimal("1.0") and merged.bid_size == 7
        assert merged.ask == aapl.ask  # fields not sent are kept
        assert h.sandbox.streams.subscribed("quotes") == (8049, 34658)

    run(tmp_path, body)


def test_20_drops_and_5_stalls_end_with_the_subscription_restored(tmp_path: Path) -> None:
    async def body(h: Harness, stream: QuoteStream, seen: list[Quote]) -> None:
        await stream.subscribe(["AAPL", "MSFT"])
        await stream.wait_connects(1)
        for i in range(20):
            h.sandbox.streams.drop("quotes") if i % 2 else await h.sandbox.streams.close_clean(
                "quotes"
            )
            await stream.wait_connects(i + 2)
        stream._stall = 0.05  # the sandbox now stays silent: each silence is a stall
        h.sandbox.streams.drop("quotes")  # the next socket reads with the short watchdog
        await stream.wait_connects(22 + 5)
        assert stream.stats.stalls >= 5
        stream._stall = 60.0
        await stream.wait_connects(stream.stats.connects + 1)
        await push_and_receive(h, stream, seen, 2)
        assert {q.ticker for q in seen[-2:]} == {"AAPL", "MSFT"}
        # every loss came after a socket that was up: the backoff restarted each time
        assert len(stream.backoff_waits) >= 26 and max(stream.backoff_waits) <= 0.5  # type: ignore[attr-defined]
        assert h.sandbox.streams.subscribed("quotes") == stream.subscribed

    run(tmp_path, body)


def test_quotes_are_marked_down_while_the_socket_is_gone(tmp_path: Path) -> None:
    async def body(h: Harness, stream: QuoteStream, seen: list[Quote]) -> None:
        await stream.subscribe(["AAPL"])
        await stream.wait_connects(1)
        assert stream.up and stream.down_since is None
        await h.sandbox.stop()  # the whole of Questrade goes away
        await stream.wait_until(lambda: not stream.up)
        assert stream.down_since is not None and stream.stats.failures >= 1

    run(tmp_path, body)


def test_bad_frames_and_bad_quotes_are_rejected_and_counted(tmp_path: Path) -> None:
    async def body(h: Harness, stream: QuoteStream, seen: list[Quote]) -> None:
        await stream.subscribe(["AAPL", "BABA"])
        await stream.wait_up()
        base = json.loads((FIXTURES / "quotes.json").read_text())["quotes"][0]
        await h.sandbox.streams.push_raw("quotes", '{"quotes": [')
        bad = [
            dict(base, bidPrice=300.0),  # crossed
            dict(base, bidPrice=0),  # zero
            dict(base, askPrice=None),  # null
            {"symbolId": 7422546, "symbol": "BABA"},  # null prices, delayed
        ]
        await h.sandbox.push_quotes(bad)
        await h.sandbox.streams.push_raw("quotes", '{"quotes":[{"symbolId":8049,"bidPrice":NaN}]}')
        await h.sandbox.push_quotes([base])
        await stream.wait_until(lambda: bool(seen))
        assert stream.stats.malformed == 1 and stream.stats.rejected == 5
        assert [q.ticker for q in seen] == ["AAPL"] and stream.latest("BABA") is None
        assert stream.stats.connects == 1  # none of it cost the connection

    run(tmp_path, body)


def test_an_invalid_access_token_is_refused_then_the_stream_re_authenticates(
    tmp_path: Path,
) -> None:
    async def body(h: Harness, stream: QuoteStream, seen: list[Quote]) -> None:
        await stream.subscribe(["AAPL"])
        await stream.wait_connects(1)
        h.sandbox.expire_access_tokens()
        h.sandbox.streams.drop("quotes")
        await stream.wait_connects(2)
        assert h.sandbox.redemptions >= 2

    run(tmp_path, body)


def test_notifications_reach_the_handler(tmp_path: Path) -> None:
    async def main() -> None:
        async with harness(tmp_path) as h:
            got: asyncio.Queue[m.Notification] = asyncio.Queue()
            stream = NotificationStream(
                h.rest, h.auth, clock=h.clock, on_notification=got.put_nowait, sleep=no_wait
            )
            stream.start()
            try:
                async with asyncio.timeout(LIMIT):
                    await stream.wait_up()
                    doc = json.loads((FIXTURES / "notification.json").read_text())
                    await h.sandbox.streams.push("notifications", doc)
                    note = await got.get()
            finally:
                await stream.stop()
            assert note.executions[0].order_id == 5 and note.account_number == "26598145"

    asyncio.run(main())


def test_a_second_socket_of_one_type_disconnects_the_first(tmp_path: Path) -> None:
    async def body(h: Harness, stream: QuoteStream, seen: list[Quote]) -> None:
        await stream.subscribe(["AAPL"])
        await stream.wait_connects(1)
        other = QuoteStream(h.rest, h.auth, clock=h.clock, sleep=no_wait)
        await other.subscribe(["MSFT"])
        await other.wait_connects(1)
        await stream.wait_until(lambda: stream.stats.failures >= 1)
        await other.stop()

    run(tmp_path, body)


def test_the_access_token_never_reaches_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    async def body(h: Harness, stream: QuoteStream, seen: list[Quote]) -> None:
        await stream.subscribe(["AAPL"])
        await stream.wait_up()
        session = await h.auth.session()
        assert session.access_token.get_secret_value() not in caplog.text

    run(tmp_path, body)


def test_an_older_record_after_a_newer_one_never_overwrites_it(tmp_path: Path) -> None:
    async def body(h: Harness, stream: QuoteStream, seen: list[Quote]) -> None:
        await stream.subscribe(["AAPL"])
        await stream.wait_up()
        base = json.loads((FIXTURES / "quotes.json").read_text())["quotes"][0]
        newer = dict(base, bidPrice=219.5, lastTradeTime="2019-10-14T19:59:45.416000-04:00")
        older = dict(base, bidPrice=219.0, lastTradeTime="2019-10-14T23:59:44.000000+00:00")
        same = dict(newer, askSize=9)  # the same trade time: a normal update
        partial = {"symbolId": 8049, "bidSize": 3}  # no trade time: merged as ever
        for record in (newer, older, same, partial):
            await h.sandbox.push_quotes([record])
        await stream.wait_until(lambda: len(seen) >= 3)
        latest = stream.latest("AAPL")
        assert latest is not None and latest.bid == Decimal("219.5")
        assert (latest.ask_size, latest.bid_size) == (9, 3)
        assert stream.stats.out_of_order == 1 and stream.stats.rejected == 0

    run(tmp_path, body)
