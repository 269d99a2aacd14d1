"""Plain records of what the system did: scans, signals, trades, risk events, equity,
operator commands. Frozen; the store maps them to rows and back (``id`` None until stored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from quant_agent.core.enums import (
    CommandKind,
    CommandStatus,
    ExitReason,
    RunStatus,
    ScanKind,
    Severity,
    TradingState,
)
from quant_agent.core.ids import Ticker


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanRun:
    kind: ScanKind
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None = None
    asof: date | None = None
    universe_size: int = 0
    signal_count: int = 0
    error: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalRecord:
    scan_run_id: int
    ticker: Ticker
    signal_date: date
    generated_at: datetime
    composite_score: float
    rank: int | None = None
    selected: bool = False
    executed: bool = False
    entry_price: Decimal | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    quantity: int | None = None
    factors: dict[str, Any] = field(default_factory=dict)
    filter_reasons: list[str] = field(default_factory=list)
    trade_plan: dict[str, Any] | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TradeRecord:
    ticker: Ticker
    entry_date: date
    exit_date: date
    entry_price: Decimal
    exit_price: Decimal
    quantity: int
    pnl: Decimal
    pnl_pct: float
    hold_days: int
    commission: Decimal
    exit_reason: ExitReason
    created_at: datetime
    position_id: int | None = None
    signal_id: int | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskEventRecord:
    ts: datetime
    event_type: str
    severity: Severity
    message: str
    rule: str | None = None
    trading_state: TradingState | None = None
    details: dict[str, Any] = field(default_factory=dict)
    id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EquitySnapshot:
    ts: datetime
    kind: str  # "intraday" or "daily"
    equity: Decimal
    cash: Decimal
    positions_value: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandRecord:
    kind: CommandKind
    created_at: datetime
    status: CommandStatus = CommandStatus.PENDING
    payload: dict[str, Any] = field(default_factory=dict)
    created_by: str = "cli"
    applied_at: datetime | None = None
    result: str | None = None
    id: int | None = None
