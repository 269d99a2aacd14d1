"""Assisted mode: which order tickets still ask the trader to act.

Read by ``quant-agent questrade tickets`` and the dashboard's Tickets page; never writes.
Tickets are issued by ``assisted.py`` into ``order_tickets``. For each client order id only
its latest ticket counts (a ``withdrawn`` ticket supersedes the ``place`` ticket before it,
a ``cancel`` ticket the placed order). That ticket is open while:

- ``place``: the intent is not matched to a Questrade order yet (its
  ``questrade_order_map`` row has no order id) and our order is still open (not canceled,
  expired or rejected meanwhile);
- ``cancel`` or ``replace``: our order is still open at Questrade;
- ``withdrawn``: never (it says "do not place").
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from quant_agent.core.enums import OrderStatus
from quant_agent.storage.store import Store
from quant_agent.storage.tables import order_tickets, orders, questrade_order_map

#: What a ticket shows: the account, the exact terms, the bracket legs, our client order id.
TICKET_COLUMNS = (
    "ticket_id", "kind", "account", "ticker", "side", "quantity", "order_type", "limit_price",
    "stop_price", "time_in_force", "legs", "client_order_id", "questrade_order_id",
    "issued_at", "text",
)  # fmt: skip


def open_tickets(store: Store) -> list[dict[str, Any]]:
    """The tickets the trader still has to act on, oldest first (``legs`` as a list)."""
    tk, qm, o = order_tickets, questrade_order_map, orders
    stmt = (
        select(tk, qm.c.client_order_id.label("intended"), qm.c.order_id.label("matched"),
               o.c.status.label("order_status"))
        .outerjoin(qm, qm.c.client_order_id == tk.c.client_order_id)
        .outerjoin(o, o.c.client_order_id == tk.c.client_order_id)
        .order_by(tk.c.id)
    )  # fmt: skip
    with store.unit_of_work() as uow:
        rows = [dict(r._mapping) for r in uow.connection.execute(stmt)]
    latest = {row["client_order_id"]: row for row in rows}  # the last ticket of each order
    found = sorted((row for row in latest.values() if _open(row)), key=lambda r: r["id"])
    return [{name: _value(name, row[name]) for name in TICKET_COLUMNS} for row in found]


def _open(row: dict[str, Any]) -> bool:
    status = row["order_status"]
    order_open = status is None or OrderStatus(status).is_open
    if row["kind"] == "place":
        return row["intended"] is not None and row["matched"] is None and order_open
    if row["kind"] in ("cancel", "replace"):
        return order_open
    return False


def _value(name: str, value: Any) -> Any:
    return json.loads(value) if name == "legs" else value


def ticket_lines(tickets: list[dict[str, Any]]) -> list[str]:
    """One block per ticket for a terminal: what to do, then our order id and when."""
    lines: list[str] = []
    for ticket in tickets:
        lines.append(f"{ticket['ticket_id']}  {ticket['text']}")
        lines.append(f"    client order id {ticket['client_order_id']}, issued "
                     f"{ticket['issued_at']:%Y-%m-%d %H:%M:%S} UTC")  # fmt: skip
    return lines
