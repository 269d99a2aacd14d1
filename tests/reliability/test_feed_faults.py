"""Feed faults (issue 10, item 2) and "subscriptions restored after every reconnect" (item 7).

The live paper loop on Questrade data: the local Questrade sandbox's WebSocket stream →
``QuoteStream`` → ``RealtimeDataHandler`` → ``LiveRunner`` → the paper venue and the
executor, on one injected ``SimClock`` (outages and stalls are clock advances, never
sleeps; the reconnect backoff is a gate the test opens). Alerts go out through the real
alert path (``AlertManager`` → a JSON webhook on 127.0.0.1).

* The stream dropped (abrupt TCP loss and clean close, alternating; every fourth with the
  access tokens expired so the reconnect must re-authenticate) and stalled (socket open,
  pushes swallowed): each time a new port request, re-auth and the FULL subscription set
  again (the sandbox records every authenticated socket's ids; halfway through the drops
  the universe grows by a ticker and every later socket has the new set); a quote received just
  before the fault is never traded on; an outage longer than ``questrade.outage_alert_s``
  raises exactly one "Data feed issue" alert on the webhook; a resting marketable order
  stays unfilled until a fresh quote comes after the recovery.
* Duplicates (a flood of the same frame), reordered pushes (an older quote after a newer
  one), malformed frames and crossed, zero, negative, null and NaN quotes: the connection
  survives, invalid quotes are rejected and counted, the newer quote is kept, no order
  fills twice and no bad quote reaches the venue.

The feed faults do not depend on the database, so the store is SQLite only.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from quant_agent.config import LiveTradingConfig
from quant_agent.core.enums import OrderStatus, Side
from quant_agent.core.events import ConnectionStatusChanged, FeedStatusChanged
from quant_agent.live_runner import LiveRunner
from quant_agent.questrade.sandbox_data import BAD_QUOTES, bad_quote
from quant_agent.questrade.stream import QuoteStream
from quant_agent.realtime_data import RealtimeDataHandler
from quant_agent.storage.store import Store
from quant_agent.testkit.notify_servers import WebhookServer
from quant_agent.testkit.sandbox_harness import Gate, Harness, history, live_loop, of, until

from .budget import counts

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

DROPS = counts(20, 100)
STALLS = counts(3, 10)
FLOOD = counts(500, 5_000)  # copies of one frame
BAD_ROUNDS = counts(2, 20)  # rounds of every malformed frame and every invalid quote
OUTAGE_S = 120
LONG_EVERY = 5  # every fifth drop lasts longer than the outage alert threshold
ALERT_WAIT = 10.0  # seconds: a bound on waiting for a webhook delivery
RESTING, OTHERS, EXTRA = history().tickers[0], history().tickers[1:3], history().tickers[3]
MALFORMED = ('{"quotes": [', "not json", "[]", '{"quotes": 5}', '{"quotes": {"symbolId": 1}}')


@pytest.fixture
def webhook() -> Iterator[WebhookServer]:
    with WebhookServer() as server:
        yield server


def config(webhook: WebhookServer) -> LiveTradingConfig:
    return LiveTradingConfig.model_validate({
        "data": {"source": "questrade"}, "questrade": {"outage_alert_s": OUTAGE_S},
        "alerts": {"urls": f"json://127.0.0.1:{webhook.port}/", "rate_limit_count": 10_000,
                   "dedup_window_seconds": 0, "retry_backoff_seconds": 0.01},
    })  # fmt: skip


def symbol_ids(h: Harness, tickers: list[str]) -> tuple[int, ...]:
    """The sandbox's symbol ids of ``tickers``, sorted (as a full subscription has them)."""
    return tuple(sorted(h.sandbox.market.by_name[t].symbol_id for t in tickers))


def stream_of(feed: RealtimeDataHandler) -> QuoteStream:
    stream = feed.stream
    assert isinstance(stream, QuoteStream)
    return stream


def record(h: Harness, ticker: str, **fields: Any) -> dict[str, Any]:
    """The sandbox's full quote record of ``ticker`` now, with ``fields`` overwritten."""
    info = h.sandbox.market.by_name[ticker]
    return dict(h.sandbox.market.quote(info, h.clock.now()), **fields)


async def push(h: Harness, feed: RealtimeDataHandler, records: list[dict[str, Any]],
               frames: int = 1) -> None:  # fmt: skip
    """Push one frame of ``records`` and wait until the stream has read ``frames`` frames."""
    target = stream_of(feed).stats.frames + frames
    assert await h.sandbox.push_quotes(records)
    await frames_read(feed, target)


async def frames_read(feed: RealtimeDataHandler, target: int) -> None:
    """Wait until the stream has read ``target`` frames since it started."""
    stream = stream_of(feed)
    await until(feed, lambda: stream.stats.frames >= target)


