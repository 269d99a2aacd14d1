"""Read-only queries of the store for the dashboard, as DataFrames and plain dicts.

Never writes: every function runs SELECTs on one connection. Money stays Decimal in the
frames (the pages format it); the Trades and Performance pages read 10,000s of rows, so
these are single statements, not repository loops.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import Select, func, select

from quant_agent.questrade import tickets
from quant_agent.storage import tables as t
from quant_agent.storage.store import Store

TRADE_COLUMNS = (
    "id", "ticker", "entry_date", "exit_date", "entry_price", "exit_price", "quantity",
    "pnl", "pnl_pct", "hold_days", "commission", "exit_reason",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class TradingStatus:
    """The trading state as the risk monitor stored it, and the runner's last signs of life."""

    state: str
    reason: str | None
    state_since: datetime | None
    heartbeat_at: datetime | None  # the latest of the session heartbeat and the runner cursor
    cursor_at: datetime | None  # the market time of the runner's last finished step


def _frame(store: Store, stmt: Select[Any]) -> pd.DataFrame:
    with store.unit_of_work() as uow:
        result = uow.connection.execute(stmt)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def trading_status(store: Store) -> TradingStatus:
    with store.unit_of_work() as uow:
        sys = uow.system_state
        state = sys.get("trading_state") or {"state": "RUNNING"}
        cursor = sys.get("runner.cursor")
        beats = [sys.updated_at("heartbeat"), sys.updated_at("runner.cursor")]
        since = sys.updated_at("trading_state")
    alive = [b for b in beats if b is not None]
    return TradingStatus(
        state=str(state.get("state", "RUNNING")), reason=state.get("reason"),
        state_since=since, heartbeat_at=max(alive) if alive else None,
        cursor_at=datetime.fromisoformat(cursor["at"]) if cursor else None,
    )  # fmt: skip


def latest_snapshot(store: Store) -> dict[str, Any] | None:
    """The newest equity snapshot (equity, cash, P&L), or None before the first."""
    s = t.equity_snapshots
    stmt = select(s).order_by(s.c.ts.desc(), s.c.id.desc()).limit(1)
    with store.unit_of_work() as uow:
        row = uow.connection.execute(stmt).first()
    return dict(row._mapping) if row is not None else None


def open_positions(store: Store) -> pd.DataFrame:
    p = t.positions
    stmt = select(
        p.c.ticker, p.c.quantity, p.c.entry_price, p.c.current_price, p.c.cost_basis,
        p.c.unrealized_pnl, p.c.stop_loss, p.c.take_profit, p.c.entry_date, p.c.opened_at,
        p.c.sector,
    ).where(p.c.status == "OPEN").order_by(p.c.ticker)  # fmt: skip
    return _frame(store, stmt)


def trades(store: Store) -> pd.DataFrame:
    lt = t.live_trades
    stmt = select(*(lt.c[name] for name in TRADE_COLUMNS)).order_by(lt.c.exit_date, lt.c.id)
    return _frame(store, stmt)


def trade_totals(store: Store) -> tuple[int, Decimal]:
    lt = t.live_trades
    stmt = select(func.count(lt.c.id), func.coalesce(func.sum(lt.c.pnl), 0))
    with store.unit_of_work() as uow:
        count, pnl = uow.connection.execute(stmt).one()
    return int(count), Decimal(str(pnl))


def risk_events(store: Store, limit: int = 10) -> pd.DataFrame:
    r = t.risk_events
    stmt = select(r.c.ts, r.c.severity, r.c.event_type, r.c.rule, r.c.message, r.c.trading_state)
    stmt = stmt.order_by(r.c.ts.desc(), r.c.id.desc()).limit(limit)
    return _frame(store, stmt)


def scan_runs(store: Store, limit: int = 20) -> pd.DataFrame:
    s = t.scan_runs
    stmt = select(s.c.id, s.c.kind, s.c.status, s.c.started_at, s.c.asof, s.c.universe_size,
                  s.c.signal_count, s.c.error).order_by(s.c.id.desc()).limit(limit)  # fmt: skip
    return _frame(store, stmt)


def signals_of(store: Store, scan_run_ids: list[int]) -> pd.DataFrame:
    s = t.live_signals
    stmt = select(
        s.c.scan_run_id,
        s.c.ticker,
        s.c.rank,
        s.c.composite_score,
        s.c.selected,
        s.c.executed,
        s.c.entry_price,
        s.c.stop_loss,
        s.c.take_profit,
        s.c.quantity,
        s.c.factors,
        s.c.filter_reasons,
    ).where(s.c.scan_run_id.in_(scan_run_ids))
    return _frame(store, stmt.order_by(s.c.scan_run_id, s.c.rank, s.c.ticker))  # fmt: skip


def commands(store: Store, limit: int = 10) -> pd.DataFrame:
    c = t.commands
    stmt = select(c.c.id, c.c.kind, c.c.payload, c.c.status, c.c.created_at, c.c.created_by,
                  c.c.applied_at, c.c.result).order_by(c.c.id.desc()).limit(limit)  # fmt: skip
    return _frame(store, stmt)


def command(store: Store, command_id: int) -> dict[str, Any] | None:
    c = t.commands
    with store.unit_of_work() as uow:
        row = uow.connection.execute(select(c).where(c.c.id == command_id)).first()
    return dict(row._mapping) if row is not None else None


def open_tickets(store: Store) -> pd.DataFrame:
    """Assisted mode: the order tickets still waiting for the trader (oldest first)."""
    return pd.DataFrame(tickets.open_tickets(store), columns=list(tickets.TICKET_COLUMNS))


def scan_changes(signals: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Per scan run (newest first): the selected tickers added and dropped since the one before."""
    rows: list[dict[str, Any]] = []
    chosen = signals[signals["selected"].astype(bool)] if len(signals) else signals
    by_run = {int(k): set(v) for k, v in chosen.groupby("scan_run_id")["ticker"]} if len(
        chosen) else {}  # fmt: skip
    ordered = sorted(int(i) for i in runs["id"]) if len(runs) else []
    previous: set[str] = set()
    for run_id in ordered:
        now = by_run.get(run_id, set())
        rows.append({"scan": run_id, "selected": ", ".join(sorted(now)),
                     "added": ", ".join(sorted(now - previous)),
                     "dropped": ", ".join(sorted(previous - now)),
                     "changed": now != previous})  # fmt: skip
        previous = now
    return pd.DataFrame(rows[::-1], columns=["scan", "selected", "added", "dropped", "changed"])
