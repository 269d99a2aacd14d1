"""A fast ``momentum-top3`` run stored under a backtest run id, never in the live tables.

Owns the file ``<out_dir>/<run_id>.db`` of a fast preset run (the same folder and id
scheme as the core backtest's per-run stores, ``backtest.new_run_id``): an SQLite file
with ``preset_fills`` (the fill list with each exit's reason), ``preset_equity`` (equity
at each close) and ``preset_summary`` (the JSON summary, key by key). Written once, with
the standard library's sqlite3 in one transaction.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from quant_agent.backtest import new_run_id
from quant_agent.backtest_preset import PresetResult

SCHEMA = """
CREATE TABLE preset_fills (seq INTEGER PRIMARY KEY, date TEXT NOT NULL, ticker TEXT NOT NULL,
    side TEXT NOT NULL, quantity INTEGER NOT NULL, price TEXT NOT NULL, reason TEXT NOT NULL);
CREATE TABLE preset_equity (date TEXT PRIMARY KEY, equity REAL NOT NULL);
CREATE TABLE preset_summary (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def store_preset_run(
    result: PresetResult, summary: dict[str, Any], out_dir: Path, first_date: str
) -> tuple[str, Path]:
    """Write the run under a new id; return the id and the file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    existing = {p.stem for p in out_dir.glob("*.db")}
    run_id = new_run_id(_day(first_date), existing)
    path = out_dir / f"{run_id}.db"
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        db.executemany(
            "INSERT INTO preset_fills (date, ticker, side, quantity, price, reason) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(*f.row(), f.reason) for f in result.fills],
        )
        db.executemany("INSERT INTO preset_equity VALUES (?, ?)",
                       list(zip(result.dates, result.equity, strict=True)))  # fmt: skip
        db.executemany("INSERT INTO preset_summary VALUES (?, ?)",
                       [(k, json.dumps(v, default=str)) for k, v in summary.items()])  # fmt: skip
    db.close()
    return run_id, path


def _day(text: str) -> Any:
    from datetime import date

    return date.fromisoformat(text)
