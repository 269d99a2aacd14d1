"""The real runner process for restart tests: run it, kill it, read back what it left.

``run_cli`` starts ``python -m quant_agent.cli run --replay <window> --json`` with a clean
``QA_*`` environment over one database, optionally with a crash point
(``QA_CRASH_AT``, see ``quant_agent/crashpoints.py``); ``state`` reads everything that must
not differ between a crashed-and-restarted run and an uninterrupted one (orders, fills,
positions, trades, the paper venue's orders, holdings and cash), in the same text on
SQLite and PostgreSQL. Used by tests/integration/executor/test_crash_restart.py and the
reliability suite. Test support only: production code must never import it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from quant_agent.storage import tables as t
from quant_agent.storage.store import Store

#: Exits on max hold days inside a short window, so a replay has entries, brackets and exits.
BASE_ENV = {"QA_TRADING__MAX_HOLD_DAYS": "2"}
TIMEOUT = 180
#: What the paper venue logs when a client order id it already has is submitted again.
DUPLICATE_SUBMIT = "submitted again"


def run_cli(
    url: str, cwd: Path, window: str, *args: str, crash: str | None = None,
    extra: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """Run (or resume) the replay of ``window`` (``START:END``) over ``url`` to its end."""
    env = runner_env(url, extra)
    if crash:
        env["QA_CRASH_AT"] = crash
    return subprocess.run(replay_command(window, *args), cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=TIMEOUT, check=False)  # fmt: skip


def replay_command(window: str, *args: str) -> list[str]:
    """The command line of a replay of ``window`` (``START:END``) printing its JSON summary."""
    return [sys.executable, "-m", "quant_agent.cli", "run", "--replay", window, "--json", *args]


def runner_env(url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any ``QA_*``, plus ``BASE_ENV`` over ``url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    return env | BASE_ENV | {"QA_DATABASE_URL": url} | (extra or {})


def state(url: str) -> dict[str, Any]:
    """Everything that must not differ between a crashed-and-restarted and a clean run."""
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
                "paper_fills": rows(t.paper_fills, "fill_id", "quantity", "price"),
                "paper_positions": rows(t.paper_positions, "ticker", "quantity", "cost_basis"),
                "cash": rows(t.paper_account, "key", "cash"),
            }  # fmt: skip
    finally:
        store.close()


def as_text(value: Any) -> str:
    """The same text for the same number on both backends (Numeric scales differ)."""
    return format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)


def system_value(url: str, key: str) -> Any:
    """One ``system_state`` value (e.g. the runner's cursor), or None."""
    store = Store.open(url, upgrade=False)
    try:
        with store.unit_of_work() as uow:
            return uow.system_state.get(key)
    finally:
        store.close()


def venue_ids_sent_once(url: str, *stderr: str) -> None:
    """No client order id reached the paper venue twice: its book holds each id once and
    no run's log (``stderr``) shows a submit of an id the venue already had."""
    counts = Counter(row[0] for row in state(url)["paper_orders"])
    assert counts and max(counts.values()) == 1, counts
    repeated = [line for text in stderr for line in text.splitlines() if DUPLICATE_SUBMIT in line]
    assert not repeated, repeated
