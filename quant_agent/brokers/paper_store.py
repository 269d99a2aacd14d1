"""The paper venue's book: its orders, fills, cash and positions, and their rows.

This module owns the mapping between the paper venue's state and the ``paper_*`` tables.
Every method works inside the caller's transaction and never commits. It must never touch
the order manager's tables (``orders``, ``fills``, ``order_events``): the venue and the
system keep separate books, as a real broker and its client do.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select, update

from quant_agent.brokers.base import BrokerOrder
from quant_agent.core.enums import OrderStatus, OrderType, Side, TimeInForce
from quant_agent.core.events import OrderFilled
from quant_agent.core.ids import BrokerOrderId, ClientOrderId, FillId, Ticker
from quant_agent.core.money import ZERO, quantize_money
from quant_agent.storage import tables as t
from quant_agent.storage.repositories import fill_from_row

ACCOUNT_KEY = "paper"

# Built once; the values travel as parameters so SQLAlchemy reuses the compiled statement
# instead of coercing literals on every call (the fill path is the venue's hot path).
_SET_CASH = update(t.paper_account).where(t.paper_account.c.key == bindparam("k"))
_INSERT_ORDER = insert(t.paper_orders)
_UPDATE_ORDER = update(t.paper_orders).where(t.paper_orders.c.broker_order_id == bindparam("k"))
_INSERT_FILL = insert(t.paper_fills)
_UPDATE_HOLDING = update(t.paper_positions).where(t.paper_positions.c.ticker == bindparam("k"))
_INSERT_HOLDING = insert(t.paper_positions)


@dataclass(frozen=True, slots=True, kw_only=True)
class PaperOrder:
    """One order as the paper venue works it (replaced, never mutated)."""

    broker_order_id: BrokerOrderId
    client_order_id: ClientOrderId
    ticker: Ticker
    side: Side
    order_type: OrderType
    quantity: int
    time_in_force: TimeInForce
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    triggered: bool = False
    filled_quantity: int = 0
    filled_notional: Decimal = ZERO
    fill_count: int = 0
    reject_reason: str | None = None
    expires_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    @property
    def remaining(self) -> int:
        return self.quantity - self.filled_quantity

    def filled(
        self,
        price: Decimal,
        quantity: int,
        commission: Decimal,
        *,
        triggered: bool,
        ts_event: datetime,
        ts_init: datetime,
    ) -> tuple[PaperOrder, OrderFilled]:
        """Return this order after one execution, and the execution (its id: the broker
        order id and the fill's ordinal, so a replay gives the same ids)."""
        filled = self.filled_quantity + quantity
        status = OrderStatus.FILLED if filled == self.quantity else OrderStatus.PARTIALLY_FILLED
        updated = dataclasses.replace(
            self,
            filled_quantity=filled,
            filled_notional=self.filled_notional + price * quantity,
            fill_count=self.fill_count + 1,
            triggered=triggered,
            status=status,
            updated_at=ts_event,
        )
        fill = OrderFilled(
            ts_event=ts_event,
            ts_init=ts_init,
            client_order_id=self.client_order_id,
            fill_id=FillId(f"{self.broker_order_id}-{updated.fill_count}"),
            ticker=self.ticker,
            side=self.side,
            quantity=quantity,
            price=price,
            commission=commission,
            broker_order_id=self.broker_order_id,
        )
        return updated, fill

    def report(self) -> BrokerOrder:
        avg = (
            quantize_money(self.filled_notional / self.filled_quantity)
            if self.filled_quantity
            else None
        )
        return BrokerOrder(
            client_order_id=self.client_order_id,
            broker_order_id=self.broker_order_id,
            ticker=self.ticker,
            side=self.side,
            order_type=self.order_type,
            quantity=self.quantity,
            status=self.status,
            time_in_force=self.time_in_force,
            created_at=self.created_at,
            updated_at=self.updated_at,
            limit_price=self.limit_price,
            stop_price=self.stop_price,
            filled_quantity=self.filled_quantity,
            avg_fill_price=avg,
            reject_reason=self.reject_reason,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PaperHolding:
    ticker: Ticker
    quantity: int
    cost_basis: Decimal  # exact sum of price x signed quantity of the open shares

    @classmethod
    def flat(cls, ticker: Ticker) -> PaperHolding:
        return cls(ticker=ticker, quantity=0, cost_basis=ZERO)

    def moved(self, signed: int, price: Decimal) -> PaperHolding:
        """Return the holding after ``signed`` shares at ``price`` (the venue never lets a
        sell cross zero); a partial sale takes a proportional share of the cost basis."""
        quantity = self.quantity + signed
        if signed > 0:
            basis = self.cost_basis + price * signed
        elif quantity == 0:
            basis = ZERO
        else:
            basis = self.cost_basis - quantize_money(self.cost_basis * -signed / self.quantity)
        return PaperHolding(ticker=self.ticker, quantity=quantity, cost_basis=basis)


class PaperBook:
    """Reads and writes the paper venue's rows on one connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # --- account ---------------------------------------------------------------------

    def cash(self) -> Decimal | None:
        stmt = select(t.paper_account.c.cash).where(t.paper_account.c.key == ACCOUNT_KEY)
        value = self._conn.execute(stmt).scalar_one_or_none()
        return None if value is None else Decimal(value)

    def open_account(self, initial_capital: Decimal, now: datetime) -> None:
        self._conn.execute(
            insert(t.paper_account).values(
                key=ACCOUNT_KEY,
                initial_capital=initial_capital,
                cash=initial_capital,
                updated_at=now,
            )  # fmt: skip
        )

    def set_cash(self, cash: Decimal, now: datetime) -> None:
        self._conn.execute(_SET_CASH, {"cash": cash, "updated_at": now, "k": ACCOUNT_KEY})

    # --- orders ----------------------------------------------------------------------

    def add_order(self, order: PaperOrder) -> None:
        self._conn.execute(_INSERT_ORDER, _order_values(order))

    def save_order(self, order: PaperOrder) -> None:
        params = {**_order_values(order), "k": order.broker_order_id}
        if self._conn.execute(_UPDATE_ORDER, params).rowcount != 1:
            raise LookupError(f"paper order {order.broker_order_id} is not in the book")

    def orders(self) -> list[PaperOrder]:
        stmt = select(t.paper_orders).order_by(t.paper_orders.c.id)
        return [_order(r) for r in self._conn.execute(stmt)]

    # --- fills and positions ---------------------------------------------------------

    def add_fill(self, fill: OrderFilled) -> None:
        self._conn.execute(
            _INSERT_FILL,
            {
                "fill_id": fill.fill_id,
                "broker_order_id": fill.broker_order_id,
                "client_order_id": fill.client_order_id,
                "ticker": fill.ticker,
                "side": fill.side.value,
                "quantity": fill.quantity,
                "price": fill.price,
                "commission": fill.commission,
                "filled_at": fill.ts_event,
            },
        )

    def fills(self, since: datetime | None = None) -> list[OrderFilled]:
        stmt = select(t.paper_fills).order_by(t.paper_fills.c.filled_at, t.paper_fills.c.id)
        if since is not None:
            stmt = stmt.where(t.paper_fills.c.filled_at >= since)
        return [fill_from_row(r, ts_init=r.filled_at) for r in self._conn.execute(stmt)]

    def save_holding(self, holding: PaperHolding, now: datetime) -> None:
        values = {"quantity": holding.quantity, "cost_basis": holding.cost_basis, "updated_at": now}
        if self._conn.execute(_UPDATE_HOLDING, {**values, "k": holding.ticker}).rowcount == 0:
            self._conn.execute(_INSERT_HOLDING, {"ticker": holding.ticker, **values})

    def holdings(self) -> list[PaperHolding]:
        stmt = select(t.paper_positions).order_by(t.paper_positions.c.ticker)
        return [
            PaperHolding(ticker=Ticker(r.ticker), quantity=r.quantity, cost_basis=r.cost_basis)
            for r in self._conn.execute(stmt)
        ]


def _order_values(o: PaperOrder) -> dict[str, Any]:
    return {
        "broker_order_id": o.broker_order_id,
        "client_order_id": o.client_order_id,
        "ticker": o.ticker,
        "side": o.side.value,
        "order_type": o.order_type.value,
        "quantity": o.quantity,
        "limit_price": o.limit_price,
        "stop_price": o.stop_price,
        "time_in_force": o.time_in_force.value,
        "status": o.status.value,
        "triggered": o.triggered,
        "filled_quantity": o.filled_quantity,
        "filled_notional": o.filled_notional,
        "fill_count": o.fill_count,
        "reject_reason": o.reject_reason,
        "created_at": o.created_at,
        "updated_at": o.updated_at,
        "expires_at": o.expires_at,
    }


def _order(r: Row[Any]) -> PaperOrder:
    return PaperOrder(
        broker_order_id=BrokerOrderId(r.broker_order_id),
        client_order_id=ClientOrderId(r.client_order_id),
        ticker=Ticker(r.ticker),
        side=Side(r.side),
        order_type=OrderType(r.order_type),
        quantity=r.quantity,
        time_in_force=TimeInForce(r.time_in_force),
        status=OrderStatus(r.status),
        created_at=r.created_at,
        updated_at=r.updated_at,
        limit_price=r.limit_price,
        stop_price=r.stop_price,
        triggered=r.triggered,
        filled_quantity=r.filled_quantity,
        filled_notional=r.filled_notional,
        fill_count=r.fill_count,
        reject_reason=r.reject_reason,
        expires_at=r.expires_at,
    )
