"""Assisted live mode (``broker.kind: questrade-assisted``): orders become tickets.

With a personal key Questrade refuses order calls, so ``AssistedBroker`` "submits" an order
by recording its intent (``questrade_order_map``, as a partner submit does before its POST)
and issuing an exact ticket — ticker, action, quantity, type, limit/stop, time in force
and, for an entry, the bracket legs to place once it fills — stored in ``order_tickets`` and
published as ``OrderTicketIssued`` (alerts and the dashboard show it). The order stays
SUBMITTED until the trader places it in Questrade: the notifications stream (or the
orders endpoint, on any lookup) reports an order whose terms match the unbound intent
exactly, the inherited adoption binds it, and from then on its acceptance, fills and
cancel are ordinary order events. A cancel of a ticket not yet placed withdraws it (a
``withdrawn`` ticket); of a placed order, issues a ``cancel`` ticket. A replace cannot be
done for the trader: a ``replace`` ticket is issued and the call refused. Orders the
trader enters that match no ticket are reported as ``QT-ORDER-<id>`` and reconciled like
any other unknown broker activity. Reads are ``QuestradeBroker``'s.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select

from quant_agent.brokers.base import BrokerOrder, OrderRequest
from quant_agent.core.enums import OrderStatus, Side
from quant_agent.core.errors import RejectedError
from quant_agent.core.events import OrderTicketIssued
from quant_agent.core.ids import BrokerOrderId, ClientOrderId, Ticker
from quant_agent.questrade.broker import QuestradeBroker
from quant_agent.questrade.broker_mapping import (
    _core_tif,
    _core_type,
    order_body,
    to_broker_order,
)
from quant_agent.questrade.errors import QuestradeRequestError
from quant_agent.questrade.order_map import MappedOrder
from quant_agent.storage.store import Store
from quant_agent.storage.tables import order_tickets

log = logging.getLogger(__name__)
Legs = Callable[[ClientOrderId], list[OrderRequest]]


def ticket_text(
    row: MappedOrder, legs: list[MappedOrder] | None = None, kind: str = "place"
) -> str:
    """One line a trader can type into Questrade, e.g. ``BUY 10 AAPL Limit 101.00 Day``."""
    terms = f"{row.side.upper()} {row.quantity} {row.ticker} {row.order_type}"
    if row.limit_price is not None:
        terms += f" limit {row.limit_price:.2f}"
    if row.stop_price is not None:
        terms += f" stop {row.stop_price:.2f}"
    terms += f" {row.time_in_force}"
    if legs:
        terms += "; once filled, protect with: " + "; ".join(ticket_text(leg) for leg in legs)
    if kind == "cancel":
        return f"CANCEL Questrade order {row.order_id}: {terms}"
    if kind == "withdrawn":
        return f"DO NOT PLACE (withdrawn): {terms}"
    if kind == "replace":
        return f"CHANGE Questrade order {row.order_id} by hand: {terms}"
    return terms


class TicketBook:
    """``order_tickets``: each ticket stored once (a repeated request returns None)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def issue(self, ticket_id: str, kind: str, row: MappedOrder, legs: list[MappedOrder],
              text: str, now: datetime) -> bool:  # fmt: skip
        t = order_tickets
        with self._store.unit_of_work() as uow:
            conn = uow.connection
            if conn.execute(select(t.c.id).where(t.c.ticket_id == ticket_id)).first():
                return False
            conn.execute(insert(t).values(
                ticket_id=ticket_id, kind=kind, client_order_id=row.client_order_id,
                account=row.account, ticker=row.ticker, side=row.side, quantity=row.quantity,
                order_type=row.order_type, limit_price=row.limit_price,
                stop_price=row.stop_price, time_in_force=row.time_in_force,
                questrade_order_id=row.order_id, legs=json.dumps([_terms(g) for g in legs]),
                text=text, issued_at=now))  # fmt: skip
        return True

    def list(self) -> list[dict[str, Any]]:
        with self._store.unit_of_work() as uow:
            rows = uow.connection.execute(select(order_tickets).order_by(order_tickets.c.id))
            return [dict(r._mapping) for r in rows]


