"""A sandbox on its own loop thread and a QuestradeBroker (with its notifications stream) on
another, for synchronous tests of the broker protocol and the order manager."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from pydantic import SecretStr

from quant_agent.core.clock import SimClock
from quant_agent.questrade.auth import Authenticator, TokenStore
from quant_agent.questrade.broker import LoopThread, QuestradeBroker
from quant_agent.questrade.order_map import OrderMap
from quant_agent.questrade.rest import QuestradeRest
from quant_agent.questrade.sandbox import QuestradeSandbox
from quant_agent.questrade.sandbox_data import ACCOUNTS
from quant_agent.questrade.stream import NotificationStream
from quant_agent.storage.store import Store

from .conftest import START, history


@dataclass
class BrokerHarness:
    clock: SimClock
    sandbox: QuestradeSandbox
    server: LoopThread
    client: LoopThread
    rest: QuestradeRest
    broker: QuestradeBroker
    stream: NotificationStream

    def on_server(self, fn: Callable[[], object]) -> object:
        """Run ``fn`` (a coroutine function) on the sandbox's loop and return its result."""

        async def call() -> object:
            return await fn()  # type: ignore[misc]

        return self.server.run(call(), 10)

    def pump_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Deliver broker events until ``predicate()`` holds (bounded: ``timeout`` seconds)."""
        import time

        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            assert left > 0, "condition not reached in time"
            self.broker.pump(timeout=min(left, 0.5))


@contextmanager
def broker_harness(
    tmp_path: Path, store: Store, *, partner: bool = True, stream: bool = True,
    fresh_account: bool = False, broker_cls: type[QuestradeBroker] = QuestradeBroker,
    sim_sleep: bool = False,
) -> Iterator[BrokerHarness]:  # fmt: skip
    """``sim_sleep``: the REST client's waits (backoff, rate limits) advance the clock
    instead of sleeping."""
    clock = SimClock(START)
    server = LoopThread("sandbox")
    client = LoopThread("questrade-client")

    async def serve() -> QuestradeSandbox:
        sandbox = QuestradeSandbox(clock=clock, history=history(), partner=partner,
                                   fresh_account=fresh_account)  # fmt: skip
        await sandbox.start()
        return sandbox

    sandbox = server.run(serve(), 10)
    seed = SecretStr(sandbox.issue_refresh_token())

    async def connect() -> tuple[Authenticator, QuestradeRest]:
        auth = Authenticator(
            login_url=sandbox.login_url, store=TokenStore(tmp_path / "token.json"),
            clock=clock, seed_token=seed,
        )  # fmt: skip
        if not sim_sleep:
            return auth, QuestradeRest(auth, clock=clock, timeout=5.0)

        async def sleep(seconds: float) -> None:
            clock.advance(timedelta(seconds=seconds))
            await asyncio.sleep(0)

        return auth, QuestradeRest(auth, clock=clock, timeout=5.0, sleep=sleep,
                                   rng=random.Random(0))  # fmt: skip

    auth, rest = client.run(connect(), 10)
    broker = broker_cls(
        rest, account=ACCOUNTS[0], order_map=OrderMap(store), clock=clock, loop=client,
        order_entry="partner" if partner else "none", call_timeout=10.0,
    )  # fmt: skip
    notes = NotificationStream(rest, auth, clock=clock, on_notification=broker.on_notification,
                               on_reconnect=broker.catch_up)  # fmt: skip

    async def start_stream() -> None:
        notes.start()
        async with asyncio.timeout(10):
            await notes.wait_up()

    if stream:
        client.run(start_stream(), 15)
    try:
        yield BrokerHarness(clock, sandbox, server, client, rest, broker, notes)
    finally:

        async def close() -> None:
            await notes.stop()
            await rest.aclose()
            await auth.aclose()

        client.run(close(), 10)
        server.run(sandbox.stop(), 10)
        client.stop()
        server.stop()
