"""``quant-agent run --replay`` as a real process, and the state two runs must agree on.

Test support only: production code must never import it. ``replay_env`` is the process
environment (no ``QA_*`` of the caller leaks in), ``replay_command`` the command line, and
``run_state`` everything that must not differ between an interrupted-and-resumed run and an
uninterrupted one (orders, fills, positions, trades, the venue's orders), as text that is
the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from quant_agent.storage import tables as t
from quant_agent.storage.store import Store

WINDOW = "2024-02-08:2024-02-15"
BASE_ENV = {"QA_TRADING__MAX_HOLD_DAYS": "2"}


def replay_env(url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    return env | BASE_ENV | {"QA_DATABASE_URL": url} | (extra or {})


def replay_command(*args: str, window: str = WINDOW) -> list[str]:
    return [sys.executable, "-m", "quant_agent.cli", "run", "--replay", window, "--json", *args]


def run_state(url: str) -> dict[str, Any]:
    """Everything that must not differ between a resumed and an uninterrupted run."""
    store = Store.open(url, upgrade=False)
    try:
        with store.engine.connect() as conn:

            def rows(table: sa.Table, *cols: str) -> list[tuple[Any, ...]]:
                stmt = sa.select(*(table.c[c] for c in cols)).order_by(*(table.c[c] for c in cols))
                return [tuple(as_text(v) for v in r) for r in conn.execute(stmt)]

            return {
                "orders": rows(t.orders, "client_order_id", "status", "quantity",
                               "filled_quantity", "avg_fill_price", "role"),
                "fills": rows(t.fills, "fill_id", "client_order_id", "quantity", "price"),
                "positions": rows(t.positions, "ticker", "status", "quantity", "realized_pnl",
                                  "commission", "exit_reason"),
                "trades": rows(t.live_trades, "ticker", "entry_date", "exit_date",
                               "entry_price", "exit_price", "quantity", "pnl", "exit_reason"),
                "paper_orders": rows(t.paper_orders, "client_order_id", "status"),
            }  # fmt: skip
    finally:
        store.close()


def as_text(value: Any) -> str:
    """The same text for the same number on both backends (Numeric scales differ)."""
    return format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)


def venue_ids_sent_once(url: str) -> None:
    """No client order id reached the (paper) venue twice."""
    counts = Counter(row[0] for row in run_state(url)["paper_orders"])
    assert counts and max(counts.values()) == 1, counts