class AssistedBroker(QuestradeBroker):
    """The ``Broker`` protocol for a personal key: tickets out, matched orders back in."""

    legs: Legs = staticmethod(lambda coid: [])
    on_ticket: Callable[[OrderTicketIssued], None] | None = None
    tickets: TicketBook

    @property
    def order_entry_problem(self) -> str | None:
        return None  # orders are placed by the trader, from tickets

    def attach(self, store: Store, legs: Legs | None = None,
               on_ticket: Callable[[OrderTicketIssued], None] | None = None) -> None:  # fmt: skip
        """Where tickets are stored and sent, and how an entry's bracket legs are found."""
        self.tickets = TicketBook(store)
        if legs is not None:
            self.legs = legs
        self.on_ticket = on_ticket

    def submit(self, request: OrderRequest) -> BrokerOrder:
        existing = self._map.get(request.client_order_id)
        if existing is not None:  # asked again (a restart): the order as it stands
            found = self.get_order_by_client_id(request.client_order_id)
            return found if found is not None else self._pending(existing)
        now = self._clock.now()
        try:
            symbol = self._run(self._rest.resolve([request.ticker])).get(request.ticker)
        except QuestradeRequestError:
            symbol = None
        if symbol is None:  # no ticket for what Questrade cannot trade: a rejection report
            _, unsent = order_body(request, self._account, 0, now)
            problem = f"Questrade does not know the symbol {request.ticker}"
            return to_broker_order(None, unsent, now, reject_reason=problem)
        _, intent = order_body(request, self._account, symbol.symbol_id, now)
        intent = self._map.record_intent(intent)
        legs = [order_body(leg, self._account, symbol.symbol_id, now)[1]
                for leg in self.legs(request.client_order_id)]  # fmt: skip
        self._issue("place", intent, legs)
        return self._pending(intent)

    def cancel(self, client_order_id: ClientOrderId) -> BrokerOrder:
        row = self._map.get(client_order_id)
        if row is None:
            raise RejectedError(f"order {client_order_id} has no ticket")
        report = self.get_order_by_client_id(client_order_id)  # adopts one placed meanwhile
        if report is None:
            if self._map.forget(client_order_id):
                self._issue("withdrawn", row, [])
                return self._pending(row, OrderStatus.CANCELED)
            row = self._map.get(client_order_id) or row
            report = self.get_order_by_client_id(client_order_id)
        if report is not None and not report.is_open:
            return report
        self._issue("cancel", self._map.get(client_order_id) or row, [])
        return report if report is not None else self._pending(row)

    def replace(
        self, client_order_id: ClientOrderId, *, quantity: int | None = None,
        limit_price: Decimal | None = None, stop_price: Decimal | None = None,
    ) -> BrokerOrder:  # fmt: skip
        row = self._map.get(client_order_id)
        if row is None:
            raise RejectedError(f"order {client_order_id} has no ticket")
        from dataclasses import replace as changed

        wanted = changed(row, quantity=quantity or row.quantity,
                         limit_price=limit_price or row.limit_price,
                         stop_price=stop_price or row.stop_price)  # fmt: skip
        self._issue("replace", wanted, [], suffix=f"-{self._clock.now().isoformat()}")
        raise RejectedError(f"assisted mode: change order {client_order_id} in Questrade")

    def _issue(self, kind: str, row: MappedOrder, legs: list[MappedOrder],
               suffix: str = "") -> None:  # fmt: skip
        text = ticket_text(row, legs, kind)
        ticket_id = f"{kind}-{row.client_order_id}{suffix}"
        now = self._clock.now()
        if not self.tickets.issue(ticket_id, kind, row, legs, text, now):
            return
        log.warning("order ticket %s: %s", ticket_id, text)
        if self.on_ticket is not None:
            self.on_ticket(OrderTicketIssued(
                ts_event=now, ts_init=now, ticket_id=ticket_id, kind=kind,
                client_order_id=row.client_order_id, ticker=row.ticker, text=text))  # fmt: skip

    def _pending(
        self, row: MappedOrder, status: OrderStatus = OrderStatus.SUBMITTED
    ) -> BrokerOrder:
        now = self._clock.now()
        return BrokerOrder(
            client_order_id=ClientOrderId(row.client_order_id),
            broker_order_id=BrokerOrderId(str(row.order_id or "")), ticker=Ticker(row.ticker),
            side=Side.BUY if row.side == "Buy" else Side.SELL,
            order_type=_core_type(row.order_type), quantity=row.quantity, status=status,
            time_in_force=_core_tif(row.time_in_force), created_at=row.sent_at, updated_at=now,
            limit_price=row.limit_price, stop_price=row.stop_price,
        )  # fmt: skip


def _terms(row: MappedOrder) -> dict[str, Any]:
    return {"side": row.side, "quantity": row.quantity, "order_type": row.order_type,
            "limit_price": _price(row.limit_price), "stop_price": _price(row.stop_price),
            "time_in_force": row.time_in_force}  # fmt: skip


def _price(value: Decimal | None) -> str | None:
    """The same text on every backend (PostgreSQL's Numeric reads back 99.760000)."""
    return None if value is None else format(value.normalize(), "f")
