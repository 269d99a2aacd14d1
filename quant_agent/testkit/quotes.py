"""Scripted quotes: build valid quotes tersely and play them through a venue in time order.

The times are fixed instants of real NYSE sessions (never today's date), so tests are
deterministic and the calendar's hours apply. Test support only: production code must
never import it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from quant_agent.core.clock import SimClock
from quant_agent.core.ids import Ticker
from quant_agent.core.market import Quote

#: Monday 10 March 2025: NYSE opens 13:30 UTC and closes 20:00 UTC (EDT).
SESSION_OPEN = datetime(2025, 3, 10, 13, 30, tzinfo=UTC)
SESSION_CLOSE = datetime(2025, 3, 10, 20, 0, tzinfo=UTC)
PRE_MARKET = datetime(2025, 3, 10, 13, 0, tzinfo=UTC)  # 09:00 New York, same day
AFTER_CLOSE = datetime(2025, 3, 10, 21, 0, tzinfo=UTC)  # 17:00 New York
NEXT_OPEN = datetime(2025, 3, 11, 13, 30, tzinfo=UTC)


def at(minutes: float, start: datetime = SESSION_OPEN) -> datetime:
    """The instant ``minutes`` after ``start`` (the session open by default)."""
    return start + timedelta(minutes=minutes)


def quote(
    ticker: str,
    bid: str | Decimal,
    ask: str | Decimal,
    *,
    ts: datetime,
    last: str | Decimal | None = None,
    bid_size: int = 0,
    ask_size: int = 0,
    halted: bool = False,
) -> Quote:
    """A valid quote of ``ticker`` at ``ts`` (prices as text keep them exact)."""
    return Quote(
        ticker=Ticker(ticker),
        bid=Decimal(bid),
        ask=Decimal(ask),
        last=None if last is None else Decimal(last),
        bid_size=bid_size,
        ask_size=ask_size,
        ts_event=ts,
        ts_init=ts,
        is_halted=halted,
    )


class QuoteSink(Protocol):
    def on_quote(self, quote: Quote) -> None: ...


def play(venue: QuoteSink, clock: SimClock, quotes: Iterable[Quote]) -> None:
    """Move the clock to each quote's time and hand the quote to the venue, in order."""
    for q in quotes:
        if q.ts_event > clock.now():
            clock.set(q.ts_event)
        venue.on_quote(q)
