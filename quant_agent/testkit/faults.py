"""A fault-injecting broker wrapper and a recording sleep, for tests of what breaks.

``FaultyBroker`` wraps any ``Broker`` and injects the faults venues really produce: a
submit that times out after the venue accepted it, bursts of transient errors (429, 5xx)
before a call reaches the venue, duplicated fill events, and fills delivered before their
acknowledgement. It records which client ids really reached the venue, so a test can
assert that nothing was sent twice. Test support only: production code must never import
it, and it never changes the wrapped venue's behaviour beyond the armed faults.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import datetime
from decimal import Decimal

from quant_agent.brokers.base import (
    AccountBalances,
    Broker,
    BrokerOrder,
    BrokerPosition,
    OrderEventHandler,
    OrderRequest,
)
from quant_agent.core.enums import OrderStatus
from quant_agent.core.errors import TransientBrokerError
from quant_agent.core.events import OrderAccepted, OrderEvent, OrderFilled
from quant_agent.core.ids import BrokerOrderId, ClientOrderId


class RecordingSleep:
    """A ``sleep`` that returns at once and remembers each requested delay."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class FaultyBroker:
    """Forward every call to ``inner``, injecting the faults armed on this object."""

    def __init__(self, inner: Broker) -> None:
        self.inner = inner
        self.supports_native_brackets = inner.supports_native_brackets
        #: Client ids in the order their submit reached the venue.
        self.venue_submits: list[ClientOrderId] = []
        self.calls: Counter[str] = Counter()
        self.duplicate_fills = False
        self.fills_before_acks = False
        self._timeouts_after_submit = 0
        self._errors_before: Counter[str] = Counter()
        self._error_message = "HTTP 429 Too Many Requests"
        self._handlers: list[OrderEventHandler] = []
        self._held_acks: dict[ClientOrderId, OrderAccepted] = {}
        inner.subscribe(self._forward)

    # --- arming faults -----------------------------------------------------------------

    def time_out_after_submit(self, times: int = 1) -> None:
        """The next ``times`` submits reach the venue, then raise as if the reply was lost."""
        self._timeouts_after_submit = times

    def fail_before(self, method: str, times: int, message: str = "HTTP 429") -> None:
        """The next ``times`` calls of ``method`` raise before reaching the venue."""
        self._errors_before[method] = times
        self._error_message = message

    def pending_errors(self, method: str) -> int:
        """How many errors are still armed for ``method``."""
        return self._errors_before[method]

    def disarm(self) -> None:
        """Arm nothing more and deliver every acknowledgement still held back."""
        self._timeouts_after_submit = 0
        self._errors_before.clear()
        self.duplicate_fills = self.fills_before_acks = False
        self.release_acks()

    def _maybe_fail(self, method: str) -> None:
        self.calls[method] += 1
        if self._errors_before[method] > 0:
            self._errors_before[method] -= 1
            raise TransientBrokerError(f"{method}: {self._error_message}")

    # --- events ------------------------------------------------------------------------

    def subscribe(self, handler: OrderEventHandler) -> None:
        if handler not in self._handlers:
            self._handlers.append(handler)

    def _deliver(self, event: OrderEvent) -> None:
        for handler in list(self._handlers):
            handler(event)

    def _forward(self, event: OrderEvent) -> None:
        if self.fills_before_acks and isinstance(event, OrderAccepted):
            self._held_acks[event.client_order_id] = event
            return
        self._deliver(event)
        if isinstance(event, OrderFilled):
            if self.duplicate_fills:
                self._deliver(event)
            held = self._held_acks.pop(event.client_order_id, None)
            if held is not None:
                self._deliver(held)

    def release_acks(self) -> None:
        """Deliver every acknowledgement still held back."""
        held, self._held_acks = self._held_acks, {}
        for event in held.values():
            self._deliver(event)

    # --- the protocol ------------------------------------------------------------------

    def submit(self, request: OrderRequest) -> BrokerOrder:
        self._maybe_fail("submit")
        self.venue_submits.append(request.client_order_id)
        report = self.inner.submit(request)
        if self._timeouts_after_submit > 0:
            self._timeouts_after_submit -= 1
            raise TransientBrokerError("submit: read timeout (the venue may have the order)")
        if self.fills_before_acks and report.status is OrderStatus.ACCEPTED:
            return dataclasses.replace(report, status=OrderStatus.SUBMITTED)
        return report

    def cancel(self, client_order_id: ClientOrderId) -> BrokerOrder:
        self._maybe_fail("cancel")
        return self.inner.cancel(client_order_id)

    def replace(
        self,
        client_order_id: ClientOrderId,
        *,
        quantity: int | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> BrokerOrder:
        self._maybe_fail("replace")
        return self.inner.replace(
            client_order_id, quantity=quantity, limit_price=limit_price, stop_price=stop_price
        )

    def get_order(self, broker_order_id: BrokerOrderId) -> BrokerOrder | None:
        self._maybe_fail("get_order")
        return self.inner.get_order(broker_order_id)

    def get_order_by_client_id(self, client_order_id: ClientOrderId) -> BrokerOrder | None:
        self._maybe_fail("get_order_by_client_id")
        return self.inner.get_order_by_client_id(client_order_id)

    def list_open_orders(self) -> list[BrokerOrder]:
        self._maybe_fail("list_open_orders")
        return self.inner.list_open_orders()

    def fills_since(self, since: datetime) -> list[OrderFilled]:
        self._maybe_fail("fills_since")
        return self.inner.fills_since(since)

    def positions(self) -> list[BrokerPosition]:
        self._maybe_fail("positions")
        return self.inner.positions()

    def balances(self) -> AccountBalances:
        self._maybe_fail("balances")
        return self.inner.balances()
