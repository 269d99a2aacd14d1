"""The dashboard's only write path: one row in ``commands`` per control, applied by the runner.

Never touches the executor, the positions or the trading state itself: the runner polls the
table after every step and records ``applied_at`` and ``result`` (see ``runner.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from quant_agent.core.enums import CommandKind
from quant_agent.core.records import CommandRecord
from quant_agent.storage.store import Store

CREATED_BY = "dashboard"


def send_command(
    store: Store, kind: CommandKind, now: datetime, payload: dict[str, Any] | None = None
) -> int:
    """Queue one command for the runner and return its id."""
    record = CommandRecord(kind=kind, created_at=now, payload=payload or {},
                           created_by=CREATED_BY)  # fmt: skip
    with store.unit_of_work() as uow:
        command_id: int = uow.commands.add(record)
    return command_id


def describe(row: dict[str, Any] | None) -> str:
    """One line saying whether the runner has applied a command, and when."""
    if row is None:
        return "command not found"
    head = f"{row['kind']} #{row['id']}"
    if row["status"] == "PENDING":
        return f"{head}: pending (queued {row['created_at']:%Y-%m-%d %H:%M:%S} UTC)"
    return f"{head}: {row['status']} by the runner at {row['applied_at']} — {row['result']}"
