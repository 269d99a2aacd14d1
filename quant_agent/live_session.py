"""A live session: ``quant-agent run`` on Questrade (``data.source: questrade`` and/or
``broker.kind: questrade | questrade-assisted``), on the live clock until stopped.

Edge code; wiring only. ``live_runner`` connects the venue (``engine.build_venue``: the
token store, the account, the notifications stream), builds the engine on a clock the
runner sets from the live one, attaches assisted-mode tickets, and — for Questrade data —
the ``RealtimeDataHandler`` subscribed to the universe and the held tickers, with its REST
keep-alive. Everything is closed on the way out (protective orders stay at the broker).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from quant_agent.config import LiveTradingConfig
from quant_agent.core.clock import Clock, SimClock
from quant_agent.engine import attach_assisted, build_engine, build_venue
from quant_agent.live_runner import LiveRunner
from quant_agent.market.calendar import get_calendar
from quant_agent.market.history import HistoryStore
from quant_agent.realtime_data import RealtimeDataHandler
from quant_agent.runner import Summary
from quant_agent.storage.store import Store


def is_live(config: LiveTradingConfig) -> bool:
    """Whether ``quant-agent run`` (without ``--replay``) runs live rather than a replay."""
    return config.data.source == "questrade" or config.broker.kind != "paper"


@asynccontextmanager
async def live_runner(
    config: LiveTradingConfig, store: Store, history: HistoryStore, clock: Clock,
    *, poll_seconds: float = 1.0,
) -> AsyncIterator[LiveRunner]:  # fmt: skip
    """A connected ``LiveRunner`` (see the module docstring)."""
    venue: Any = build_venue(config, store, clock)
    feed: RealtimeDataHandler | None = None
    closers: list[Any] = []
    try:
        engine = build_engine(config, store, history, clock.now(), clock=SimClock(clock.now()),
                              venue=venue)  # fmt: skip
        attach_assisted(engine, venue)
        if config.data.source == "questrade":
            feed = await _feed(config, engine.bus, clock, closers)
            held = [str(p.ticker) for p in engine.positions.get_active_positions()]
            await feed.subscribe_quotes(sorted(set(history.tickers) | set(held)))
            await feed.connect_websocket()
        yield LiveRunner(config, store, history, engine, live_clock=clock, feed=feed,
                         venue=venue, poll_seconds=poll_seconds)  # fmt: skip
    finally:
        if feed is not None:
            await feed.close()
        for close in reversed(closers):
            await close()
        if venue is not None:
            venue.close()


async def _feed(config: LiveTradingConfig, bus: Any, clock: Clock,
                closers: list[Any]) -> RealtimeDataHandler:  # fmt: skip
    from quant_agent.questrade.auth import authenticator_from_config
    from quant_agent.questrade.feed import questrade_feed
    from quant_agent.questrade.rest import QuestradeRest

    auth = authenticator_from_config(config.questrade, clock)
    rest = QuestradeRest(auth, clock=clock, timeout=config.questrade.request_timeout_s)
    closers += [auth.aclose, rest.aclose]
    return questrade_feed(rest, auth, config, clock=clock, bus=bus,
                          calendar=get_calendar("NYSE"))  # fmt: skip


async def run_live(config: LiveTradingConfig, store: Store, history: HistoryStore,
                   clock: Clock) -> Summary:  # fmt: skip
    """Run live until SIGINT/SIGTERM; return the summary."""
    async with live_runner(config, store, history, clock) as runner:
        return await runner.run()
