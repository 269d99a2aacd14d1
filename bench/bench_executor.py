"""Benchmark of the executor's quote path and of quote-to-exit latency in paper mode.

Run: ``.venv/bin/python bench/bench_executor.py``. 100 subscribed tickers, 3 open
positions with their protective orders working at the paper venue, SQLite in a temporary
folder. Cases:

1. quotes/s through the executor: ``QuoteGuard.accept`` then ``TradeExecutor.on_quote``
   (validation, staleness, marks, daily-loss check on held tickers). Target >= 150,000/s.
2. quotes/s through the whole paper loop: the same plus the paper venue matching every
   quote against its working orders (what a paper run does per quote).
3. quote-to-exit latency: a quote through the stop of an open position, from its arrival
   to (a) the exit order's fill reported by the venue and (b) the position closed and its
   trade row written (p50/p99). Target p99 <= 1 ms for (a).

Prints numbers, asserts nothing.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from quant_agent.config import LiveTradingConfig  # noqa: E402
from quant_agent.core.events import OrderFilled  # noqa: E402
from quant_agent.core.ids import Ticker  # noqa: E402
from quant_agent.core.market import Quote  # noqa: E402
from quant_agent.realtime_data import QuoteGuard  # noqa: E402
from quant_agent.storage.store import Store  # noqa: E402
from quant_agent.testkit.executor import Desk, make_desk, planned_signal  # noqa: E402

OPEN = datetime(2025, 3, 10, 13, 30, tzinfo=UTC)
TICKERS = [f"T{i:03d}" for i in range(100)]
CONFIG = LiveTradingConfig.model_validate({
    "trading": {"slippage_pct": 0, "max_positions": 100},
    "risk": {"max_sector_exposure_pct": 100, "max_daily_loss_pct": 100},
})  # fmt: skip


def q(ticker: str, price: Decimal, ts: datetime) -> Quote:
    return Quote(ticker=Ticker(ticker), bid=price, ask=price, last=price, ts_event=ts, ts_init=ts)


def enter(desk: Desk, ticker: str, n: int, price: Decimal = Decimal("100")) -> None:
    signal = planned_signal(ticker, date(2024, 1, 1) + timedelta(days=n), str(price),
                            str(price - 5), str(price + 10), 10)  # fmt: skip
    desk.executor.process_signal(signal)
    desk.play([q(ticker, price, desk.clock.now())])


def setup(folder: str) -> Desk:
    store = Store.open(f"sqlite:///{Path(folder) / 'bench.db'}")
    desk = make_desk(store, OPEN, CONFIG)
    desk.executor.start()
    desk.executor.monitor_positions(OPEN)
    for n, ticker in enumerate(TICKERS[:3]):
        enter(desk, ticker, n)
    return desk


def throughput(desk: Desk, count: int, with_venue: bool) -> float:
    guard = QuoteGuard(desk.clock, timedelta(seconds=60))
    now = desk.clock.now()
    prices = [Decimal("100") + Decimal(i % 7) / 10 for i in range(len(TICKERS))]
    quotes = [q(TICKERS[i % 100], prices[i % 100], now) for i in range(count)]
    executor, venue = desk.executor, desk.venue
    start = time.perf_counter()
    if with_venue:
        for quote in quotes:
            if guard.accept(quote):
                venue.on_quote(quote)
                executor.on_quote(quote)
    else:
        for quote in quotes:
            if guard.accept(quote):
                executor.on_quote(quote)
    return count / (time.perf_counter() - start)


def latency(desk: Desk, samples: int) -> tuple[list[float], list[float]]:
    to_fill: list[float] = []
    to_trade: list[float] = []
    marks: list[float] = []
    # First in line, before the order manager: the instant the venue reports the exit fill.
    desk.venue._handlers.insert(0, lambda e: marks.append(time.perf_counter())  # noqa: SLF001
                                if isinstance(e, OrderFilled) else None)  # fmt: skip
    for n in range(samples):
        ticker = TICKERS[10 + n % 80]
        enter(desk, ticker, 1000 + n)
        desk.at(desk.clock.now() + timedelta(milliseconds=1))
        marks.clear()
        quote = q(ticker, Decimal("90"), desk.clock.now())
        start = time.perf_counter()
        desk.venue.on_quote(quote)
        desk.executor.on_quote(quote)
        end = time.perf_counter()
        if marks:
            to_fill.append(marks[0] - start)
            to_trade.append(end - start)
    return to_fill, to_trade


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        desk = setup(folder)
        print(f"executor only   : {throughput(desk, 300_000, False):>12,.0f} quotes/s "
              "(100 tickers, 3 positions; target >= 150,000)")  # fmt: skip
        print(f"with paper venue: {throughput(desk, 100_000, True):>12,.0f} quotes/s")
        to_fill, to_trade = latency(desk, 200)
        print(
            f"quote -> exit fill at venue   : p50 {pct(to_fill, 50):.3f} ms  "
            f"p99 {pct(to_fill, 99):.3f} ms  (n={len(to_fill)}; target p99 <= 1 ms)"
        )
        print(
            f"quote -> position closed+trade: p50 {pct(to_trade, 50):.3f} ms  "
            f"p99 {pct(to_trade, 99):.3f} ms"
        )
        desk.store.close()


if __name__ == "__main__":
    main()
