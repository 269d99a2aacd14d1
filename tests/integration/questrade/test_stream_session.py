"""Questrade's stream session (spec 3.4, 7.6) against the sandbox, which enforces it on its
clock: the socket closes after 30 minutes without a REST request, or when the access token
it authenticated with expires without a refresh. The client's keep-alive prevents both; a
close anyway ends in a reconnect with a fresh token and the same subscription."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from quant_agent.core.market import Quote
from quant_agent.questrade.rest import keep_alive
from quant_agent.questrade.stream import QuoteStream

from .conftest import Harness
from .test_stream import push_and_receive, run

HOURS = 3


def test_the_keep_alive_keeps_the_stream_session_for_hours(tmp_path: Path) -> None:
    async def body(h: Harness, stream: QuoteStream, seen: list[Quote]) -> None:
        await stream.subscribe(["AAPL"])
        await stream.wait_connects(1)
        start, wakes = h.clock.now(), 0

        async def paced(seconds: float) -> None:  # the keep-alive's sleep: time passes...
            nonlocal wakes
            h.clock.advance(timedelta(seconds=seconds))
            wakes += 1
            # ...and the sandbox applies its rule at the latest instant before the next call
            assert await h.sandbox.expire_idle_streams() == 0
            assert await h.sandbox.push_quotes(), "the stream socket was closed"
            if h.clock.now() - start >= timedelta(hours=HOURS):
                raise asyncio.CancelledError

        with pytest.raises(asyncio.CancelledError):
            await keep_alive(h.rest, clock=h.clock, sleep=paced)
        await stream.wait_until(lambda: len(seen) >= wakes)
        assert stream.stats.connects == 1 and stream.up
        assert h.sandbox.streams.expired_sessions == []
        assert h.auth.refreshes >= HOURS * 2  # 30-minute tokens, each renewed before expiry

    run(tmp_path, body)


def test_a_stream_token_that_expires_without_a_refresh_ends_the_session(tmp_path: Path) -> None:
    async def body(h: Harness, stream: QuoteStream, seen: list[Quote]) -> None:
        await stream.subscribe(["AAPL"])
        await stream.wait_connects(1)
        first = h.sandbox.streams.token_of("quotes")
        redemptions = h.sandbox.redemptions
        h.clock.advance(timedelta(minutes=26))
        await h.rest.time()  # a REST call every 25 minutes alone is not enough...
        assert h.auth.refreshes == 1 and await h.sandbox.push_quotes()
        h.clock.advance(timedelta(minutes=4))  # ...the 30-minute token expires unrenewed
        assert not await h.sandbox.push_quotes()
        assert h.sandbox.streams.expired_sessions == [
            ("quotes", "the access token expired without a refresh")]  # fmt: skip
        await stream.wait_connects(2)  # new port request, fresh token, resubscribed
        assert h.sandbox.redemptions == redemptions + 1
        assert h.sandbox.streams.token_of("quotes") not in (None, first)
        assert h.sandbox.streams.subscribed("quotes") == stream.subscribed
        await push_and_receive(h, stream, seen, 1)

    run(tmp_path, body)


def test_thirty_minutes_without_a_rest_request_end_the_session(tmp_path: Path) -> None:
    async def body(h: Harness, stream: QuoteStream, seen: list[Quote]) -> None:
        await stream.subscribe(["AAPL", "MSFT"])
        await stream.wait_connects(1)
        h.clock.advance(timedelta(minutes=29, seconds=59))
        assert await h.sandbox.push_quotes()
        h.clock.advance(timedelta(seconds=1))
        await h.rest.time()  # too late: the session ended before this request arrived
        assert h.sandbox.streams.expired_sessions == [("quotes", "no REST request for 0:30:00")]
        await stream.wait_connects(2)
        assert h.sandbox.streams.subscribed("quotes") == stream.subscribed
        await push_and_receive(h, stream, seen, 2)
        assert {q.ticker for q in seen[-2:]} == {"AAPL", "MSFT"}

    run(tmp_path, body, sandbox={"access_ttl": 4 * 3600})  # only the idle rule applies


def test_the_session_rule_can_be_switched_off(tmp_path: Path) -> None:
    async def body(h: Harness, stream: QuoteStream, seen: list[Quote]) -> None:
        await stream.subscribe(["AAPL"])
        await stream.wait_connects(1)
        h.clock.advance(timedelta(hours=2))
        assert await h.sandbox.expire_idle_streams() == 0
        await push_and_receive(h, stream, seen, 1)
        assert stream.stats.connects == 1

    run(tmp_path, body, sandbox={"session_expiry": False})
