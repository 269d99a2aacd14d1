"""QuestradeBroker: the ``Broker`` protocol over Questrade's REST calls and notifications.

Reads (positions, balances, open orders, executions, an order by id) work with any key.
Order calls (submit, cancel, replace) work only with ``order_entry="partner"``: with a
personal key Questrade refuses them (403/1016), so the adapter refuses first, with a
``RejectedError`` that says why (``order_entry_problem`` says it at start-up).

Questrade has no client order id, so ``OrderMap`` (a table) links ours to its order id:
the intent is committed before the POST; the id is bound from the reply, or — when the
reply was lost — by matching the day's orders against the intent's terms. So
``get_order_by_client_id`` answers after a timeout, and an order call is never sent twice
for one client id (a ``submit`` of a known id returns the existing order's report).

The protocol is synchronous; Questrade's client is asyncio. Calls run on a private event
loop thread (``LoopThread``) and wait at most ``call_timeout`` (then
``TransientBrokerError``). Notifications are turned into core order events there and
queued; ``pump`` delivers them to the subscribed handlers on the caller's thread, so the
single-threaded core (the order manager) never sees them from another thread.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, TypeVar

from quant_agent.brokers.base import (
    AccountBalances,
    BrokerOrder,
    BrokerPosition,
    OrderEventHandler,
    OrderRequest,
)
from quant_agent.config import QuestradeConfig
from quant_agent.core.clock import Clock
from quant_agent.core.errors import RejectedError, TransientBrokerError
from quant_agent.core.events import OrderEvent, OrderFilled
from quant_agent.core.ids import BrokerOrderId, ClientOrderId, Ticker
from quant_agent.questrade import models as m
from quant_agent.questrade.auth import Authenticator, authenticator_from_config
from quant_agent.questrade.broker_mapping import (
    EventTracker,
    matches,
    order_body,
    to_broker_order,
    to_fill,
)
from quant_agent.questrade.errors import (
    QuestradeOrderError,
    QuestradeRequestError,
    QuestradeTransientError,
)
from quant_agent.questrade.order_map import MappedOrder, OrderMap
from quant_agent.questrade.rest import QuestradeRest
from quant_agent.questrade.stream import NotificationStream
from quant_agent.storage.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")

PERSONAL_KEY_MESSAGE = (
    "orders cannot be placed through the Questrade API with a personal key: order calls "
    "are reserved to partner applications (set questrade.order_entry: partner only with "
    "a partner key)"
)


class LoopThread:
    """An asyncio event loop on a daemon thread; ``run`` a coroutine on it and wait."""

    def __init__(self, name: str = "questrade-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)


class QuestradeBroker:
    """One Questrade account as a ``Broker`` (see the module docstring)."""

    supports_native_brackets = False

    def __init__(
        self,
        rest: QuestradeRest,
        *,
        account: str,
        order_map: OrderMap,
        clock: Clock,
        loop: LoopThread,
        order_entry: Literal["none", "partner"] = "none",
        currency: str = "CAD",
        call_timeout: float = 15.0,
    ) -> None:
        self._rest = rest
        self._account = account
        self._map = order_map
        self._clock = clock
        self._loop = loop
        self._order_entry = order_entry
        self._currency = currency
        self._timeout = call_timeout
        self._handlers: list[OrderEventHandler] = []
        self._events: queue.SimpleQueue[OrderEvent] = queue.SimpleQueue()
        self._tracker = EventTracker()
        self._lock = threading.RLock()
        self._sending: str | None = None  # the client id whose order call is in flight
        self._stream: NotificationStream | None = None
        self._auth: Authenticator | None = None

    # --- start-up and events ----------------------------------------------------------------

    @property
    def order_entry_problem(self) -> str | None:
        """Why orders cannot be placed, or None when the key may place them."""
        return None if self._order_entry == "partner" else PERSONAL_KEY_MESSAGE

    def subscribe(self, handler: OrderEventHandler) -> None:
        self._handlers.append(handler)

    def on_notification(self, note: m.Notification) -> None:
        """Turn one notifications-stream push into queued order events (any thread)."""
        if note.account_number is not None and note.account_number != self._account:
            return
        for event in self._events_for(note.orders, note.executions, reconciled=False):
            self._events.put(event)

    async def catch_up(self) -> None:
        """After the notifications stream reconnects (on its loop): what it pushed while
        down is lost, so read the last day's orders and executions and queue what changed.
        Progress and fills already seen are skipped, so a catch-up never counts twice."""
        since, until = self._clock.now() - timedelta(days=1), self._until_now()
        orders = await self._rest.orders(self._account, since, until)
        executions = await self._rest.executions(self._account, since, until)
        for event in self._events_for(tuple(orders), executions, reconciled=True):
            self._events.put(event)

    def pump(self, timeout: float = 0.0) -> int:
        """Deliver queued events to the handlers on this thread; wait up to ``timeout`` for
        the first one. Return how many were delivered."""
        delivered = 0
        try:
            event = self._events.get(timeout=timeout) if timeout > 0 else self._events.get_nowait()
        except queue.Empty:
            return 0
        while True:
            for handler in list(self._handlers):
                try:
                    handler(event)
                except Exception:
                    log.exception("order event handler failed on %s", type(event).__name__)
            delivered += 1
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                return delivered

    def _events_for(
        self, orders: tuple[m.BrokerOrder, ...], executions: tuple[m.Execution, ...], *,
        reconciled: bool,
    ) -> list[OrderEvent]:  # fmt: skip
        now = self._clock.now()
        with self._lock:
            mapped = [(o, self._resolve(o)) for o in orders]
            ours = [(o, row) for o, row in mapped if row is not None]
            out: list[OrderEvent] = []
            for order, row in ours:
                out += self._tracker.progress(order, row, now)
            for execution in executions:
                owner = self._row_for(execution.order_id, execution.order_chain_id)
                if owner is not None and self._tracker.first_fill(execution.id):
                    out.append(to_fill(execution, owner, now))
            for order, row in ours:
                out += self._tracker.final(order, row, now)
        return out

    # --- the order map ----------------------------------------------------------------------

    def _row_for(self, order_id: int, chain_id: int) -> MappedOrder | None:
        return self._map.by_order_id(order_id) or self._map.by_chain_id(chain_id)

    def _resolve(self, order: m.BrokerOrder, prefer: str | None = None) -> MappedOrder | None:
        """Our row for a Questrade order: by id, by chain, or by adopting a lost intent.

        Several intents may carry the same terms; the one being sent (or ``prefer``, the
        one being looked up) is tried first, so an older intent never takes its order."""
        with self._lock:  # the stream thread and the caller's may both adopt
            row = self._row_for(order.id, order.chain_id)
            if row is not None or order.state == "Replaced":
                return row
            first = prefer or self._sending
            intents = sorted(self._map.unbound(), key=lambda i: i.client_order_id != first)
            for intent in intents:
                if intent.account == self._account and matches(intent, order):
                    now = self._clock.now()
                    self._map.bind(intent.client_order_id, order.id, order.chain_id, now)
                    return self._map.get(intent.client_order_id)
            return None

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            return self._loop.run(coro, self._timeout)
        except (QuestradeTransientError, TimeoutError) as exc:
            raise TransientBrokerError(f"Questrade: {exc or 'no answer in time'}") from exc

    def _require_partner(self) -> None:
        if self._order_entry != "partner":
            raise RejectedError(PERSONAL_KEY_MESSAGE)

    # --- order calls ------------------------------------------------------------------------

    def submit(self, request: OrderRequest) -> BrokerOrder:
        self._require_partner()
        existing = self._map.get(request.client_order_id)
        if existing is not None:
            report = self.get_order_by_client_id(request.client_order_id)
            if report is not None:
                return report
            if existing.order_id is not None:
                raise RejectedError(f"order {request.client_order_id} is unknown to Questrade")
        now = self._clock.now()
        try:
            symbol = self._run(self._rest.resolve([request.ticker])).get(request.ticker)
        except QuestradeRequestError as exc:
            symbol, problem = None, f"{request.ticker}: {exc}"
        else:
            problem = f"Questrade does not know the symbol {request.ticker}"
        if symbol is None:  # refused before anything was sent: a report, not an exception
            _, unsent = order_body(request, self._account, 0, now)
            return to_broker_order(None, unsent, now, reject_reason=problem)
        body, intent = order_body(request, self._account, symbol.symbol_id, now)
        intent = self._map.record_intent(intent)
        self._sending = request.client_order_id
        try:
            order_id, records = self._run(self._rest.place_order(self._account, body))
        except QuestradeRequestError as exc:  # refused, possibly under HTTP 200: look first
            found = self.get_order_by_client_id(request.client_order_id)
            if found is not None:
                return found
            self._map.forget(request.client_order_id)  # dead: it must never adopt an order
            return to_broker_order(None, intent, self._clock.now(), reject_reason=str(exc))
        finally:
            self._sending = None
        chain = records[0].chain_id if records else order_id
        with self._lock:
            taken = self._map.by_order_id(order_id)
            if taken is not None and taken.client_order_id != request.client_order_id:
                log.error("order %s was matched to %s by its terms; it is %s's",
                          order_id, taken.client_order_id, request.client_order_id)  # fmt: skip
                self._map.unbind(taken.client_order_id)
            self._map.bind(request.client_order_id, order_id, chain, self._clock.now())
        row = self._map.get(request.client_order_id)
        if row is None or not records:
            report = self.get_order_by_client_id(request.client_order_id)
            if report is None:
                raise TransientBrokerError(f"order {order_id} placed but not found")
            return report
        return to_broker_order(records[0], row, self._clock.now())

    def cancel(self, client_order_id: ClientOrderId) -> BrokerOrder:
        self._require_partner()
        row = self._map.get(client_order_id)
        if row is None or row.order_id is None:
            raise RejectedError(f"order {client_order_id} is not known to Questrade")
        self._run(self._rest.cancel_order(self._account, row.order_id))
        report = self.get_order_by_client_id(client_order_id)
        if report is None:
            raise TransientBrokerError(f"order {client_order_id} vanished after its cancel")
        return report

    def replace(
        self,
        client_order_id: ClientOrderId,
        *,
        quantity: int | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> BrokerOrder:
        self._require_partner()
        row = self._map.get(client_order_id)
        if row is None or row.order_id is None:
            raise RejectedError(f"order {client_order_id} is not known to Questrade")
        new_limit, new_stop = limit_price or row.limit_price, stop_price or row.stop_price
        terms: dict[str, Any] = {"quantity": quantity or row.quantity,
                                 "limit_price": new_limit, "stop_price": new_stop}  # fmt: skip
        body = {"accountNumber": self._account, "symbolId": row.symbol_id,
                "quantity": terms["quantity"], "orderType": row.order_type,
                "timeInForce": row.time_in_force, "action": row.side,
                "limitPrice": _num(new_limit), "stopPrice": _num(new_stop),
                "primaryRoute": "AUTO", "secondaryRoute": "AUTO"}  # fmt: skip
        try:
            new_id, records = self._run(self._rest.place_order(self._account, body, row.order_id))
        except QuestradeOrderError as exc:
            raise RejectedError(f"Questrade refused to replace {client_order_id}: {exc}") from exc
        chain = records[0].chain_id if records else (row.chain_id or row.order_id)
        self._map.bind(client_order_id, new_id, chain, self._clock.now(), **terms)
        report = self.get_order_by_client_id(client_order_id)
        if report is None:
            raise TransientBrokerError(f"order {client_order_id} vanished after its replace")
        return report

    # --- truth on demand --------------------------------------------------------------------

    def get_order(self, broker_order_id: BrokerOrderId) -> BrokerOrder | None:
        if not broker_order_id.isdigit():
            return None
        order = self._run(self._rest.order(self._account, int(broker_order_id)))
        if order is None:
            return None
        return to_broker_order(order, self._resolve(order), self._clock.now())

    def get_order_by_client_id(self, client_order_id: ClientOrderId) -> BrokerOrder | None:
        row = self._map.get(client_order_id)
        if row is None:
            return None
        if row.order_id is None:  # the reply was lost: find it among the day's orders
            since = row.sent_at - timedelta(minutes=5)
            for order in self._run(self._rest.orders(self._account, since, self._until_now())):
                self._resolve(order, prefer=client_order_id)
            row = self._map.get(client_order_id)
            if row is None or row.order_id is None:
                return None
        found = self._run(self._rest.order(self._account, row.order_id))
        return to_broker_order(found, row, self._clock.now()) if found is not None else None

    def list_open_orders(self) -> list[BrokerOrder]:
        day_ago = self._clock.now() - timedelta(days=1)
        orders = self._run(self._rest.orders(self._account, day_ago, self._until_now(), "Open"))
        out = []
        for order in orders:
            row = self._resolve(order)
            out.append(to_broker_order(order, row, self._clock.now()))
        return out

    def fills_since(self, since: datetime) -> list[OrderFilled]:
        executions = self._run(self._rest.executions(self._account, since, self._until_now()))
        now = self._clock.now()
        fills = [to_fill(e, self._row_for(e.order_id, e.order_chain_id), now) for e in executions]
        return sorted((f for f in fills if f.ts_event >= since), key=lambda f: f.ts_event)

    def _until_now(self) -> datetime:
        """The end of a "until now" query: query times go to the second, so the current
        second is included whole (an order placed or filled in it would be missed)."""
        return self._clock.now() + timedelta(seconds=1)

    def positions(self) -> list[BrokerPosition]:
        rows = self._run(self._rest.positions(self._account))
        return [
            BrokerPosition(
                ticker=Ticker(p.symbol),
                quantity=int(p.open_quantity),
                avg_price=p.average_entry_price,
            )  # fmt: skip
            for p in rows
            if p.open_quantity != 0
        ]

    def balances(self) -> AccountBalances:
        doc = self._run(self._rest.balances(self._account))
        rows = [b for b in doc.combined if b.currency == self._currency] or list(doc.combined)
        if not rows:
            raise TransientBrokerError("Questrade returned no combined balances")
        b = rows[0]
        return AccountBalances(cash=b.cash, buying_power=b.buying_power, equity=b.total_equity)

    def run_async(self, fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run ``fn()`` on the broker's loop (e.g. to start the notifications stream)."""
        return self._loop.run(fn(), self._timeout)

    @classmethod
    def from_config(
        cls, config: QuestradeConfig, store: Store, clock: Clock, *, account: str | None = None
    ) -> QuestradeBroker:
        """Connect: token store, REST client, the account (default: the primary one) and
        the notifications stream, on a private loop thread. Logs at start-up, as a warning,
        that orders cannot be placed when ``order_entry`` is not ``partner``."""
        loop = LoopThread()

        async def connect() -> tuple[QuestradeRest, str, Authenticator]:
            auth = authenticator_from_config(config, clock)
            rest = QuestradeRest(auth, clock=clock, timeout=config.request_timeout_s)
            accounts = (await rest.accounts()).accounts
            chosen = account or next((a.number for a in accounts if a.is_primary), None)
            if chosen is None:
                raise RejectedError("Questrade reports no account for this token")
            return rest, chosen, auth

        rest, number, auth = loop.run(connect(), config.request_timeout_s * 3)
        broker = cls(rest, account=number, order_map=OrderMap(store), clock=clock, loop=loop,
                     order_entry=config.order_entry)  # fmt: skip
        if broker.order_entry_problem:
            log.warning("Questrade: %s", broker.order_entry_problem)
        notes = NotificationStream(rest, auth, clock=clock, on_notification=broker.on_notification,
                                   on_reconnect=broker.catch_up)  # fmt: skip

        async def start() -> None:
            notes.start()

        loop.run(start(), 5)
        broker._stream, broker._auth = notes, auth
        return broker

    def close(self) -> None:
        """Stop the notifications stream and the loop thread."""

        async def stop() -> None:
            if self._stream is not None:
                await self._stream.stop()
            await self._rest.aclose()
            if self._auth is not None:
                await self._auth.aclose()

        try:
            self._loop.run(stop(), self._timeout)
        finally:
            self._loop.stop()


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)
