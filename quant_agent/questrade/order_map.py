"""The durable link between our client order ids and Questrade's order ids.

Questrade's documented order calls carry no client order id (no field of the request is
echoed back as ours), so the adapter keeps the link itself, in ``questrade_order_map``:
an *intent* row (our id and the exact terms) is committed before the order call leaves,
and the Questrade ``orderId`` (and ``chainId``) is bound to it once known — from the reply,
or, when the reply was lost, by matching the account's orders of the day against the
unbound intent's terms. A replace re-binds the row to the new id in the same chain.
Every method is its own transaction. This module must never call Questrade itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, delete, insert, select, update

from quant_agent.storage import tables as t
from quant_agent.storage.store import Store

T = t.questrade_order_map


@dataclass(frozen=True, slots=True, kw_only=True)
class MappedOrder:
    """One of our orders as sent to Questrade (``order_id`` None until known)."""

    client_order_id: str
    account: str
    symbol_id: int
    ticker: str
    side: str  # Questrade action: Buy | Sell
    order_type: str  # Questrade orderType
    quantity: int
    time_in_force: str  # Questrade timeInForce
    sent_at: datetime
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    order_id: int | None = None
    chain_id: int | None = None


def _row(row: Row[Any] | None) -> MappedOrder | None:
    if row is None:
        return None
    m = row._mapping
    return MappedOrder(
        client_order_id=m["client_order_id"], account=m["account"], symbol_id=m["symbol_id"],
        ticker=m["ticker"], side=m["side"], order_type=m["order_type"],
        quantity=m["quantity"], time_in_force=m["time_in_force"], sent_at=m["sent_at"],
        limit_price=m["limit_price"], stop_price=m["stop_price"], order_id=m["order_id"],
        chain_id=m["chain_id"],
    )  # fmt: skip


class OrderMap:
    """Read and write ``questrade_order_map`` (thread-safe: one transaction per call)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def record_intent(self, order: MappedOrder) -> MappedOrder:
        """Store ``order`` unless our id is already known; return the stored row."""
        with self._store.unit_of_work() as uow:
            conn = uow.connection
            found = _row(
                conn.execute(select(T).where(T.c.client_order_id == order.client_order_id)).first()
            )
            if found is not None:
                return found
            conn.execute(
                insert(T).values(
                    client_order_id=order.client_order_id,
                    account=order.account,
                    symbol_id=order.symbol_id,
                    ticker=order.ticker,
                    side=order.side,
                    order_type=order.order_type,
                    quantity=order.quantity,
                    limit_price=order.limit_price,
                    stop_price=order.stop_price,
                    time_in_force=order.time_in_force,
                    sent_at=order.sent_at,
                    order_id=order.order_id,
                    chain_id=order.chain_id,
                    updated_at=order.sent_at,
                )  # fmt: skip
            )
        return order

    def bind(
        self, client_order_id: str, order_id: int, chain_id: int, now: datetime, **terms: Any
    ) -> None:
        """Link our id to Questrade's ``order_id`` (and record changed terms after a replace)."""
        with self._store.unit_of_work() as uow:
            uow.connection.execute(
                update(T)
                .where(T.c.client_order_id == client_order_id)
                .values(order_id=order_id, chain_id=chain_id, updated_at=now, **terms)
            )

    def forget(self, client_order_id: str) -> bool:
        """Drop an intent no Questrade order was bound to (assisted mode: a ticket withdrawn
        before the trader placed it); True when one was dropped."""
        with self._store.unit_of_work() as uow:
            done = uow.connection.execute(
                delete(T).where(T.c.client_order_id == client_order_id, T.c.order_id.is_(None))
            )
        return bool(done.rowcount)

    def unbind(self, client_order_id: str) -> None:
        """Undo a wrong binding: the intent is unbound again (its order still unknown)."""
        with self._store.unit_of_work() as uow:
            uow.connection.execute(
                update(T).where(T.c.client_order_id == client_order_id)
                .values(order_id=None, chain_id=None)
            )  # fmt: skip

    def get(self, client_order_id: str) -> MappedOrder | None:
        return self._one(T.c.client_order_id == client_order_id)

    def by_order_id(self, order_id: int) -> MappedOrder | None:
        return self._one(T.c.order_id == order_id)

    def by_chain_id(self, chain_id: int) -> MappedOrder | None:
        return self._one(T.c.chain_id == chain_id)

    def unbound(self) -> list[MappedOrder]:
        """Intents whose Questrade order id is not known yet, oldest first."""
        with self._store.unit_of_work() as uow:
            rows = uow.connection.execute(
                select(T).where(T.c.order_id.is_(None)).order_by(T.c.sent_at)
            ).all()
        return [m for m in map(_row, rows) if m is not None]

    def _one(self, where: Any) -> MappedOrder | None:
        with self._store.unit_of_work() as uow:
            return _row(uow.connection.execute(select(T).where(where)).first())