def resting_buy(runner: LiveRunner, h: Harness, ticker: str, factor: float) -> str:
    """A 1-share BUY LIMIT at ``factor`` × the market price (> 1: any quote fills it)."""
    price = h.sandbox.market.price_at(h.sandbox.market.by_name[ticker].source or "", h.clock.now())
    assert price is not None
    orders = runner.engine.orders
    order = orders.create_limit_order(ticker, Side.BUY, 1, f"{price * factor:.2f}")
    orders.submit_order(order.client_order_id)
    return order.client_order_id


def open_orders(runner: LiveRunner) -> list[str]:
    return [o.client_order_id for o in runner.engine.orders.open_orders()]


def feed_alert(webhook: WebhookServer) -> str:
    """Wait for the next "Data feed issue" alert on the webhook (others are skipped)."""
    while True:
        title = str(webhook.requests.get(timeout=ALERT_WAIT).body["title"])
        if "Data feed issue" in title:
            return title


def no_feed_alert_pending(webhook: WebhookServer) -> bool:
    while True:
        try:
            title = str(webhook.requests.get_nowait().body["title"])
        except queue.Empty:
            return True
        if "Data feed issue" in title:
            return False


def test_drops_recover_resubscribe_alert_after_the_outage_and_never_trade_stale(
    tmp_path: Path, store: Store, webhook: WebhookServer
) -> None:
    gate = Gate()
    gate.open.set()

    async def body(h: Harness, feed: RealtimeDataHandler, runner: LiveRunner,
                   events: list[object]) -> None:  # fmt: skip
        stream, hub = stream_of(feed), h.sandbox.streams
        tickers = [RESTING, *OTHERS]
        expected = [("quotes", symbol_ids(h, tickers))]
        await runner.step()
        order = resting_buy(runner, h, RESTING, 1.05)
        long_outages = 0
        for i in range(DROPS):
            if i == DROPS // 2:  # the universe changes: every later reconnect has the new set
                tickers.append(EXTRA)
                connects = stream.stats.connects
                await feed.subscribe_quotes(tickers)
                await stream.wait_connects(connects + 1)
                expected.append(("quotes", symbol_ids(h, tickers)))
            # A quote arrives, then the stream dies before the runner takes it.
            await push(h, feed, [record(h, RESTING)])
            gate.open.clear()
            if i % 4 == 3:
                h.sandbox.expire_access_tokens()  # the reconnect must re-authenticate
            hub.drop("quotes") if i % 2 else await hub.close_clean("quotes")
            await until(feed, lambda: not stream.up)
            assert await runner.step() == 0 and feed.get_latest_quote(RESTING) is None
            if i % LONG_EVERY == LONG_EVERY - 1:
                h.clock.advance(timedelta(seconds=OUTAGE_S + 1))
                await runner.step()
                long_outages += 1
                assert "Data feed issue" in feed_alert(webhook)
            gate.open.set()
            await until(feed, lambda: stream.up)
            expected.append(("quotes", symbol_ids(h, tickers)))
            await runner.step()
            await push(h, feed, [record(h, t) for t in OTHERS])
            assert await runner.step() == len(OTHERS)  # fresh quotes flow again
            assert runner.engine.orders.get_order_status(order) is OrderStatus.ACCEPTED
        assert hub.subscriptions == expected  # the full set after EVERY reconnect
        ports = [p for _, p in h.sandbox.requests if "stream=true" in p]
        assert len(ports) >= DROPS + 2 and stream.stats.connects == DROPS + 2
        assert h.sandbox.redemptions >= 1 + DROPS // 4
        alerts = of(FeedStatusChanged, events)
        assert [a.healthy for a in alerts] == [False, True] * long_outages  # type: ignore[attr-defined]
        # Short drops are only logged: "connection lost" is said for the long outages alone.
        links = [e.connected for e in of(ConnectionStatusChanged, events)]  # type: ignore[attr-defined]
        assert links == [True] + [False, True] * long_outages
        assert no_feed_alert_pending(webhook)
        assert runner.engine.broker.last_quote(RESTING) is None  # the venue never saw it
        assert open_orders(runner) == [order]  # nothing else was placed meanwhile
        await push(h, feed, [record(h, RESTING)])
        assert await runner.step() == 1
        assert runner.engine.orders.get_order_status(order) is OrderStatus.FILLED

    live_loop(tmp_path, store, config(webhook), [RESTING, *OTHERS], body, limit=60.0,
              sleep=gate)  # fmt: skip


