"""``quant-agent run`` live wiring (``live_session.live_runner``) against the sandbox: the
configured Questrade broker (partner or assisted) connected and pumped, the quote stream
subscribed to the universe, and streamed quotes reaching the engine."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from quant_agent.config import LiveTradingConfig
from quant_agent.core.clock import SimClock
from quant_agent.live_session import is_live, live_runner
from quant_agent.questrade.assisted import AssistedBroker
from quant_agent.questrade.broker import LoopThread, QuestradeBroker
from quant_agent.questrade.sandbox import QuestradeSandbox
from quant_agent.storage.store import Store

from .conftest import START, history


@pytest.mark.parametrize("kind", ["questrade", "questrade-assisted"])
def test_live_session_streams_quotes_into_the_engine_over_a_questrade_broker(
    tmp_path: Path, store: Store, kind: str
) -> None:
    clock = SimClock(START)
    server = LoopThread("sandbox")

    async def serve() -> QuestradeSandbox:
        sandbox = QuestradeSandbox(clock=clock, history=history(), partner=kind == "questrade",
                                   fresh_account=True)  # fmt: skip
        await sandbox.start()
        return sandbox

    sandbox = server.run(serve(), 10)
    config = LiveTradingConfig.model_validate({
        "data": {"source": "questrade"}, "broker": {"kind": kind},
        "questrade": {"login_url": sandbox.login_url, "token_path": str(tmp_path / "t.json"),
                      "refresh_token": sandbox.issue_refresh_token(),
                      "order_entry": "partner" if kind == "questrade" else "none"},
    })  # fmt: skip
    assert is_live(config)

    async def main() -> None:
        async with asyncio.timeout(15), live_runner(config, store, history(), clock) as runner:
            venue = runner.venue
            assert isinstance(venue, AssistedBroker if kind != "questrade" else QuestradeBroker)
            assert runner.engine.sinks == []  # no paper fills: the broker is the venue
            assert runner.feed is not None
            feed = runner.feed
            await feed.stream.wait_up()  # type: ignore[attr-defined]
            await runner.step()
            assert server.run(sandbox.push_quotes(), 5)
            await feed.stream.wait_until(lambda: bool(feed._buffer))  # type: ignore[attr-defined]
            assert await runner.step() > 0
            assert set(runner.engine.guard.latest) <= set(history().tickers)
            if isinstance(venue, AssistedBroker):
                assert venue.tickets.list() == []

    try:
        asyncio.run(main())
    finally:
        server.run(sandbox.stop(), 10)
        server.stop()
