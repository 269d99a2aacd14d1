"""The REST client against the local Questrade: every read call, auth, limits, faults."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from quant_agent.questrade.errors import (
    QuestradeNotFoundError,
    QuestradeOrderError,
    QuestradeParseError,
    QuestradeScopeError,
    QuestradeServerError,
    QuestradeTransientError,
)
from quant_agent.questrade.sandbox_data import ET

from .conftest import START, Harness, harness

ACCOUNT = "26598145"


def run(tmp_path: Path, body: Any, **kwargs: Any) -> None:
    async def main() -> None:
        async with harness(tmp_path, **kwargs) as h:
            await body(h)

    asyncio.run(main())


def test_every_read_call_against_the_sandbox(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        r = h.rest
        assert await r.time() == START
        accounts = await r.accounts()
        assert [a.number for a in accounts.accounts] == [ACCOUNT, "23456789"]
        positions = await r.positions(ACCOUNT)
        assert {p.symbol for p in positions} == {"AAPL", "RY.TO"}
        balances = await r.balances(ACCOUNT)
        assert balances.per_currency[0].cash == Decimal("10000.0")
        assert len(await r.executions(ACCOUNT)) == 1
        assert len(await r.orders(ACCOUNT)) == 2
        assert [o.state for o in await r.orders(ACCOUNT, state_filter="Open")] == ["Accepted"]
        assert [o.state for o in await r.orders(ACCOUNT, state_filter="Closed")] == ["Executed"]
        assert (await r.order(ACCOUNT, 177106006)).limit_price == Decimal("120.0")  # type: ignore[union-attr]
        assert await r.order(ACCOUNT, 1) is None
        long_ago = START - timedelta(days=75)
        assert await r.activities(ACCOUNT, long_ago, START) == ()
        activity_calls = [q for _, q in h.sandbox.requests if "/activities" in q]
        assert len(activity_calls) == 3  # 75 days in 30-day windows
        markets = await r.markets()
        assert {m.name for m in markets} >= {"TSX", "NYSE"}
        assert markets[0].start_time.astimezone(ET).hour == 9
        by_id = await r.symbols([8049, 34658])
        assert [s.symbol for s in by_id] == ["AAPL", "RY.TO"]
        found = await r.search("GOOS")
        assert {(s.symbol, s.currency) for s in found} == {("GOOS", "USD"), ("GOOS.TO", "CAD")}
        resolved = await r.resolve(["goos", "GOOS.TO", "GDNP.VN"])
        assert resolved["GOOS"].symbol_id != resolved["GOOS.TO"].symbol_id
        assert resolved["GDNP.VN"].listing_exchange == "TSXV"
        quotes = await r.quotes([8049, 7422546])
        assert quotes[0].bid_price is not None and quotes[0].bid_price < quotes[0].ask_price  # type: ignore[operator]
        assert quotes[1].bid_price is None and quotes[1].delay == 15
        days = await r.candles(8049, START - timedelta(days=10), START, "OneDay")
        assert len(days) == 7 and days[-1].end == START  # the current day's bar is partial

    run(tmp_path, body)


def test_unknown_account_and_symbol_are_typed_errors(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        with pytest.raises(QuestradeNotFoundError, match="Account number not found"):
            await h.rest.positions("99999999")
        with pytest.raises(QuestradeNotFoundError) as err:
            await h.rest.resolve(["NOPE.TO"])
        assert err.value.code == 1019

    run(tmp_path, body)


def test_order_calls_with_a_personal_key_are_refused_and_not_retried(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        with pytest.raises(QuestradeScopeError) as err:
            await h.rest._call(f"accounts/{ACCOUNT}/orders", method="POST", body={}, retry=False)
        assert err.value.code == 1016
        assert [m for m, _ in h.sandbox.requests].count("POST") == 1

    run(tmp_path, body)


def test_a_401_triggers_one_refresh_and_one_retry(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        await h.rest.time()
        h.sandbox.expire_access_tokens()
        assert await h.rest.time() == START
        assert h.sandbox.redemptions == 2 and h.auth.refreshes == 2
        assert [q for _, q in h.sandbox.requests] == ["/v1/time"] * 3

    run(tmp_path, body)


def test_refresh_happens_ahead_of_expiry_without_a_401(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        await h.rest.time()
        h.clock.advance(timedelta(seconds=1800 - 30))  # inside the 60 s margin
        await h.rest.time()
        assert h.sandbox.redemptions == 2
        assert len(h.sandbox.requests) == 2

    run(tmp_path, body)


def test_a_429_waits_until_the_reset_from_the_headers(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        h.sandbox.limits.account_per_hour = 3
        for _ in range(3):
            await h.rest.time()
        reset = datetime(2026, 3, 3, 16, 0, tzinfo=START.tzinfo)  # the next hour
        assert await h.rest.time() == reset
        assert (reset - START).total_seconds() in h.sleeps
        assert len(h.sandbox.requests) == 5  # one refused, one after the wait: no hammering

    run(tmp_path, body)


def test_a_5xx_on_a_read_is_retried_with_backoff(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        h.sandbox.faults.server_errors = 2
        assert await h.rest.time() == h.clock.now()
        assert h.clock.now() - START == sum((timedelta(seconds=s) for s in h.sleeps), timedelta())
        assert len(h.sleeps) == 2 and h.sleeps[1] > h.sleeps[0] * 0.9

    run(tmp_path, body)


def test_persistent_5xx_surfaces_a_typed_error_after_the_retries(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        h.sandbox.faults.server_errors = 100
        h.sandbox.faults.server_error_status = 503
        with pytest.raises(QuestradeServerError) as err:
            await h.rest.accounts()
        assert err.value.status == 503 and len(h.sandbox.requests) == 4

    run(tmp_path, body)


def test_malformed_json_is_a_clear_error_and_the_client_goes_on(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        h.sandbox.faults.malformed_json = 1
        with pytest.raises(QuestradeParseError, match="accounts: reply is not valid JSON"):
            await h.rest.accounts()
        assert len((await h.rest.accounts()).accounts) == 2

    run(tmp_path, body)


def test_a_slow_reply_times_out_as_a_transient_error(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        await h.rest.time()  # log in first: the login server is not slowed
        h.sandbox.faults.slow_seconds = 0.3
        with pytest.raises(QuestradeTransientError, match="timed out"):
            await h.rest.time()
        h.sandbox.faults.slow_seconds = 0

    run(tmp_path, body, http_timeout=0.05)


def test_candles_longer_than_2000_bars_are_paged_complete_in_order(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        start = datetime(2026, 2, 20, 0, 0, tzinfo=ET)
        end = datetime(2026, 3, 2, 23, 59, 59, tzinfo=ET)
        candles = await h.rest.candles(8049, start, end, "OneMinute")
        assert len(candles) == 7 * 390  # seven sessions of 390 one-minute bars
        starts = [c.start for c in candles]
        assert starts == sorted(set(starts))
        assert all(
            b - a == timedelta(minutes=1)
            for a, b in zip(starts, starts[1:], strict=False)
            if b.date() == a.date()
        )
        pages = [q for _, q in h.sandbox.requests if "/candles/" in q]
        assert len(pages) == 2
        assert all(
            c.low <= min(c.open, c.close) and c.high >= max(c.open, c.close) for c in candles
        )

    run(tmp_path, body)


def test_the_current_candle_is_partial(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        now = START + timedelta(minutes=2)
        h.clock.set(now)
        candles = await h.rest.candles(8049, START - timedelta(hours=1), now, "FiveMinutes")
        assert candles[-1].start == START and candles[-1].end == now  # 10:00 .. 10:02
        assert len(candles) == 7  # 09:30 .. 10:00 in five-minute bars

    run(tmp_path, body)


def test_the_client_follows_a_new_api_server_after_a_refresh(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        await h.rest.time()
        new = await h.sandbox.move_api_server()
        h.sandbox.expire_access_tokens()  # the next call gets a 401 and refreshes
        await h.rest.time()
        assert h.auth.current is not None and h.auth.current.api_server == new + "v1/"
        await h.sandbox.close_old_api_servers()
        assert len((await h.rest.accounts()).accounts) == 2

    run(tmp_path, body)


def test_timestamps_carry_toronto_offsets_across_the_dst_change(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        h.clock.set(datetime(2026, 3, 9, 15, 0, tzinfo=START.tzinfo))  # Monday after the change
        start = datetime(2026, 3, 5, 0, 0, tzinfo=ET)
        candles = await h.rest.candles(8049, start, h.clock.now(), "OneDay")
        session = await h.auth.session()
        async with httpx.AsyncClient() as http:
            raw = await http.get(
                session.api_server + "markets/candles/8049",
                params={"startTime": "2026-03-05T00:00:00-05:00",
                        "endTime": "2026-03-09T11:00:00-04:00", "interval": "OneDay"},
                headers={"Authorization": f"Bearer {session.access_token.get_secret_value()}"},
            )  # fmt: skip
        starts = [c["start"] for c in raw.json()["candles"]]
        assert starts[0] == "2026-03-05T00:00:00.000000-05:00"
        assert starts[-1] == "2026-03-09T00:00:00.000000-04:00"
        assert [c.start.hour for c in candles] == [5, 5, 4]  # UTC hours of 00:00 Toronto

    run(tmp_path, body)


def test_an_order_error_under_http_200_is_an_error_and_never_retried(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        h.sandbox.faults.order_error_200 = 1
        with pytest.raises(QuestradeOrderError) as err:
            await h.rest._call(f"accounts/{ACCOUNT}/orders", method="POST", body={}, retry=False)
        assert err.value.code == 3054 and err.value.order_id == 177106099

    run(tmp_path, body)


def test_a_5xx_on_an_order_call_is_not_retried(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        await h.rest.time()
        h.sandbox.faults.server_errors = 1
        with pytest.raises(QuestradeServerError):
            await h.rest._call(f"accounts/{ACCOUNT}/orders", method="POST", body={}, retry=False)
        assert [m for m, _ in h.sandbox.requests].count("POST") == 1 and h.sleeps == []

    run(tmp_path, body)


@pytest.mark.parametrize(
    "interval",
    [
        "OneMinute", "TwoMinutes", "ThreeMinutes", "FourMinutes", "FiveMinutes", "TenMinutes",
        "FifteenMinutes", "TwentyMinutes", "HalfHour", "OneHour", "TwoHours", "FourHours",
        "OneDay", "OneWeek", "OneMonth", "OneYear",
    ],
)  # fmt: skip
def test_every_candle_interval(tmp_path: Path, interval: str) -> None:
    async def body(h: Harness) -> None:
        candles = await h.rest.candles(8049, START - timedelta(days=3), START, interval)
        assert candles and all(c.start < c.end for c in candles)
        assert [c.start for c in candles] == sorted({c.start for c in candles})

    run(tmp_path, body)


def test_ticker_to_symbol_id_is_cached(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        await h.rest.resolve(["AAPL", "RY.TO"])
        calls = len(h.sandbox.requests)
        again = await h.rest.resolve(["RY.TO", "aapl"])
        assert len(h.sandbox.requests) == calls
        assert again["RY.TO"].symbol_id == 34658 and h.rest.cached_symbol(8049) is not None

    run(tmp_path, body)
