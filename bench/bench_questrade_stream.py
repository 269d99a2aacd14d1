"""Benchmark of the Questrade quote stream on loopback: throughput and reconnect time.

Run: ``.venv/bin/python bench/bench_questrade_stream.py``. Starts the local Questrade, pushes
pre-serialised ``{"quotes": [...]}`` frames as fast as the socket takes them and counts the
quote records that reach the handler as validated ``Quote`` objects (target: >= 100,000/s);
then drops the socket repeatedly and times each reconnect (port request, re-auth,
``{"success":true}``). Prints timings, asserts nothing.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from pydantic import SecretStr  # noqa: E402

from quant_agent.core.clock import LiveClock  # noqa: E402
from quant_agent.core.market import Quote  # noqa: E402
from quant_agent.questrade.auth import Authenticator, TokenStore  # noqa: E402
from quant_agent.questrade.rest import QuestradeRest  # noqa: E402
from quant_agent.questrade.sandbox import QuestradeSandbox  # noqa: E402
from quant_agent.questrade.stream import QuoteStream  # noqa: E402
from quant_agent.realtime_data import RealtimeDataHandler  # noqa: E402

FRAMES = 2_000
PER_FRAME = 50
DROPS = 100


async def main() -> None:
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

            def on_quote(quote: Quote) -> None:
                nonlocal count
                count += 1
                if handler is not None:
                    handler.on_quote(quote)

            stream = QuoteStream(rest, auth, clock=clock, on_quote=on_quote, backoff=0.001)
            tickers = [t for t in sandbox.market.by_name if t != "BABA"][:PER_FRAME]
            await stream.subscribe(tickers)
            await stream.wait_up()
            now = clock.now()
            records = [sandbox.market.quote(sandbox.market.by_name[t], now) for t in tickers]
            frame = json.dumps({"quotes": records})
            total = FRAMES * len(records)
            start = time.perf_counter()
            for _ in range(FRAMES):
                await sandbox.streams.push_raw("quotes", frame)
            await stream.wait_until(lambda: count >= total)
            elapsed = time.perf_counter() - start
            print(f"stream throughput: {total:,} quote records in {elapsed:.3f} s "
                  f"= {total / elapsed:,.0f} records/s ({len(records)} per frame)")  # fmt: skip

            # The same through RealtimeDataHandler, drained (validated by QuoteGuard) per frame.
            handler = RealtimeDataHandler(stream, clock=clock, max_age=timedelta(minutes=5))
            count, drained = 0, 0
            start = time.perf_counter()
            for _ in range(FRAMES):
                await sandbox.streams.push_raw("quotes", frame)
                batch = handler.drain()
                drained += len(batch.quotes) if batch else 0
            await stream.wait_until(lambda: count >= total)
            batch = handler.drain()
            drained += len(batch.quotes) if batch else 0
            elapsed = time.perf_counter() - start
            print(f"into RealtimeDataHandler: {drained:,} quotes drained in {elapsed:.3f} s "
                  f"= {drained / elapsed:,.0f} quotes/s")  # fmt: skip
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


if __name__ == "__main__":
    asyncio.run(main())
