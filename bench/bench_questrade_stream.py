"""Benchmark of the Questrade quote stream on loopback: throughput and reconnect time.

Run: ``.venv/bin/python bench/bench_questrade_stream.py [--rounds N] [--instructions]``.
Starts the local Questrade, pushes pre-serialised ``{"quotes": [...]}`` frames as fast as
the socket takes them and counts the quote records that reach the handler as validated
``Quote`` objects (target: >= 100,000/s); then drops the socket repeatedly and times each
reconnect (port request, re-auth, ``{"success":true}``). Prints timings, asserts nothing.

The machine is shared, so wall-clock rates are noisy: each throughput line gives the
median and best of ``--rounds`` rounds, by wall time and by this process's CPU time (the
sandbox's sending side runs in the same process and is included). Two frame sets: the
same frame over and over ("repeated", the historical figure) and 64 frames whose prices
walk by random ticks ("moving", seeded), so cached conversions are not flattered.
``--offline N`` runs only decode → merge/validate → handler → guard on N frames without
sockets; ``--instructions`` runs that under valgrind's callgrind twice and prints the
instructions per quote record (the difference of the two runs, so start-up cancels out):
stable under load, unlike time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import benchlib  # noqa: F401  (puts the repository on sys.path)
from pydantic import SecretStr

from quant_agent.core.clock import LiveClock
from quant_agent.core.market import Quote
from quant_agent.questrade import parsing
from quant_agent.questrade.auth import Authenticator, TokenStore
from quant_agent.questrade.rest import QuestradeRest
from quant_agent.questrade.sandbox import QuestradeSandbox
from quant_agent.questrade.stream import QuoteStream
from quant_agent.realtime_data import RealtimeDataHandler

FRAMES = 2_000
PER_FRAME = 50
DROPS = 100
MOVING = 64


def moving_frames(records: list[dict[str, Any]], count: int, seed: int = 11) -> list[bytes]:
    """``count`` frames whose bid/ask/last walk by 1-3 cent ticks (bid < ask kept) and whose
    ``lastTradeTime`` text changes every frame (two spellings of one instant, so the frames
    can be replayed in a loop without being out of order, yet each time is parsed)."""
    rng = random.Random(seed)
    state = [dict(r) for r in records]
    spellings = [same_instant(r["lastTradeTime"]) for r in records]
    frames = []
    for i in range(count):
        for r, stamps in zip(state, spellings, strict=True):
            r["lastTradeTime"] = stamps[i % 2]
            step = rng.choice((-3, -2, -1, 1, 2, 3)) / 100
            bid = round(max(0.05, r["bidPrice"] + step), 2)
            r["bidPrice"], r["askPrice"] = bid, round(bid + rng.choice((1, 2, 5)) / 100, 2)
            r["lastTradePrice"] = round(bid + 0.01, 2)
            r["volume"] += rng.randint(1, 500)
        frames.append(json.dumps({"quotes": state}).encode())
    return frames


def same_instant(stamp: str) -> tuple[str, str]:
    """Two spellings of the instant ``stamp`` (its own offset, and UTC)."""
    when = datetime.fromisoformat(stamp)
    return (when.isoformat(timespec="microseconds"),
            when.astimezone(UTC).isoformat(timespec="microseconds"))  # fmt: skip


def rates(label: str, total: int, walls: list[float], cpus: list[float]) -> None:
    def fmt(seconds: list[float]) -> str:
        return (f"median {total / statistics.median(seconds):,.0f}/s, "
                f"best {total / min(seconds):,.0f}/s")  # fmt: skip

    print(f"{label}: {total:,} records per round, {len(walls)} rounds; "
          f"wall {fmt(walls)}; CPU {fmt(cpus)}")  # fmt: skip


async def timed(
    rounds: int, body: Callable[[], Awaitable[None]]
) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        await body()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return walls, cpus


async def main(rounds: int) -> None:
    clock = LiveClock()
    with tempfile.TemporaryDirectory() as tmp:
        async with QuestradeSandbox(clock=clock) as sandbox:
            sandbox.limits.account_per_second = sandbox.limits.market_per_second = 10_000
            auth = Authenticator(
                login_url=sandbox.login_url,
                store=TokenStore(Path(tmp) / "token.json"),
                clock=clock,
                seed_token=SecretStr(sandbox.issue_refresh_token()),
            )
            rest = QuestradeRest(auth, clock=clock, account_rate=10_000, market_rate=10_000)
            count = 0
            handler: RealtimeDataHandler | None = None

            def on_quotes(quotes: list[Quote]) -> None:
                nonlocal count
                count += len(quotes)
                if handler is not None:
                    handler.on_quotes(quotes)

            stream = QuoteStream(rest, auth, clock=clock, on_quotes=on_quotes, backoff=0.001)
            tickers = [t for t in sandbox.market.by_name if t != "BABA"][:PER_FRAME]
            await stream.subscribe(tickers)
            await stream.wait_up()
            now = clock.now()
            records = [sandbox.market.quote(sandbox.market.by_name[t], now) for t in tickers]
            frame_sets = {
                "repeated": [json.dumps({"quotes": records})],
                "moving": [f.decode() for f in moving_frames(records, MOVING)],
            }
            total = FRAMES * len(records)
            print(f"{len(records)} quote records per frame, {FRAMES:,} frames per round")
            for name, frames in frame_sets.items():

                async def push_all(frames: list[str] = frames) -> None:
                    nonlocal count
                    count = 0
                    for i in range(FRAMES):
                        await sandbox.streams.push_raw("quotes", frames[i % len(frames)])
                    await stream.wait_until(lambda: count >= total)

                rates(f"stream → callback ({name})", total, *await timed(rounds, push_all))

            # The same through RealtimeDataHandler, drained (validated by QuoteGuard) per frame.
            handler = RealtimeDataHandler(stream, clock=clock, max_age=timedelta(minutes=5))
            drained = 0
            frames = frame_sets["moving"]

            async def through_handler() -> None:
                nonlocal count, drained
                count = drained = 0
                for i in range(FRAMES):
                    await sandbox.streams.push_raw("quotes", frames[i % len(frames)])
                    assert handler is not None
                    batch = handler.drain()
                    drained += len(batch.quotes) if batch else 0
                await stream.wait_until(lambda: count >= total)
                assert handler is not None
                batch = handler.drain()
                drained += len(batch.quotes) if batch else 0

            walls, cpus = await timed(rounds, through_handler)
            rates("into RealtimeDataHandler, drained per frame (moving)", drained, walls, cpus)
            handler = None

            times = []
            for _ in range(DROPS):
                target = stream.stats.connects + 1
                start = time.perf_counter()
                sandbox.streams.drop("quotes")
                async with asyncio.timeout(10):
                    await stream.wait_connects(target)
                times.append(time.perf_counter() - start)
            times.sort()
            p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
            print(f"reconnect after a drop ({DROPS} drops): median "
                  f"{statistics.median(times) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")  # fmt: skip
            await stream.stop()
            await rest.aclose()
            await auth.aclose()


class _Up:
    """A stream stub that is always up (the offline run has no socket)."""

    up = True


def template_records(count: int = 19) -> list[dict[str, Any]]:
    """``count`` full L1 records shaped like the spec's captured stream (no market data
    needed, so the offline run starts fast enough to run under valgrind)."""
    base = {"symbol": "MSFT", "symbolId": 27426, "tier": "", "bidPrice": 57.97, "bidSize": 31,
            "askPrice": 57.98, "askSize": 43, "lastTradePriceTrHrs": 57.98,
            "lastTradePrice": 57.98, "lastTradeSize": 10000, "lastTradeTick": "Up",
            "lastTradeTime": "2016-08-11T12:06:41.659000-04:00", "volume": 6575655,
            "openPrice": 58.16, "highPrice": 58.32, "lowPrice": 57.82, "delay": 0,
            "isHalted": False, "high52w": 58.5, "low52w": 39.72, "VWAP": 58.072191}  # fmt: skip
    return [dict(base, symbol=f"T{i}", symbolId=1000 + i, bidPrice=20.0 + i,
                 askPrice=20.02 + i, lastTradePrice=20.01 + i) for i in range(count)]  # fmt: skip


def offline(frame_count: int) -> int:
    """Decode → ``QuoteBook`` (merge, validate) → handler → guard for ``frame_count`` moving
    frames of 19 records, no sockets (client CPU only); returns the quotes drained."""
    from quant_agent.questrade.quote_book import QuoteBook

    clock = LiveClock()
    records = template_records()
    frames = moving_frames(records, MOVING)
    book = QuoteBook()
    book.subscribe({r["symbolId"]: r["symbol"] for r in records})
    handler = RealtimeDataHandler(_Up(), clock=clock, max_age=timedelta(minutes=5))  # type: ignore[arg-type]
    drained = 0
    for i in range(frame_count):
        frame, now = frames[i % len(frames)], clock.now()
        quotes = book.apply_frame(frame, now)  # as QuoteStream: typed first, else generic
        if quotes is None:
            quotes = book.apply(parsing.loads(frame, "quotes")["quotes"], now)
        handler.on_quotes(quotes)
        batch = handler.drain()
        drained += len(batch.quotes) if batch else 0
    return drained


def instructions() -> None:
    """Instructions per quote record by callgrind: (run(3N) - run(N)) / (2N frames' records)."""
    counts = {}
    for frames in (100, 300):
        out = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
             sys.executable, __file__, "--offline", str(frames)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        ir = re.search(r"Collected : (\d+)", out.stderr)
        drained = re.search(r"drained (\d+)", out.stdout)
        assert ir and drained, out.stderr[-2000:]
        counts[frames] = (int(ir.group(1)), int(drained.group(1)))
    (ir1, n1), (ir3, n3) = counts[100], counts[300]
    print(f"callgrind: {(ir3 - ir1) / (n3 - n1):,.0f} instructions per quote record "
          f"(decode, merge, validate, handler, guard; {n3 - n1:,} records)")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--offline", type=int, default=0)
    parser.add_argument("--instructions", action="store_true")
    args = parser.parse_args()
    if args.offline:
        print(f"drained {offline(args.offline)}")
    elif args.instructions:
        instructions()
    else:
        asyncio.run(main(args.rounds))
        walls, cpus = [], []
        for _ in range(args.rounds):
            wall, cpu = time.perf_counter(), time.process_time()
            drained = offline(FRAMES)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        rates("client only, no socket: decode → QuoteBook → handler → guard (moving)",
              drained, walls, cpus)  # fmt: skip
