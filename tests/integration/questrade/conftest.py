"""A sandbox, a token store and a REST client sharing one SimClock; sleeping advances it."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path

from pydantic import SecretStr

from quant_agent.core.clock import SimClock
from quant_agent.market.history import HistoryStore
from quant_agent.market.synthetic import generate_market
from quant_agent.questrade.auth import Authenticator, TokenStore
from quant_agent.questrade.rest import QuestradeRest
from quant_agent.questrade.sandbox import QuestradeSandbox

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

    def authenticator(self, **kwargs: object) -> Authenticator:
        return Authenticator(
            login_url=self.sandbox.login_url, store=self.store, clock=self.clock, **kwargs
        )  # type: ignore[arg-type]


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
