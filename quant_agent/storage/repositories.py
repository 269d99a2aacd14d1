"""Repositories: map domain objects and records to rows and back, on one connection.

Each repository works inside the transaction of the unit of work that created it and
never commits; see ``store.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import Connection, Row, Table, bindparam, func, insert, select, update

from quant_agent.core.enums import (
    CommandKind,
    CommandStatus,
    ExitReason,
    OrderRole,
    OrderStatus,
    OrderType,
    PositionStatus,
    RunStatus,
    ScanKind,
    Severity,
    Side,
    TimeInForce,
    TradingState,
)
from quant_agent.core.errors import DataError
from quant_agent.core.events import OrderEvent, OrderFilled
from quant_agent.core.ids import BrokerOrderId, ClientOrderId, FillId, Ticker
from quant_agent.core.order import Order
from quant_agent.core.position import Position
from quant_agent.core.records import (
    CommandRecord,
    EquitySnapshot,
    RiskEventRecord,
    ScanRun,
    SignalRecord,
    TradeRecord,
)
from quant_agent.storage import tables as t


def to_json(value: Any) -> Any:
    """Turn decimals, dates, enums and dataclasses into JSON-safe values (exact text)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return [to_json(v) for v in items]
    return value


def _fields(record: Any, exclude: tuple[str, ...] = ("id",)) -> dict[str, Any]:
    return {
        f.name: getattr(record, f.name) for f in dataclasses.fields(record) if f.name not in exclude
    }


def fill_from_row(r: Row[Any], *, ts_init: datetime, reconciled: bool = False) -> OrderFilled:
    """Map a row of ``fills`` or of the paper venue's ``paper_fills`` to the core event."""
    return OrderFilled(
        ts_event=r.filled_at,
        ts_init=ts_init,
        client_order_id=ClientOrderId(r.client_order_id),
        reconciled=reconciled,
        fill_id=FillId(r.fill_id),
        ticker=Ticker(r.ticker),
        side=Side(r.side),
        quantity=r.quantity,
        price=r.price,
        commission=r.commission,
        broker_order_id=BrokerOrderId(r.broker_order_id) if r.broker_order_id else None,
    )


class _Repository:
    table: Table

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def _insert(self, values: dict[str, Any]) -> int:
        result = self._conn.execute(insert(self.table).values(**values).returning(self.table.c.id))
        return int(result.scalar_one())

    def count(self) -> int:
        return int(self._conn.execute(select(func.count()).select_from(self.table)).scalar_one())


class OrderRepository(_Repository):
    table = t.orders

    def add(self, order: Order) -> None:
        self._insert(self._values(order))

    def save(self, order: Order) -> None:
        """Write the current state of an order that is already stored."""
        values = self._values(order)
        stmt = update(self.table).where(self.table.c.client_order_id == order.client_order_id)
        if self._conn.execute(stmt.values(**values)).rowcount != 1:
            raise LookupError(f"order {order.client_order_id} is not in the store")

    def get(self, client_order_id: str) -> Order | None:
        stmt = select(self.table).where(self.table.c.client_order_id == client_order_id)
        row = self._conn.execute(stmt).one_or_none()
        return None if row is None else self._order(row)

    def get_by_broker_id(self, broker_order_id: str) -> Order | None:
        stmt = select(self.table).where(self.table.c.broker_order_id == broker_order_id)
        row = self._conn.execute(stmt).one_or_none()
        return None if row is None else self._order(row)

    def list_open(self) -> list[Order]:
        return self._orders(self._conn.execute(_OPEN_ORDERS).all())

    def list_children(self, parent_client_order_id: str) -> list[Order]:
        rows = self._conn.execute(_CHILDREN, {"parent": parent_client_order_id}).all()
        return self._orders(rows)

    def _orders(self, rows: Sequence[Row[Any]]) -> list[Order]:
        """Orders of ``rows`` with their fill ids, in one query for all (not one each)."""
        if not rows:
            return []
        ids = [r.client_order_id for r in rows]
        found: dict[str, set[FillId]] = {i: set() for i in ids}
        fills = t.fills.c
        stmt = select(fills.client_order_id, fills.fill_id).where(
            fills.client_order_id.in_(bindparam("ids", expanding=True))
        )
        for owner, fill_id in self._conn.execute(stmt, {"ids": ids}):
            found[owner].add(FillId(fill_id))
        return [self._order(r, found[r.client_order_id]) for r in rows]

    def _values(self, order: Order) -> dict[str, Any]:
        return {
            "client_order_id": order.client_order_id,
            "broker_order_id": order.broker_order_id,
            "parent_client_order_id": order.parent_client_order_id,
            "signal_id": order.signal_id,
            "role": order.role.value,
            "ticker": order.ticker,
            "side": order.side.value,
            "order_type": order.order_type.value,
            "quantity": order.quantity,
            "limit_price": order.limit_price,
            "stop_price": order.stop_price,
            "time_in_force": order.time_in_force.value,
            "status": order.status.value,
            "filled_quantity": order.filled_quantity,
            "filled_notional": order.filled_notional,
            "avg_fill_price": order.avg_fill_price,
            "commission": order.commission,
            "reject_reason": order.reject_reason,
            "created_at": order.created_at,
            "updated_at": order.updated_at,
        }

    def _order(self, row: Row[Any], fill_ids: set[FillId] | None = None) -> Order:
        if fill_ids is None:
            fill_ids = set(self._conn.execute(
                select(t.fills.c.fill_id).where(t.fills.c.client_order_id == row.client_order_id)
            ).scalars())  # fmt: skip
        return Order(
            client_order_id=ClientOrderId(row.client_order_id),
            broker_order_id=BrokerOrderId(row.broker_order_id) if row.broker_order_id else None,
            parent_client_order_id=(
                ClientOrderId(row.parent_client_order_id) if row.parent_client_order_id else None
            ),
            signal_id=row.signal_id,
            role=OrderRole(row.role),
            ticker=Ticker(row.ticker),
            side=Side(row.side),
            order_type=OrderType(row.order_type),
            quantity=row.quantity,
            limit_price=row.limit_price,
            stop_price=row.stop_price,
            time_in_force=TimeInForce(row.time_in_force),
            status=OrderStatus(row.status),
            filled_quantity=row.filled_quantity,
            filled_notional=row.filled_notional,
            commission=row.commission,
            reject_reason=row.reject_reason,
            created_at=row.created_at,
            updated_at=row.updated_at,
            fill_ids={FillId(f) for f in fill_ids},
        )


