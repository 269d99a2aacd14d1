"""The live paper loop on Questrade data: sandbox stream → RealtimeDataHandler → LiveRunner
→ paper venue and executor. While the stream is down quotes are stale and nothing fills
from them; an outage is published on the bus; a silent stream is reconnected; the REST
keep-alive runs."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from quant_agent.config import LiveTradingConfig
from quant_agent.core.enums import OrderStatus, Side
from quant_agent.core.events import ConnectionStatusChanged, FeedStatusChanged
from quant_agent.live_runner import LiveRunner
from quant_agent.realtime_data import RealtimeDataHandler
from quant_agent.storage.store import Store
from quant_agent.testkit.sandbox_harness import Gate, LiveBody, live_loop, of, until

from .conftest import START, Harness, history

CONFIG = LiveTradingConfig.model_validate(
    {"data": {"source": "questrade"}, "questrade": {"outage_alert_s": 120}}
)
TICKER = history().tickers[0]


def live(tmp_path: Path, body: LiveBody, store: Store, **feed: object) -> None:
    live_loop(tmp_path, store, CONFIG, [TICKER], body, **feed)


def test_streamed_quotes_reach_the_executor_and_none_while_the_stream_is_down(
    tmp_path: Path, store: Store
) -> None:
    gate = Gate()

    async def body(h: Harness, feed: RealtimeDataHandler, runner: LiveRunner,
                   events: list[object]) -> None:  # fmt: skip
        engine = runner.engine
        await runner.step()
        assert of(ConnectionStatusChanged, events)[-1].connected  # type: ignore[attr-defined]
        price = h.sandbox.market.price_at(h.sandbox.market.by_name[TICKER].source or "", START)
        assert price is not None
        order = engine.orders.create_limit_order(TICKER, Side.BUY, 10, f"{price * 1.05:.2f}")
        engine.orders.submit_order(order.client_order_id)
        # A quote arrives, then the stream dies before the runner takes it: it is stale.
        assert await h.sandbox.push_quotes()
        await until(feed, lambda: feed.stream.latest(TICKER) is not None)  # type: ignore[attr-defined]
        h.sandbox.streams.drop("quotes")
        await until(feed, lambda: not feed.stream.up)
        assert await runner.step() == 0
        assert feed.get_latest_quote(TICKER) is None
        assert engine.broker.last_quote(TICKER) is None  # the paper venue never saw it
        assert engine.orders.get_order_status(order.client_order_id) is OrderStatus.ACCEPTED
        # A drop shorter than the grace is only logged: no "connection lost" alert yet.
        assert of(ConnectionStatusChanged, events)[-1].connected  # type: ignore[attr-defined]
        assert not of(FeedStatusChanged, events)  # not yet an outage
        h.clock.advance(timedelta(minutes=3))
        await runner.step()
        assert not of(ConnectionStatusChanged, events)[-1].connected  # type: ignore[attr-defined]
        alert = of(FeedStatusChanged, events)
        assert len(alert) == 1 and not alert[0].healthy  # type: ignore[attr-defined]
        assert engine.orders.get_order_status(order.client_order_id) is OrderStatus.ACCEPTED
        # The stream comes back: restored, and the next quote fills the order.
        gate.open.set()
        await until(feed, lambda: feed.stream.up)
        await runner.step()
        assert of(FeedStatusChanged, events)[-1].healthy  # type: ignore[attr-defined]
        assert of(ConnectionStatusChanged, events)[-1].connected  # type: ignore[attr-defined]
        assert await h.sandbox.push_quotes()
        await until(feed, lambda: bool(feed._buffer))
        assert await runner.step() == 1
        assert feed.get_latest_quote(TICKER) is not None
        assert engine.orders.get_order_status(order.client_order_id) is OrderStatus.FILLED

    live(tmp_path, body, store=store, sleep=gate)


def test_a_silent_stream_in_market_hours_is_reconnected(tmp_path: Path, store: Store) -> None:
    async def body(h: Harness, feed: RealtimeDataHandler, runner: LiveRunner,
                   events: list[object]) -> None:  # fmt: skip
        await runner.step()
        connects = feed.stream.stats.connects  # type: ignore[attr-defined]
        h.clock.advance(timedelta(minutes=1))
        await runner.step()
        assert feed.forced_reconnects == 0
        h.clock.advance(timedelta(minutes=2))  # no quote for 3 minutes, the market open
        await runner.step()
        assert feed.forced_reconnects == 1
        await until(feed, lambda: feed.stream.stats.connects > connects)  # type: ignore[attr-defined]

    live(tmp_path, body, store=store)


def test_the_handler_keeps_the_rest_session_alive(tmp_path: Path, store: Store) -> None:
    ticks = asyncio.Queue[None]()
    calls: list[float] = []
    again = asyncio.Event()

    async def paced(seconds: float) -> None:
        calls.append(seconds)
        if len(calls) >= 2:
            again.set()  # the keep-alive went round once more after a tick
        await ticks.get()

    async def body(h: Harness, feed: RealtimeDataHandler, runner: LiveRunner,
                   events: list[object]) -> None:  # fmt: skip
        before = h.rest.last_request_at
        assert before is not None
        h.clock.advance(timedelta(minutes=21))  # the default keep-alive is every 20
        ticks.put_nowait(None)
        await again.wait()
        assert h.rest.last_request_at != before
        assert ("GET", "time") in [(m, p.rsplit("/", 1)[-1]) for m, p in h.sandbox.requests]

    live(tmp_path, body, store=store, keep_alive_sleep=paced)
