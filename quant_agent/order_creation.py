"""Order creation: validated orders written NEW, with deterministic client order ids.

A mixin of ``OrderManager`` (the one writer of orders). It owns turning a request for an
order or a bracket into stored NEW rows, each named by ``client_order_id(*intent)`` so the
same intent (after a retry or a restart) finds the same order instead of making a copy.
It must never send anything to a broker: submission is ``OrderManager.submit_order``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass

from quant_agent.core.clock import Clock
from quant_agent.core.enums import OrderRole, OrderType, Side, TimeInForce
from quant_agent.core.errors import OrderValidationError
from quant_agent.core.ids import ClientOrderId, client_order_id
from quant_agent.core.order import Order
from quant_agent.order_validation import OrderSpec, validate_bracket, validate_order
from quant_agent.storage.store import Store, UnitOfWork


@dataclass(frozen=True, slots=True)
class Bracket:
    """An entry order and its two protective children, as created (all NEW)."""

    entry: Order
    stop_loss: Order
    take_profit: Order


class OrderCreation:
    """The ``create_*`` half of the order manager."""

    _store: Store
    _clock: Clock

    # --- creation (writes NEW rows; nothing leaves) -----------------------------------

    def create_market_order(
        self,
        ticker: str,
        side: Side | str,
        quantity: int,
        *,
        time_in_force: TimeInForce = TimeInForce.DAY,
        role: OrderRole = OrderRole.ENTRY,
        intent: Sequence[object] | None = None,
        signal_id: int | None = None,
    ) -> Order:
        """Create (NEW, stored) a market order; ``intent`` names it for its client id."""
        spec = validate_order(ticker=ticker, side=side, order_type=OrderType.MARKET,
                              quantity=quantity, time_in_force=time_in_force)  # fmt: skip
        return self._create(spec, role, intent, signal_id)

    def create_limit_order(
        self,
        ticker: str,
        side: Side | str,
        quantity: int,
        limit_price: object,
        *,
        time_in_force: TimeInForce = TimeInForce.DAY,
        role: OrderRole = OrderRole.ENTRY,
        intent: Sequence[object] | None = None,
        signal_id: int | None = None,
    ) -> Order:
        """Create (NEW, stored) a limit order."""
        spec = validate_order(ticker=ticker, side=side, order_type=OrderType.LIMIT,
                              quantity=quantity, limit_price=limit_price,
                              time_in_force=time_in_force)  # fmt: skip
        return self._create(spec, role, intent, signal_id)

    def create_stop_order(
        self,
        ticker: str,
        side: Side | str,
        quantity: int,
        stop_price: object,
        *,
        time_in_force: TimeInForce = TimeInForce.DAY,
        role: OrderRole = OrderRole.EXIT,
        intent: Sequence[object] | None = None,
        signal_id: int | None = None,
    ) -> Order:
        """Create (NEW, stored) a stop order: a market order once the stop trades."""
        spec = validate_order(ticker=ticker, side=side, order_type=OrderType.STOP,
                              quantity=quantity, stop_price=stop_price,
                              time_in_force=time_in_force)  # fmt: skip
        return self._create(spec, role, intent, signal_id)

    def create_stop_limit_order(
        self,
        ticker: str,
        side: Side | str,
        quantity: int,
        stop_price: object,
        limit_price: object,
        *,
        time_in_force: TimeInForce = TimeInForce.DAY,
        role: OrderRole = OrderRole.EXIT,
        intent: Sequence[object] | None = None,
        signal_id: int | None = None,
    ) -> Order:
        """Create (NEW, stored) a stop-limit order: a limit order once the stop trades."""
        spec = validate_order(ticker=ticker, side=side, order_type=OrderType.STOP_LIMIT,
                              quantity=quantity, stop_price=stop_price, limit_price=limit_price,
                              time_in_force=time_in_force)  # fmt: skip
        return self._create(spec, role, intent, signal_id)

    def create_bracket_order(
        self,
        ticker: str,
        entry: object,
        stop_loss: object,
        take_profit: object,
        quantity: int,
        *,
        side: Side | str = Side.BUY,
        entry_type: OrderType = OrderType.LIMIT,
        time_in_force: TimeInForce = TimeInForce.DAY,
        intent: Sequence[object] | None = None,
        signal_id: int | None = None,
    ) -> Bracket:
        """Create a bracket: the entry (a limit at ``entry``, or a market order when
        ``entry_type`` is MARKET, ``entry`` then being the reference price) and its GTC
        stop-loss (stop) and take-profit (limit) children, all NEW, in one transaction."""
        spec = validate_order(
            ticker=ticker, side=side, order_type=entry_type, quantity=quantity,
            limit_price=entry if entry_type is OrderType.LIMIT else None,
            time_in_force=time_in_force,
        )  # fmt: skip
        exit_side = spec.side.opposite
        stop = validate_order(ticker=ticker, side=exit_side, order_type=OrderType.STOP,
                              quantity=quantity, stop_price=stop_loss,
                              time_in_force=TimeInForce.GTC)  # fmt: skip
        target = validate_order(ticker=ticker, side=exit_side, order_type=OrderType.LIMIT,
                                quantity=quantity, limit_price=take_profit,
                                time_in_force=TimeInForce.GTC)  # fmt: skip
        reference = validate_order(ticker=ticker, side=side, order_type=OrderType.LIMIT,
                                   quantity=quantity, limit_price=entry).limit_price  # fmt: skip
        assert reference is not None and stop.stop_price and target.limit_price
        validate_bracket(spec.side, reference, stop.stop_price, target.limit_price)
        parts = tuple(intent) if intent else self._default_intent(spec)
        entry_id = client_order_id(*parts)
        with self._store.unit_of_work() as uow:
            orders = (
                self._add(uow, spec, entry_id, OrderRole.ENTRY, None, signal_id),
                self._add(uow, stop, client_order_id(entry_id, OrderRole.STOP_LOSS),
                          OrderRole.STOP_LOSS, entry_id, signal_id),
                self._add(uow, target, client_order_id(entry_id, OrderRole.TAKE_PROFIT),
                          OrderRole.TAKE_PROFIT, entry_id, signal_id),
            )  # fmt: skip
        return Bracket(*orders)

    def _create(
        self,
        spec: OrderSpec,
        role: OrderRole,
        intent: Sequence[object] | None,
        signal_id: int | None,
    ) -> Order:
        coid = client_order_id(*(tuple(intent) if intent else self._default_intent(spec)))
        with self._store.unit_of_work() as uow:
            return self._add(uow, spec, coid, role, None, signal_id)

    def _default_intent(self, spec: OrderSpec) -> tuple[object, ...]:
        """Without an intent from the caller: the terms, the time and the orders stored so
        far, so two identical orders made at the same instant still get distinct ids.
        Pass an intent (e.g. the signal id and role) to make the id survive a restart."""
        with self._store.unit_of_work() as uow:
            stored = uow.orders.count()
        return ("order", stored, *astuple(spec), self._clock.now().isoformat())

    def _add(
        self,
        uow: UnitOfWork,
        spec: OrderSpec,
        coid: ClientOrderId,
        role: OrderRole,
        parent: ClientOrderId | None,
        signal_id: int | None,
    ) -> Order:
        """Store a NEW order; the same intent again returns the stored order (no copy)."""
        order = Order(
            client_order_id=coid, ticker=spec.ticker, side=spec.side,
            order_type=spec.order_type, quantity=spec.quantity, limit_price=spec.limit_price,
            stop_price=spec.stop_price, time_in_force=spec.time_in_force, role=role,
            parent_client_order_id=parent, signal_id=signal_id, created_at=self._clock.now(),
        )  # fmt: skip
        existing = uow.orders.get(coid)
        if existing is None:
            uow.orders.add(order)
            return order
        terms = ("ticker", "side", "order_type", "limit_price", "stop_price", "role")
        if any(getattr(existing, k) != getattr(order, k) for k in terms):
            raise OrderValidationError(
                f"client order id {coid} already names a different order; pass a distinct intent"
            )
        return existing
