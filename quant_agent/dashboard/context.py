"""What every page gets: the config, the store, the tracker and a wall clock (edge code)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from quant_agent.config import LiveTradingConfig
from quant_agent.core.clock import Clock
from quant_agent.dashboard.memo import DataView
from quant_agent.live_performance import LivePerformanceTracker
from quant_agent.storage.store import Store

HEARTBEAT_STALE_SECONDS = 120.0


@dataclass(frozen=True, slots=True)
class PageContext:
    config: LiveTradingConfig
    store: Store
    clock: Clock
    view: DataView  # the memoized reads of the current data version

    @property
    def tracker(self) -> LivePerformanceTracker:
        return self.view.tracker

    def now(self) -> datetime:
        return self.clock.now()


def money(value: object) -> str:
    """Format an amount as the pages show it (tests compare with the same function)."""
    return f"{float(value):,.2f}"  # type: ignore[arg-type]


def pct(value: float) -> str:
    return "n/a" if value != value else f"{value:+.2%}"


def asof(ctx: PageContext, snapshot: dict[str, object] | None) -> datetime:
    """The market time the pages report at: the newest equity snapshot's, else the clock's."""
    ts = snapshot.get("ts") if snapshot else None
    return ts if isinstance(ts, datetime) else ctx.now()
