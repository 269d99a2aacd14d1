"""The dashboard's pages, in sidebar order: each a ``render(ctx)`` function."""

from __future__ import annotations

from collections.abc import Callable

from quant_agent.dashboard.context import PageContext
from quant_agent.dashboard.views import (
    overview,
    performance,
    positions,
    settings,
    signals,
    tickets,
    trades,
)

PAGES: dict[str, Callable[[PageContext], None]] = {
    "Overview": overview.render,
    "Signals": signals.render,
    "Positions": positions.render,
    "Trades": trades.render,
    "Tickets": tickets.render,
    "Performance": performance.render,
    "Settings": settings.render,
}
