"""The local Questrade for tests: a sandbox, a token store and a REST client on one SimClock,
and the live paper loop (sandbox stream → ``RealtimeDataHandler`` → ``LiveRunner``) over it.

Test support only: production code must never import it. ``harness`` starts a sandbox whose
REST sleeps advance the clock; ``live_loop`` runs a test body against a subscribed, connected
quote handler and a ``LiveRunner`` on the paper venue with ``data.source: questrade``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from quant_agent.config import LiveTradingConfig
from quant_agent.core.clock import SimClock
from quant_agent.engine import build_engine
from quant_agent.live_runner import LiveRunner
from quant_agent.market.calendar import get_calendar
from quant_agent.market.history import HistoryStore
from quant_agent.market.synthetic import generate_market
from quant_agent.questrade.auth import Authenticator, TokenStore
from quant_agent.questrade.feed import questrade_feed
from quant_agent.questrade.rest import QuestradeRest
from quant_agent.questrade.sandbox import QuestradeSandbox
from quant_agent.realtime_data import RealtimeDataHandler
from quant_agent.storage.store import Store

# Tuesday 3 March 2026, 10:00 in Toronto (EST): inside the session.
START = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)


@cache
def history() -> HistoryStore:
    return generate_market(12, date(2025, 6, 2), date(2026, 6, 30), seed=7).store()


@dataclass
class Harness:
    clock: SimClock
    sandbox: QuestradeSandbox
    store: TokenStore
    auth: Authenticator
    rest: QuestradeRest
    sleeps: list[float] = field(default_factory=list)

    def authenticator(self, **kwargs: Any) -> Authenticator:
        return Authenticator(
            login_url=self.sandbox.login_url, store=self.store, clock=self.clock, **kwargs
        )


@asynccontextmanager
async def harness(
    tmp_path: Path, *, http_timeout: float = 5.0, **sandbox_kwargs: object
) -> AsyncIterator[Harness]:
    clock = SimClock(START)
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(timedelta(seconds=seconds))
        await asyncio.sleep(0)

    async with QuestradeSandbox(clock=clock, history=history(), **sandbox_kwargs) as sandbox:  # type: ignore[arg-type]
        store = TokenStore(tmp_path / "var" / "questrade_token.json")
        seed = SecretStr(sandbox.issue_refresh_token())
        auth = Authenticator(login_url=sandbox.login_url, store=store, clock=clock, seed_token=seed)
        rest = QuestradeRest(
            auth, clock=clock, sleep=sleep, timeout=http_timeout, rng=random.Random(0)
        )
        try:
            yield Harness(clock, sandbox, store, auth, rest, sleeps)
        finally:
            await rest.aclose()
            await auth.aclose()


# --- the live paper loop on sandbox quotes -------------------------------------------------


class Gate:
    """A sleep that waits until the test opens it (the stream's reconnect backoff)."""

    def __init__(self) -> None:
        self.open = asyncio.Event()

    async def __call__(self, _: float) -> None:
        await self.open.wait()


async def until(feed: RealtimeDataHandler, predicate: Callable[[], bool]) -> None:
    """Wait until ``predicate()`` holds, re-checked after each frame, connect or failure."""
    await feed.stream.wait_until(predicate)  # type: ignore[attr-defined]


def of(kind: type, events: list[object]) -> list[object]:
    """The events of type ``kind``, in order."""
    return [e for e in events if isinstance(e, kind)]


LiveBody = Callable[[Harness, RealtimeDataHandler, LiveRunner, list[object]], Awaitable[None]]


def live_loop(
    tmp_path: Path, store: Store, config: LiveTradingConfig, tickers: Iterable[str],
    body: LiveBody, *, limit: float = 10.0, **feed: object,
) -> None:  # fmt: skip
    """Run ``body`` (bounded by ``limit`` seconds) on a handler subscribed to ``tickers`` and
    up, a ``LiveRunner`` over it and every bus event; ``feed`` goes to ``questrade_feed``."""

    async def main() -> None:
        async with harness(tmp_path) as h:
            engine = build_engine(config, store, history(), START, clock=h.clock)
            events: list[object] = []
            engine.bus.subscribe(object, events.append)
            handler = questrade_feed(h.rest, h.auth, config, clock=h.clock, bus=engine.bus,
                                     calendar=get_calendar("NYSE"), rng=random.Random(1),
                                     **feed)  # type: ignore[arg-type]  # fmt: skip
            runner = LiveRunner(config, store, history(), engine, live_clock=h.clock,
                                feed=handler)  # fmt: skip
            try:
                async with asyncio.timeout(limit):
                    await handler.subscribe_quotes(tickers)
                    await handler.connect_websocket()
                    await until(handler, lambda: handler.stream.up)
                    await body(h, handler, runner, events)
            finally:
                await handler.close()
                runner.observers.stopped("test over")  # drains and closes any alert channel

    asyncio.run(main())
