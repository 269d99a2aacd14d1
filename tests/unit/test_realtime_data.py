"""Quotes in: invalid quotes are never built, stale, future, halted and out-of-order quotes
never pass the guard, and a daily bar replays as open, low, high, close at fixed times."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from quant_agent.core.clock import SimClock
from quant_agent.core.ids import Ticker
from quant_agent.core.market import Bar
from quant_agent.realtime_data import QuoteGuard, ReplayFeed, bar_quotes, parse_quote
from quant_agent.testkit.quotes import SESSION_OPEN, quote

D = Decimal


@pytest.mark.parametrize(
    ("bid", "ask"),
    [("10.05", "10.00"), ("0", "10.00"), ("-1", "10.00"), ("nan", "10.00"), ("10", "inf"),
     ("abc", "10.00")],
)  # fmt: skip
def test_crossed_zero_negative_and_nan_quotes_are_dropped(bid: str, ask: str) -> None:
    assert parse_quote(ticker="AAPL", bid=bid, ask=ask, ts_event=SESSION_OPEN,
                       ts_init=SESSION_OPEN) is None  # fmt: skip


def test_guard_passes_fresh_quotes_only() -> None:
    clock = SimClock(SESSION_OPEN)
    guard = QuoteGuard(clock, timedelta(seconds=60))
    assert guard.accept(quote("AAPL", "10", "10.01", ts=SESSION_OPEN))
    assert not guard.accept(quote("MSFT", "10", "10.01", ts=SESSION_OPEN - timedelta(seconds=61)))
    assert not guard.accept(quote("MSFT", "10", "10.01", ts=SESSION_OPEN + timedelta(seconds=1)))
    assert not guard.accept(quote("IBM", "10", "10.01", ts=SESSION_OPEN, halted=True))
    clock.set(SESSION_OPEN + timedelta(seconds=30))
    assert guard.accept(quote("AAPL", "11", "11.01", ts=clock.now()))
    assert not guard.accept(quote("AAPL", "9", "9.01", ts=SESSION_OPEN))  # out of order
    assert guard.latest[Ticker("AAPL")].bid == D("11") and guard.rejected == 4
    clock.set(SESSION_OPEN + timedelta(minutes=5))
    assert guard.fresh(Ticker("AAPL")) is None  # went stale since


def test_a_daily_bar_replays_as_open_low_high_close_in_session() -> None:
    bar = Bar(ticker=Ticker("AAPL"), session=date(2025, 3, 10), open=D("10"), high=D("12"),
              low=D("9"), close=D("11"), volume=1000)  # fmt: skip
    quotes = bar_quotes(bar, bar.session)
    assert [q.last for q in quotes] == [D("10"), D("9"), D("12"), D("11")]
    assert [q.ts_event.astimezone(UTC).strftime("%H:%M") for q in quotes] == [
        "13:30", "15:00", "17:30", "19:55"]  # fmt: skip
    assert all(q.bid == q.ask == q.last for q in quotes)
    batches = ReplayFeed({bar.session: {"AAPL": bar}}).session_batches(bar.session)
    assert [b.at for b in batches] == [q.ts_event for q in quotes]


def test_intraday_bars_replay_one_quote_each_at_their_time() -> None:
    day = date(2025, 3, 10)
    times = [datetime(2025, 3, 10, 14, m, tzinfo=UTC) for m in (0, 5)]
    bars = [
        Bar(ticker=Ticker("AAPL"), session=day, open=D("10"), high=D("11"), low=D("10"),
            close=D(str(10 + i)), volume=1, ts_event=t)
        for i, t in enumerate(times)
    ]  # fmt: skip
    feed = ReplayFeed({day: {}}, intraday={day: bars})
    assert [(b.at, b.quotes[0].last) for b in feed.batches()] == [
        (times[0], D("10")), (times[1], D("11"))]  # fmt: skip


def test_guard_takes_a_whole_frame_with_one_clock_read_and_the_same_rules() -> None:
    clock = SimClock(SESSION_OPEN)
    guard = QuoteGuard(clock, timedelta(seconds=60))
    edge = SESSION_OPEN - timedelta(seconds=60)  # exactly max_age old: still fresh
    frame = [
        quote("AAPL", "10", "10.01", ts=edge),
        quote("MSFT", "10", "10.01", ts=edge - timedelta(microseconds=1)),  # stale
        quote("MSFT", "10", "10.01", ts=SESSION_OPEN + timedelta(microseconds=1)),  # future
        quote("IBM", "10", "10.01", ts=SESSION_OPEN, halted=True),
        quote("AAPL", "11", "11.01", ts=SESSION_OPEN),
        quote("AAPL", "9", "9.01", ts=edge),  # out of order within the frame
    ]
    accepted = guard.accept_all(frame)
    assert accepted == [frame[0], frame[4]] and guard.rejected == 4
    assert guard.latest[Ticker("AAPL")] is frame[4]


class _Stream:
    up = True


def test_handler_takes_a_frame_at_once_and_drops_it_while_down() -> None:
    from quant_agent.realtime_data import RealtimeDataHandler

    clock = SimClock(SESSION_OPEN)
    stream = _Stream()
    handler = RealtimeDataHandler(stream, clock=clock, max_age=timedelta(seconds=60))  # type: ignore[arg-type]
    frame = [
        quote("AAPL", "10", "10.01", ts=SESSION_OPEN),
        quote("MSFT", "5", "5.01", ts=SESSION_OPEN),
    ]
    handler.on_quotes(frame)
    batch = handler.drain()
    assert batch is not None and list(batch.quotes) == frame
    assert handler.last_quote_at == SESSION_OPEN
    stream.up = False
    handler.on_quotes(frame)
    assert handler.dropped_while_down == 2 and handler.drain() is None
