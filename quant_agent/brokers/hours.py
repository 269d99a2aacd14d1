"""When an order may be sent, and when a DAY order expires: one rule for every venue.

This module owns the time-in-force window rule shared by the order manager (validation
before anything leaves) and the paper venue (its own acceptance check). It must never
read the clock: ``now`` is passed in.

- GTC: accepted any time; outside regular hours it waits for the next open.
- DAY during a session: good until that session's close (early closes included).
- DAY before the open of a trading day: queued for that day's session.
- DAY after the close, or on a day without a session: refused, because it would expire
  before it could trade (send it as GTC, or at the next session).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from quant_agent.core.enums import TimeInForce
from quant_agent.market.calendar import MarketCalendar


@dataclass(frozen=True, slots=True)
class OrderWindow:
    """Whether an order sent now is acceptable, and if so until when it is good."""

    problem: str | None
    expires_at: datetime | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def order_window(calendar: MarketCalendar, now: datetime, tif: TimeInForce) -> OrderWindow:
    """Apply the time-in-force rule above to an order sent at ``now``."""
    session = calendar.session_for(now)
    if tif is TimeInForce.GTC:
        return OrderWindow(None, None)
    if session is not None:
        return OrderWindow(None, calendar.session_close(session))
    next_open = calendar.next_open(now)
    local_now = now.astimezone(calendar.tz)
    if next_open.astimezone(calendar.tz).date() == local_now.date():
        return OrderWindow(None, calendar.next_close(now))
    opens = next_open.astimezone(calendar.tz)
    return OrderWindow(
        f"market closed at {local_now:%Y-%m-%d %H:%M} {calendar.tz.key}: a DAY order would "
        f"expire before it could trade (next open {opens:%Y-%m-%d %H:%M}); send it as GTC "
        "or during the session",
        None,
    )