_OPEN_ORDERS = (
    select(t.orders)
    .where(t.orders.c.status.in_([s.value for s in OrderStatus if s.is_open]))
    .order_by(t.orders.c.id)
)
_CHILDREN = (
    select(t.orders)
    .where(t.orders.c.parent_client_order_id == bindparam("parent"))
    .order_by(t.orders.c.id)
)


class OrderEventRepository(_Repository):
    table = t.order_events

    def append(self, event: OrderEvent) -> int:
        payload = to_json(event)
        for key in ("ts_event", "ts_init", "client_order_id", "reconciled"):
            payload.pop(key)
        return self._insert(
            {
                "client_order_id": event.client_order_id,
                "event_type": type(event).__name__,
                "ts_event": event.ts_event,
                "ts_init": event.ts_init,
                "reconciled": event.reconciled,
                "payload": payload,
            }
        )

    def for_order(self, client_order_id: str) -> list[dict[str, Any]]:
        stmt = (
            select(self.table)
            .where(self.table.c.client_order_id == client_order_id)
            .order_by(self.table.c.id)
        )
        return [dict(r._mapping) for r in self._conn.execute(stmt)]


class FillRepository(_Repository):
    table = t.fills

    def add(self, fill: OrderFilled, recorded_at: datetime) -> None:
        self._insert(
            {
                "fill_id": fill.fill_id,
                "client_order_id": fill.client_order_id,
                "broker_order_id": fill.broker_order_id,
                "ticker": fill.ticker,
                "side": fill.side.value,
                "quantity": fill.quantity,
                "price": fill.price,
                "commission": fill.commission,
                "filled_at": fill.ts_event,
                "recorded_at": recorded_at,
                "reconciled": fill.reconciled,
            }
        )

    def exists(self, fill_id: str) -> bool:
        stmt = select(self.table.c.id).where(self.table.c.fill_id == fill_id)
        return self._conn.execute(stmt).first() is not None

    def client_order_id_of(self, fill_id: str) -> str | None:
        """Return the order a recorded fill id belongs to, None if it was never recorded."""
        stmt = select(self.table.c.client_order_id).where(self.table.c.fill_id == fill_id)
        value = self._conn.execute(stmt).scalar_one_or_none()
        return None if value is None else str(value)

    def list_after(self, row_id: int) -> list[tuple[int, OrderFilled]]:
        """Return ``(row id, fill)`` of every fill recorded after row ``row_id``, in order."""
        stmt = select(self.table).where(self.table.c.id > row_id).order_by(self.table.c.id)
        return [(int(r.id), self._fill(r)) for r in self._conn.execute(stmt)]

    def _fill(self, r: Row[Any]) -> OrderFilled:
        return fill_from_row(r, ts_init=r.recorded_at, reconciled=r.reconciled)

    def list(
        self, client_order_id: str | None = None, since: datetime | None = None
    ) -> list[OrderFilled]:
        stmt = select(self.table).order_by(self.table.c.filled_at, self.table.c.id)
        if client_order_id is not None:
            stmt = stmt.where(self.table.c.client_order_id == client_order_id)
        if since is not None:
            stmt = stmt.where(self.table.c.filled_at >= since)
        return [self._fill(r) for r in self._conn.execute(stmt)]


