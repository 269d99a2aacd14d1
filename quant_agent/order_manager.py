"""The order manager: the one writer of orders, their events and their fills.

It owns the ``orders``, ``order_events`` and ``fills`` tables: creating orders (validated,
with a deterministic client order id, written NEW before anything leaves), submitting,
canceling and resizing them through the ``Broker`` protocol with retries, applying every
venue event through the ``Order`` state machine, and emulating brackets (see
``order_brackets.py``). It must never read the wall clock, talk to a venue other than
through the protocol, send a client order id twice (every retry and every resumption
first asks the broker for it), or count a fill id twice.

Broker events that arrive while the manager is inside one of its own calls are queued and
applied when that call finishes, so the manager is never re-entered half-way through. Like
the rest of the core it is not thread-safe: call it from the runner's loop only.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from quant_agent.bracket_anchor import Reanchor
from quant_agent.brokers.base import Broker, BrokerOrder, OrderRequest
from quant_agent.brokers.hours import order_window
from quant_agent.brokers.paper import CalendarFor, default_calendar_for
from quant_agent.config import OrdersConfig
from quant_agent.core.bus import EventBus
from quant_agent.core.clock import Clock
from quant_agent.core.enums import OrderRole, OrderStatus
from quant_agent.core.errors import (
    IllegalTransitionError,
    OperationalError,
    OrderValidationError,
    RejectedError,
    TransientBrokerError,
)
from quant_agent.core.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRequested,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    OrderUpdated,
)
from quant_agent.core.ids import ClientOrderId
from quant_agent.core.order import Order
from quant_agent.order_brackets import CancelOrder, ResizeOrder, SubmitOrder, plan_bracket
from quant_agent.order_creation import Bracket, OrderCreation
from quant_agent.storage.store import Store

__all__ = ["Bracket", "OrderManager"]

log = logging.getLogger(__name__)

Sleep = Callable[[float], None]
NEW_YORK = ZoneInfo("America/New_York")

#: Events after which a bracket's children may need activating, resizing or canceling.
_FAMILY_CHANGES = (OrderFilled, OrderCanceled, OrderExpired, OrderRejected)
#: Venue states of an order still working (a cancel never reached it).
_WORKING = (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)
#: Final-state events that repeat the state the order is already in.
_ALREADY: dict[type[OrderEvent], OrderStatus] = {
    OrderCanceled: OrderStatus.CANCELED,
    OrderExpired: OrderStatus.EXPIRED,
    OrderRejected: OrderStatus.REJECTED,
}


class OrderManager(OrderCreation):
    """Create, submit, cancel and track orders; record their fills."""

    def __init__(
        self,
        store: Store,
        broker: Broker,
        clock: Clock,
        *,
        config: OrdersConfig | None = None,
        sleep: Sleep = time.sleep,
        calendar_for: CalendarFor = default_calendar_for,
        bus: EventBus | None = None,
        reanchor: Reanchor | None = None,
    ) -> None:
        self._store = store
        self._reanchor = reanchor
        self._broker = broker
        self._clock = clock
        self._config = config or OrdersConfig()
        self._sleep = sleep
        self._calendar_for = calendar_for
        self._bus = bus
        self._queue: deque[OrderEvent] = deque()
        self._busy = False
        self._in_doubt: set[ClientOrderId] = set()  # calls that gave up, outcome unknown
        broker.subscribe(self._on_broker_event)

    # --- submission and cancellation ---------------------------------------------------

    def submit_order(self, coid: ClientOrderId) -> Order:
        """Send a NEW order (or resume one left SUBMITTED); return its state afterwards.

        The order is written SUBMITTED before the broker sees it. A DAY order the market
        cannot take is recorded REJECTED and ``OrderValidationError`` is raised. Transient
        broker errors are retried with backoff; each retry first asks the broker for the
        client order id, so the venue never gets it twice. When every try fails the order
        stays SUBMITTED (its fate unknown) and ``TransientBrokerError`` is raised;
        ``recover`` settles it later.
        """
        with self._operation():
            self._submit(self._load(coid))
        return self._load(coid)

    def _submit(self, order: Order) -> None:
        resumed = order.status is OrderStatus.SUBMITTED
        if order.status is OrderStatus.NEW:
            now = self._clock.now()
            window = order_window(self._calendar_for(order.ticker), now, order.time_in_force)
            if window.problem:
                self._process(OrderRejected(**self._stamp(order), reason=window.problem))
                raise OrderValidationError(f"order {order.client_order_id}: {window.problem}")
            self._process(OrderSubmitted(**self._stamp(order)))
        elif not resumed:
            return  # already at the venue: never send it again
        request = OrderRequest.from_order(self._load(order.client_order_id))
        with self._doubt_on_failure(order.client_order_id):
            report = self._call(
                lambda: self._broker.submit(request),
                lookup=lambda: self._broker.get_order_by_client_id(request.client_order_id),
                ask_first=resumed,
            )
        self._sync(report, reconciled=resumed)

    def cancel_order(self, coid: ClientOrderId) -> Order:
        """Cancel an order (a bracket entry unfilled takes its children with it)."""
        with self._operation():
            self._cancel(self._load(coid), "canceled on request")
        return self._load(coid)

    def _cancel(self, order: Order, reason: str) -> None:
        if order.status is OrderStatus.NEW:
            self._process(OrderCanceled(**self._stamp(order), reason=reason))
            return
        if not order.is_open:
            return
        if order.status is not OrderStatus.PENDING_CANCEL:  # else: retry one in doubt
            self._process(OrderCancelRequested(**self._stamp(order)))
        coid = order.client_order_id
        try:
            with self._doubt_on_failure(coid):
                report = self._call(
                    lambda: self._broker.cancel(coid),
                    lookup=lambda: self._closed_report(coid),
                )
        except RejectedError:
            found = self._broker.get_order_by_client_id(coid)
            if found is None:  # it never reached the venue: nothing to cancel there
                self._process(OrderCanceled(**self._stamp(order), reason=reason, reconciled=True))
                return
            report = found
        self._sync(report, reconciled=False)

    @contextmanager
    def _doubt_on_failure(self, coid: ClientOrderId) -> Iterator[None]:
        """A call that gives up leaves its order in doubt: ``follow_up`` settles it."""
        try:
            yield
        except TransientBrokerError:
            self._in_doubt.add(coid)
            raise

    def _closed_report(self, coid: ClientOrderId) -> BrokerOrder | None:
        report = self._broker.get_order_by_client_id(coid)
        return report if report is not None and not report.is_open else None

    def _resize(self, order: Order, quantity: int) -> None:
        if order.status is not OrderStatus.NEW:
            coid = order.client_order_id
            try:
                with self._doubt_on_failure(coid):
                    report = self._call(
                        lambda: self._broker.replace(coid, quantity=quantity),
                        lookup=lambda: self._resized_report(coid, quantity),
                    )
            except RejectedError as exc:
                log.warning("could not resize %s to %s: %s", coid, quantity, exc)
                return
            quantity = report.quantity
        self._process(
            OrderUpdated(
                **self._stamp(order),
                quantity=quantity,
                limit_price=order.limit_price,
                stop_price=order.stop_price,
            )  # fmt: skip
        )

    def _resized_report(self, coid: ClientOrderId, quantity: int) -> BrokerOrder | None:
        report = self._broker.get_order_by_client_id(coid)
        return report if report is not None and report.quantity == quantity else None

    def _call(
        self,
        action: Callable[[], BrokerOrder],
        *,
        lookup: Callable[[], BrokerOrder | None],
        ask_first: bool = False,
    ) -> BrokerOrder:
        """Run ``action`` with retries; before every retry, ``lookup`` may answer instead."""
        attempts = self._config.submit_attempts
        for attempt in range(1, attempts + 1):
            try:
                if attempt > 1 or ask_first:
                    found = lookup()
                    if found is not None:
                        return found
                return action()
            except TransientBrokerError as exc:
                if attempt == attempts:
                    log.error("broker still failing after %d tries: %s", attempts, exc)
                    raise
                delay = min(
                    self._config.backoff_initial_seconds * 2 ** (attempt - 1),
                    self._config.backoff_max_seconds,
                )
                log.warning("broker error (try %d of %d), retry in %.2fs: %s",
                            attempt, attempts, delay, exc)  # fmt: skip
                self._sleep(delay)
        raise AssertionError("unreachable")

    # --- venue reports and events ------------------------------------------------------

    def _sync(self, report: BrokerOrder, *, reconciled: bool) -> None:
        """Bring the local order in line with a venue report (ack, fills, final state)."""
        order = self._load(report.client_order_id)
        stamp = self._stamp(order, report.updated_at) | {"reconciled": reconciled}
        if order.status is OrderStatus.SUBMITTED:
            if report.status is OrderStatus.REJECTED:
                self._process(OrderRejected(**stamp, reason=report.reject_reason or "rejected"))
                return
            if report.status is not OrderStatus.SUBMITTED:
                self._process(OrderAccepted(**stamp, broker_order_id=report.broker_order_id))
        if report.filled_quantity > order.filled_quantity:
            # A day of margin: the venue's clock need not agree with ours.
            for fill in self._broker.fills_since(order.created_at - timedelta(days=1)):
                if fill.client_order_id == order.client_order_id:
                    self._process(replace(fill, reconciled=True))
        order = self._load(report.client_order_id)
        if order.is_open and report.status is OrderStatus.CANCELED:
            self._process(OrderCanceled(**stamp, reason=report.reject_reason or ""))
        elif order.is_open and report.status is OrderStatus.EXPIRED:
            self._process(OrderExpired(**stamp))

    def handle_fill(self, fill: OrderFilled) -> bool:
        """Record one execution; return False when its fill id was already recorded."""
        with self._operation():
            return self._process(fill)

    def _on_broker_event(self, event: OrderEvent) -> None:
        with self._operation():
            self._queue.append(event)

    @contextmanager
    def _operation(self) -> Iterator[None]:
        """Run one public call; queued broker events are applied when the outermost ends."""
        if self._busy:
            yield
            return
        self._busy = True
        try:
            yield
        finally:
            try:
                self._drain()
            finally:
                self._busy = False

    def _drain(self) -> None:
        """Apply every queued event; one that fails never stops the ones after it."""
        first: Exception | None = None
        while self._queue:
            event = self._queue.popleft()
            try:
                self._process(event)
            except Exception as exc:  # noqa: BLE001 - re-raised below, after the rest
                log.exception("order event %s failed", type(event).__name__)
                first = first or exc
        if first is not None:
            raise first

    def _process(self, event: OrderEvent) -> bool:
        """Apply one event (from the venue or our own), store it, then follow up brackets."""
        changed = self._record(event)
        if changed:
            if self._bus is not None:
                self._bus.publish(event)
            if isinstance(event, _FAMILY_CHANGES):
                self._follow_bracket(event.client_order_id)
        return changed

    def _record(self, event: OrderEvent) -> bool:
        with self._store.unit_of_work() as uow:
            if isinstance(event, OrderFilled):
                owner = uow.fills.client_order_id_of(event.fill_id)
                if owner is not None and owner != event.client_order_id:
                    raise OperationalError(
                        f"fill id {event.fill_id} of order {event.client_order_id} was already "
                        f"recorded for order {owner}: the venue reused an id (reset account?)"
                    )
                if owner is not None:
                    return False  # a duplicate execution report
            order = uow.orders.get(event.client_order_id)
            if order is None:
                log.error("event %s for unknown order %s ignored",
                          type(event).__name__, event.client_order_id)  # fmt: skip
                return False
            if isinstance(event, OrderAccepted) and order.broker_order_id is not None:
                return False  # a duplicate or late acknowledgement: nothing new
            if _ALREADY.get(type(event)) is order.status:
                return False  # the same final state reported twice (answer and event)
            try:
                changed = order.apply(event)
            except IllegalTransitionError:
                if isinstance(event, OrderFilled):
                    raise  # an overfill or a mismatched fill: never paper over it
                log.warning("ignored %s for order %s in %s",
                            type(event).__name__, order.client_order_id, order.status)  # fmt: skip
                return False
            if not changed:
                return False
            if isinstance(event, OrderFilled):
                uow.fills.add(event, recorded_at=self._clock.now())
            uow.order_events.append(event)
            uow.orders.save(order)
        return True

    # --- brackets ----------------------------------------------------------------------

    def _follow_bracket(self, coid: ClientOrderId) -> None:
        order = self._load(coid)
        entry = order if order.role is OrderRole.ENTRY else None
        if order.parent_client_order_id is not None:
            entry = self._load(order.parent_client_order_id)
        if entry is None:
            return
        with self._store.unit_of_work() as uow:
            children = uow.orders.list_children(entry.client_order_id)
        if not children:
            return
        failure: Exception | None = None
        for action in plan_bracket(entry, children):
            try:
                self._carry_out(action, entry)
            except TransientBrokerError as exc:  # try the sibling anyway; recover() re-arms
                log.error("bracket %s: %s failed: %s", entry.client_order_id, action, exc)
                failure = failure or exc
        if failure is not None:
            raise failure

    def _carry_out(self, action: CancelOrder | ResizeOrder | SubmitOrder, entry: Order) -> None:
        target = self._load(action.client_order_id)
        if isinstance(action, CancelOrder):
            self._cancel(target, action.reason)
        elif isinstance(action, ResizeOrder) and target.is_open:
            self._resize(target, action.quantity)
        elif isinstance(action, SubmitOrder):
            self._submit(self._anchored(target, entry))

    def _anchored(self, child: Order, entry: Order) -> Order:
        """A NEW child re-priced from the entry's fill when a ``reanchor`` rule is set."""
        fill = entry.avg_fill_price
        if self._reanchor is None or fill is None or child.status is not OrderStatus.NEW:
            return child
        limit, stop = self._reanchor(fill, child)
        if (limit, stop) == (child.limit_price, child.stop_price):
            return child
        self._process(OrderUpdated(**self._stamp(child), quantity=child.quantity,
                                   limit_price=limit, stop_price=stop))  # fmt: skip
        return self._load(child.client_order_id)

    # --- start-up ----------------------------------------------------------------------

    def recover(self) -> None:
        """Settle every open order with the venue after a start or a fault.

        An order left SUBMITTED is looked up by client id and sent only if the venue never
        got it; fills and final states the venue reports are applied (marked reconciled);
        bracket children are brought in line (e.g. activated after a crash right after the
        entry's fill). An entry or exit left NEW (a crash between storing and sending it)
        is sent if it was made this session, else canceled (it never left: stale).
        """
        with self._operation():
            for order in self.open_orders():
                if order.status is OrderStatus.NEW and order.parent_client_order_id is None:
                    self._send_unsent(order)
                    continue
                self._settle(order)

    def follow_up(self) -> None:
        """Finish, without a restart, what a broker fault left half-done: bracket children
        not yet sent (or sized) for a filled entry, submits and cancels that gave up with
        their outcome unknown. Asks the venue about those orders only; call it on a timer
        tick (an order merely waiting for its acknowledgement is left alone)."""
        with self._operation():
            for order in self.open_orders():
                coid = order.client_order_id
                if coid not in self._in_doubt and not (
                    order.status is OrderStatus.NEW and order.parent_client_order_id
                ):  # fmt: skip
                    continue
                try:
                    self._settle(self._load(coid))
                except TransientBrokerError:
                    self._in_doubt.add(coid)
                    raise
                self._in_doubt.discard(coid)

    def _settle(self, order: Order) -> None:
        if order.status is OrderStatus.NEW:
            self._follow_bracket(order.client_order_id)
            return
        report = self._broker.get_order_by_client_id(order.client_order_id)
        if report is None:
            if order.status is OrderStatus.SUBMITTED:
                self._submit(self._load(order.client_order_id))
            else:
                log.error("order %s (%s) is unknown at the venue",
                          order.client_order_id, order.status)  # fmt: skip
            return
        self._sync(report, reconciled=True)
        order = self._load(order.client_order_id)
        if order.status is OrderStatus.PENDING_CANCEL and report.status in _WORKING:
            self._cancel(order, "cancel retried: the venue still works it")
        self._follow_bracket(order.client_order_id)

    def _send_unsent(self, order: Order) -> None:
        today = self._clock.now().astimezone(NEW_YORK).date()
        if order.created_at.astimezone(NEW_YORK).date() != today:
            reason = "never sent: made in an earlier session, before a restart"
            self._process(OrderCanceled(**self._stamp(order), reason=reason))
            return
        try:
            self._submit(order)
        except OrderValidationError as exc:  # recorded REJECTED: the market cannot take it
            log.warning("unsent order %s not sent after a restart: %s", order.client_order_id, exc)

    # --- queries -----------------------------------------------------------------------

    def get_order(self, coid: ClientOrderId) -> Order | None:
        with self._store.unit_of_work() as uow:
            return uow.orders.get(coid)

    def get_order_status(self, coid: ClientOrderId) -> OrderStatus:
        return self._load(coid).status

    def open_orders(self) -> list[Order]:
        with self._store.unit_of_work() as uow:
            return uow.orders.list_open()

    def fills(self, coid: ClientOrderId | None = None) -> list[OrderFilled]:
        with self._store.unit_of_work() as uow:
            return uow.fills.list(client_order_id=coid)

    def _load(self, coid: ClientOrderId) -> Order:
        order = self.get_order(coid)
        if order is None:
            raise LookupError(f"no order {coid} in the store")
        return order

    def _stamp(self, order: Order, when: datetime | None = None) -> dict[str, Any]:
        now = self._clock.now()
        return {"ts_event": when or now, "ts_init": now, "client_order_id": order.client_order_id}