def test_stalls_are_reconnected_with_the_full_subscription_and_stale_quotes_unused(
    tmp_path: Path, store: Store, webhook: WebhookServer
) -> None:
    async def body(h: Harness, feed: RealtimeDataHandler, runner: LiveRunner,
                   events: list[object]) -> None:  # fmt: skip
        stream, hub = stream_of(feed), h.sandbox.streams
        full = symbol_ids(h, [RESTING, *OTHERS])
        max_age = timedelta(seconds=cfg.runner.max_quote_age_seconds)
        await runner.step()
        order = resting_buy(runner, h, RESTING, 1.05)
        for i in range(STALLS):
            await push(h, feed, [record(h, RESTING)])
            hub.faults.stalled = True  # the socket stays open; nothing more comes
            h.clock.advance(max_age + timedelta(seconds=1))
            assert await h.sandbox.push_quotes([record(h, t) for t in OTHERS])  # swallowed
            assert await runner.step() == 0  # the quote aged out before the runner took it
            assert stream.up and feed.get_latest_quote(RESTING) is None
            h.clock.advance(timedelta(minutes=2))  # silent in market hours: the watchdog
            await runner.step()
            assert feed.forced_reconnects == i + 1
            await stream.wait_connects(i + 2)
            await until(feed, lambda: stream.up)
            hub.faults.stalled = False
            await runner.step()
            await push(h, feed, [record(h, t) for t in OTHERS])
            assert await runner.step() == len(OTHERS)
            assert runner.engine.orders.get_order_status(order) is OrderStatus.ACCEPTED
        assert hub.faults.swallowed == STALLS
        assert hub.subscriptions == [("quotes", full)] * (STALLS + 1)
        assert runner.engine.broker.last_quote(RESTING) is None
        assert open_orders(runner) == [order]
        assert not of(FeedStatusChanged, events)  # a stall is no outage: the socket was up

    gate = Gate()
    gate.open.set()  # the reconnect after a forced close goes straight on
    cfg = config(webhook)
    live_loop(tmp_path, store, cfg, [RESTING, *OTHERS], body, limit=30.0, sleep=gate)


def test_duplicates_reordering_malformed_frames_and_invalid_quotes(
    tmp_path: Path, store: Store, webhook: WebhookServer
) -> None:
    async def body(h: Harness, feed: RealtimeDataHandler, runner: LiveRunner,
                   events: list[object]) -> None:  # fmt: skip
        stream, hub, venue = stream_of(feed), h.sandbox.streams, runner.engine.broker
        await runner.step()
        # Duplicates: a flood of one frame fills a 1-share order once.
        flooded = resting_buy(runner, h, OTHERS[0], 1.05)
        hub.faults.duplicates = FLOOD - 1
        await push(h, feed, [record(h, OTHERS[0])], frames=FLOOD)
        hub.faults.duplicates = 0
        assert await runner.step() == FLOOD
        assert runner.engine.orders.get_order_status(flooded) is OrderStatus.FILLED
        position = runner.engine.positions.get(OTHERS[0])
        assert position is not None and position.quantity == 1
        # Reordered: the newer quote is sent first, the older one after it.
        good = record(h, RESTING)
        h.clock.advance(timedelta(seconds=1))
        newer = record(h, RESTING, bidPrice=round(good["bidPrice"] + 0.05, 2))
        hub.faults.reorder = True
        assert await h.sandbox.push_quotes([good])  # held back
        await push(h, feed, [newer], frames=2)
        hub.faults.reorder = False
        await runner.step()
        latest = stream.latest(RESTING)
        assert latest is not None and latest.bid == Decimal(str(newer["bidPrice"]))
        assert stream.stats.out_of_order == 1
        assert venue.last_quote(RESTING) == latest  # the venue's last word is the newer one
        # Malformed frames and invalid quotes: rejected, counted, never at the venue.
        low = resting_buy(runner, h, RESTING, 0.5)  # only a bad price could fill it
        for _ in range(BAD_ROUNDS):
            read = stream.stats.frames + len(MALFORMED)
            for text in MALFORMED:
                assert await hub.push_raw("quotes", text)
            await frames_read(feed, read)
            for kind in BAD_QUOTES:
                h.clock.advance(timedelta(seconds=1))
                await push(h, feed, [bad_quote(record(h, RESTING), kind)])
                assert await runner.step() == 0 and stream.latest(RESTING) is None
                assert venue.last_quote(RESTING) == latest
            await push(h, feed, [record(h, t) for t in OTHERS])
            assert await runner.step() == len(OTHERS)
        assert stream.stats.malformed == BAD_ROUNDS * len(MALFORMED)
        assert stream.stats.rejected == BAD_ROUNDS * len(BAD_QUOTES)
        assert open_orders(runner) == [low]
        assert stream.stats.connects == 1 and stream.up  # none of it cost the connection
        assert not of(FeedStatusChanged, events)

    live_loop(tmp_path, store, config(webhook), [RESTING, *OTHERS], body, limit=30.0)
