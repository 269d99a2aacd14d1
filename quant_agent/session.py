"""A paper session's start: everything the runner needs, checked in order.

Configuration (already loaded) → database (migrated) → market data (loaded, validated) →
exchange calendar → heartbeat in ``system_state``. Returns what was found so the command
line can show it. The trading loop itself (executor) plugs in after these steps.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np

from quant_agent.config import LiveTradingConfig, mask_url
from quant_agent.core.clock import Clock
from quant_agent.market.calendar import get_calendar
from quant_agent.market.history import HistoryStore
from quant_agent.market.source import load_history
from quant_agent.storage import migrate
from quant_agent.storage.store import Store

MOMENTUM_DAYS = 126
LEADERS = 10


@dataclass(frozen=True, slots=True)
class SessionStatus:
    mode: str
    broker: str
    database: str
    schema_revision: str | None
    data_source: str
    tickers: int
    bars: int
    first_session: date
    last_session: date
    market_open_now: bool
    next_open: datetime
    next_close: datetime
    started_at: datetime
    leaders: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def momentum_leaders(history: HistoryStore, count: int = LEADERS) -> list[dict[str, Any]]:
    """Return the ``count`` tickers with the highest 126-session return on the last day."""
    close = history.wide("close")
    if len(close) <= MOMENTUM_DAYS:
        return []
    last, base = close.iloc[-1].to_numpy(), close.iloc[-1 - MOMENTUM_DAYS].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        momentum = last / base - 1.0
    ranked = [
        (float(m), str(t), float(c))
        for m, t, c in zip(momentum, close.columns, last, strict=True)
        if np.isfinite(m)
    ]
    ranked.sort(key=lambda item: (-item[0], item[1]))
    return [
        {"ticker": t, "sector": history.sector(t), "close": c, "momentum": m}
        for m, t, c in ranked[:count]
    ]


def start_session(
    config: LiveTradingConfig, clock: Clock, history: HistoryStore | None = None
) -> SessionStatus:
    """Run the start-up steps of a session and return what they found.

    ``history`` is the already loaded market data (needed for ``data.source: questrade``,
    whose loading needs a connection); without it the configured data is loaded here.
    """
    now = clock.now()
    store = Store.open(config.database.url)
    try:
        history = history if history is not None else load_history(config.data)
        calendar = get_calendar("NYSE")
        with store.unit_of_work() as uow:
            uow.system_state.set("heartbeat", {"at": now, "mode": config.trading.mode}, now)
            uow.system_state.set("last_session_start", {"at": now}, now)
        revision = migrate.current_revision(store.engine)
    finally:
        store.close()
    return SessionStatus(
        mode=config.trading.mode,
        broker=config.broker.kind,
        database=mask_url(config.database.url),
        schema_revision=revision,
        data_source=config.data.source,
        tickers=len(history.tickers),
        bars=history.rows,
        first_session=history.first_date.date(),
        last_session=history.last_date.date(),
        market_open_now=calendar.is_market_open(now),
        next_open=calendar.next_open(now),
        next_close=calendar.next_close(now),
        started_at=now,
        leaders=momentum_leaders(history),
    )
