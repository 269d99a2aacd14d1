"""Wire Questrade's L1 quote stream into a ``RealtimeDataHandler`` (the live quote feed).

Owns the wiring only: one ``QuoteStream`` whose quotes go to the handler, the stall and
backoff settings and the REST keep-alive from the ``questrade`` config section.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import timedelta

from quant_agent.config import LiveTradingConfig
from quant_agent.core.clock import Clock
from quant_agent.core.market import Quote
from quant_agent.questrade.auth import Authenticator
from quant_agent.questrade.rest import QuestradeRest, keep_alive
from quant_agent.questrade.stream import QuoteStream
from quant_agent.realtime_data import RealtimeDataHandler, _Bus, _Calendar

Sleep = Callable[[float], Awaitable[None]]


def questrade_feed(
    rest: QuestradeRest, auth: Authenticator, config: LiveTradingConfig, *, clock: Clock,
    bus: _Bus | None = None, calendar: _Calendar | None = None,
    sleep: Sleep = asyncio.sleep, keep_alive_sleep: Sleep | None = None,
    rng: random.Random | None = None,
) -> RealtimeDataHandler:  # fmt: skip
    """A handler over a new ``QuoteStream`` (not started: ``subscribe_quotes`` then
    ``connect_websocket``)."""
    qt = config.questrade
    handler: RealtimeDataHandler | None = None

    def on_quotes(quotes: list[Quote]) -> None:
        if handler is not None:
            handler.on_quotes(quotes)

    stream = QuoteStream(
        rest, auth, clock=clock, allow_delayed=qt.allow_delayed_quotes, on_quotes=on_quotes,
        stall_timeout=qt.stall_timeout_s, sleep=sleep, rng=rng,
    )  # fmt: skip
    interval = timedelta(minutes=qt.keepalive_minutes)

    async def alive() -> None:
        await keep_alive(rest, clock=clock, sleep=keep_alive_sleep or asyncio.sleep,
                         interval=interval)  # fmt: skip

    handler = RealtimeDataHandler(
        stream, clock=clock, max_age=timedelta(seconds=config.runner.max_quote_age_seconds),
        outage_alert_after=timedelta(seconds=qt.outage_alert_s),
        stall_after=timedelta(seconds=max(qt.stall_timeout_s * 2, 60)), bus=bus,
        calendar=calendar, keep_alive=alive,
    )  # fmt: skip
    return handler
