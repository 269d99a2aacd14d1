"""A run's fill list as ``date,ticker,side,quantity,price``, in one of two orders.

Owns the listing of the ``fills`` table for comparison with other engines:

- ``time`` (default): by fill time; fills at one instant (a day's open quotes) in the
  order their orders were made (protective children and exits before the day's entries,
  entries in the scan's order), not in the venue's ticker order.
- ``reference``: the reference strategy's list order (../shared/reference-strategy.md):
  per session, the fills at the open first (exits, by the held position's entry order,
  then entries in the scan's order), then the session's exits by the position's entry
  order, whatever the time of day the core's quotes reached them (its low quote at 11:00
  comes before its high quote at 13:30; the reference walks the positions instead).
"""

from __future__ import annotations

import bisect
from datetime import time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import select

from quant_agent.storage import tables
from quant_agent.storage.store import Store

NEW_YORK = ZoneInfo("America/New_York")
OPEN = time(9, 30)
COLUMNS = ["date", "ticker", "side", "quantity", "price"]


def fills_frame(store: Store, order: str = "time") -> pd.DataFrame:
    """The run's fills (New York session dates) in ``order`` (see the module docstring)."""
    if order not in ("time", "reference"):
        raise ValueError(f"unknown fill order {order!r} (time or reference)")
    f, o = tables.fills, tables.orders
    parent = o.alias("parent")
    stmt = (
        select(f.c.filled_at, f.c.ticker, f.c.side, f.c.quantity, f.c.price, f.c.id.label("fid"),
               o.c.id.label("oid"), parent.c.id.label("pid"))
        .join(o, o.c.client_order_id == f.c.client_order_id)
        .outerjoin(parent, parent.c.client_order_id == o.c.parent_client_order_id)
    )  # fmt: skip
    entries = select(o.c.ticker, o.c.id).where(o.c.role == "ENTRY").order_by(o.c.id)
    with store.unit_of_work() as uow:
        rows = list(uow.connection.execute(stmt))
        entry_ids: dict[str, list[int]] = {}
        for ticker, oid in uow.connection.execute(entries):
            entry_ids.setdefault(str(ticker), []).append(int(oid))
    key = _time_key if order == "time" else _reference_key(entry_ids)
    rows.sort(key=key)
    return pd.DataFrame(
        [(r.filled_at.astimezone(NEW_YORK).date().isoformat(), str(r.ticker),
          str(r.side).upper(), int(r.quantity), f"{Decimal(r.price):.2f}") for r in rows],
        columns=COLUMNS,
    )  # fmt: skip


def _time_key(r: Any) -> tuple[Any, ...]:
    return (r.filled_at, r.oid, r.fid)


def _reference_key(entry_ids: dict[str, list[int]]) -> Any:
    def key(r: Any) -> tuple[Any, ...]:
        local = r.filled_at.astimezone(NEW_YORK)
        at_open = local.time() <= OPEN
        if str(r.side).upper() == "BUY":
            return (local.date(), not at_open, 1, r.oid, r.oid, r.fid)
        ids = entry_ids.get(str(r.ticker), [])
        # the position's entry: the bracket's parent, or the ticker's last entry before
        # this exit order was made (long only: one position per ticker)
        entry = r.pid or (ids[bisect.bisect_left(ids, r.oid) - 1] if ids else r.oid)
        return (local.date(), not at_open, 0, entry, r.oid, r.fid)

    return key