class PositionRepository(_Repository):
    table = t.positions

    def add(self, position: Position, updated_at: datetime) -> int:
        position.position_id = self._insert(self._values(position, updated_at))
        return position.position_id

    def save(self, position: Position, updated_at: datetime) -> None:
        if position.position_id is None:
            raise LookupError(f"position in {position.ticker} was never added to the store")
        stmt = update(self.table).where(self.table.c.id == position.position_id)
        self._conn.execute(stmt.values(**self._values(position, updated_at)))

    def get(self, position_id: int) -> Position | None:
        row = self._conn.execute(
            select(self.table).where(self.table.c.id == position_id)
        ).one_or_none()
        return None if row is None else self._position(row)

    def list_open(self) -> list[Position]:
        stmt = select(self.table).where(self.table.c.status == PositionStatus.OPEN.value)
        return [self._position(r) for r in self._conn.execute(stmt.order_by(self.table.c.id))]

    def list_all(self) -> list[Position]:
        """Every position ever stored (open and closed), oldest first."""
        stmt = select(self.table).order_by(self.table.c.id)
        return [self._position(r) for r in self._conn.execute(stmt)]

    def _values(self, p: Position, updated_at: datetime) -> dict[str, Any]:
        mark = p.last_price
        return {
            "ticker": p.ticker,
            "status": p.status.value,
            "quantity": p.quantity,
            "entry_price": p.avg_entry_price,
            "cost_basis": p.cost_basis,
            "entry_date": p.opened_at.date() if p.opened_at else None,
            "opened_at": p.opened_at,
            "closed_at": p.closed_at,
            "stop_loss": p.stop_loss,
            "take_profit": p.take_profit,
            "current_price": mark,
            "unrealized_pnl": p.unrealized_pnl(mark) if mark is not None else None,
            "realized_pnl": p.realized_pnl,
            "commission": p.commission,
            "signal_id": p.signal_id,
            "sector": p.sector,
            "exit_reason": p.exit_reason.value if p.exit_reason else None,
            "fill_ids": sorted(p.fill_ids),
            "updated_at": updated_at,
        }

    def _position(self, row: Row[Any]) -> Position:
        return Position(
            ticker=Ticker(row.ticker),
            quantity=row.quantity,
            cost_basis=row.cost_basis,
            realized_pnl=row.realized_pnl,
            commission=row.commission,
            opened_at=row.opened_at,
            closed_at=row.closed_at,
            fill_ids={FillId(f) for f in row.fill_ids},
            position_id=row.id,
            signal_id=row.signal_id,
            sector=row.sector,
            stop_loss=row.stop_loss,
            take_profit=row.take_profit,
            last_price=row.current_price,
            exit_reason=ExitReason(row.exit_reason) if row.exit_reason else None,
        )


class _RecordRepository(_Repository):
    """A repository of one frozen record type whose fields match the table's columns."""

    record: type[Any]
    enums: dict[str, type[Enum]] = {}

    def add(self, record: Any) -> int:
        return self._insert(self._row(record))

    def add_many(self, records: Sequence[Any]) -> None:
        """Insert every record in one batched statement (one executemany, not a round
        trip each: a scan stores one signal row per ticker)."""
        if records:
            self._conn.execute(insert(self.table), [self._row(r) for r in records])

    def _row(self, record: Any) -> dict[str, Any]:
        return {k: to_json(v) if k in self.enums else v for k, v in _fields(record).items()}

    def get(self, record_id: int) -> Any | None:
        row = self._conn.execute(
            select(self.table).where(self.table.c.id == record_id)
        ).one_or_none()
        return None if row is None else self._record(row)

    def list(self, limit: int | None = None, **equal: Any) -> list[Any]:
        stmt = select(self.table).order_by(self.table.c.id)
        for column, value in equal.items():
            stmt = stmt.where(self.table.c[column] == to_json(value))
        if limit is not None:
            stmt = stmt.limit(limit)
        return [self._record(r) for r in self._conn.execute(stmt)]

    def _record(self, row: Row[Any]) -> Any:
        values = dict(row._mapping)
        for name, enum in self.enums.items():
            if values.get(name) is not None:
                values[name] = enum(values[name])
        if "ticker" in values:
            values["ticker"] = Ticker(values["ticker"])
        return self.record(**values)

    def _update(self, record_id: int, **values: Any) -> None:
        stmt = update(self.table).where(self.table.c.id == record_id).values(**values)
        if self._conn.execute(stmt).rowcount != 1:
            raise LookupError(f"{self.table.name} row {record_id} does not exist")


class ScanRunRepository(_RecordRepository):
    table = t.scan_runs
    record = ScanRun
    enums = {"kind": ScanKind, "status": RunStatus}

    def finish(
        self,
        run_id: int,
        *,
        status: RunStatus,
        finished_at: datetime,
        signal_count: int = 0,
        error: str | None = None,
    ) -> None:
        self._update(
            run_id,
            status=status.value,
            finished_at=finished_at,
            signal_count=signal_count,
            error=error,
        )

    def latest(self, status: RunStatus | None = None) -> ScanRun | None:
        stmt = select(self.table).order_by(self.table.c.started_at.desc(), self.table.c.id.desc())
        if status is not None:
            stmt = stmt.where(self.table.c.status == status.value)
        row = self._conn.execute(stmt.limit(1)).one_or_none()
        return None if row is None else self._record(row)


class SignalRepository(_RecordRepository):
    table = t.live_signals
    record = SignalRecord

    def for_scan(self, scan_run_id: int) -> list[SignalRecord]:
        return self.list(scan_run_id=scan_run_id)


class TradeRepository(_RecordRepository):
    table = t.live_trades
    record = TradeRecord
    enums = {"exit_reason": ExitReason}


class RiskEventRepository(_RecordRepository):
    table = t.risk_events
    record = RiskEventRecord
    enums = {"severity": Severity, "trading_state": TradingState}


class EquityRepository(_RecordRepository):
    table = t.equity_snapshots
    record = EquitySnapshot


class CommandRepository(_RecordRepository):
    table = t.commands
    record = CommandRecord
    enums = {"kind": CommandKind, "status": CommandStatus}

    def pending(self) -> list[CommandRecord]:
        return self.list(status=CommandStatus.PENDING)

    def pending_ids(self) -> list[int]:
        """Ids of the pending rows, oldest first (reads no other column, so a malformed row
        cannot make the poll fail)."""
        stmt = (
            select(self.table.c.id)
            .where(self.table.c.status == CommandStatus.PENDING.value)
            .order_by(self.table.c.id)
        )
        return [int(i) for i in self._conn.execute(stmt).scalars()]

    def load(self, command_id: int) -> CommandRecord:
        """The command row ``command_id``; ``DataError`` saying why when it is malformed (an
        unknown kind, a payload that is not a JSON object, an unreadable column)."""
        try:
            record: CommandRecord | None = self.get(command_id)
        except (ValueError, TypeError, LookupError) as exc:
            raise DataError(f"malformed command row: {type(exc).__name__}: {exc}") from None
        if record is None:
            raise DataError(f"command row {command_id} does not exist")
        if not isinstance(record.payload, dict):
            shown = type(record.payload).__name__
            raise DataError(f"malformed command row: payload is a JSON {shown}, not an object")
        return record

    def complete(
        self, command_id: int, *, status: CommandStatus, applied_at: datetime, result: str = ""
    ) -> None:
        self._update(command_id, status=status.value, applied_at=applied_at, result=result)


class SystemStateRepository:
    """A small key/value table of JSON values (trading state, heartbeat, cursors)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, key: str, default: Any = None) -> Any:
        stmt = select(t.system_state.c.value).where(t.system_state.c.key == key)
        row = self._conn.execute(stmt).one_or_none()
        return default if row is None else row.value

    def set(self, key: str, value: Any, updated_at: datetime) -> None:
        payload = {"value": to_json(value), "updated_at": updated_at}
        stmt = update(t.system_state).where(t.system_state.c.key == key).values(**payload)
        if self._conn.execute(stmt).rowcount == 0:
            self._conn.execute(insert(t.system_state).values(key=key, **payload))

    def updated_at(self, key: str) -> datetime | None:
        stmt = select(t.system_state.c.updated_at).where(t.system_state.c.key == key)
        return self._conn.execute(stmt).scalar_one_or_none()
