"""Order validation: the rules an order must pass before anything is written or sent.

Pure functions over plain values. They own the wording of every validation error, each of
which names the field, the value and what is allowed. They must never touch the store, the
broker or the clock (the market-hours rule, which needs the time, lives in
``brokers/hours.py`` and is applied by the order manager at submission).

Rules: a known side, order type and time in force; a positive whole quantity; prices
finite, positive and on the tick (0.01 at or above $1, 0.0001 below); exactly the prices
the type needs (LIMIT a limit, STOP a stop, STOP_LIMIT both, MARKET none) and a stop-limit
whose limit can be reached once triggered; a bracket's stop beyond and target past its
entry (long: stop < entry < take profit; short: the reverse).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from quant_agent.core.enums import OrderType, Side, TimeInForce
from quant_agent.core.errors import OrderValidationError
from quant_agent.core.ids import Ticker
from quant_agent.core.ids import ticker as make_ticker
from quant_agent.core.money import is_on_tick, round_to_tick, tick_size, to_decimal

E = TypeVar("E", Side, OrderType, TimeInForce)


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderSpec:
    """The validated terms of one order."""

    ticker: Ticker
    side: Side
    order_type: OrderType
    quantity: int
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.DAY


def _enum(kind: type[E], value: object, field: str) -> E:
    try:
        return kind(value)  # type: ignore[arg-type]
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise OrderValidationError(f"{field}: {value!r} is not one of {allowed}") from None


def check_quantity(value: object) -> int:
    """Return ``value`` as a positive whole number of shares, or raise saying why not."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise OrderValidationError(
            f"quantity: must be a positive whole number of shares, got {value!r}"
        )
    if value != int(value) or value <= 0:
        raise OrderValidationError(
            f"quantity: must be a positive whole number of shares, got {value}"
        )
    return int(value)


def check_price(value: object, field: str) -> Decimal:
    """Return ``value`` as a positive price on its tick, or raise saying why not."""
    try:
        price = to_decimal(value, field=field)
    except ValueError as exc:
        raise OrderValidationError(str(exc)) from None
    if price <= 0:
        raise OrderValidationError(f"{field}: must be positive, got {price}")
    if not is_on_tick(price):
        raise OrderValidationError(
            f"{field}: {price} is not on the {tick_size(price)} tick (0.01 at or above $1, "
            f"0.0001 below); the nearest valid price is {round_to_tick(price)}"
        )
    return price


def _optional_price(value: object, field: str) -> Decimal | None:
    return None if value is None else check_price(value, field)


def _check_prices_match_type(
    order_type: OrderType, side: Side, limit: Decimal | None, stop: Decimal | None
) -> None:
    needs_limit = order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    needs_stop = order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
    if needs_limit and limit is None:
        raise OrderValidationError(f"limit_price: a {order_type} order needs one")
    if not needs_limit and limit is not None:
        raise OrderValidationError(f"limit_price: a {order_type} order takes none, got {limit}")
    if needs_stop and stop is None:
        raise OrderValidationError(f"stop_price: a {order_type} order needs one")
    if not needs_stop and stop is not None:
        raise OrderValidationError(f"stop_price: a {order_type} order takes none, got {stop}")
    if order_type is OrderType.STOP_LIMIT and limit is not None and stop is not None:
        if (side is Side.BUY and limit < stop) or (side is Side.SELL and limit > stop):
            where = "below" if side is Side.BUY else "above"
            raise OrderValidationError(
                f"limit_price: a {side} STOP_LIMIT's limit {limit} is {where} its stop "
                f"{stop}, so it could not fill when triggered"
            )


def validate_order(
    *,
    ticker: object,
    side: object,
    order_type: object,
    quantity: object,
    limit_price: object = None,
    stop_price: object = None,
    time_in_force: object = TimeInForce.DAY,
) -> OrderSpec:
    """Check every rule above and return the normalised terms, or raise the first failure."""
    try:
        symbol = make_ticker(ticker)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise OrderValidationError(f"ticker: {exc}") from None
    kind = _enum(OrderType, order_type, "order_type")
    direction = _enum(Side, side, "side")
    limit = _optional_price(limit_price, "limit_price")
    stop = _optional_price(stop_price, "stop_price")
    _check_prices_match_type(kind, direction, limit, stop)
    return OrderSpec(
        ticker=symbol,
        side=direction,
        order_type=kind,
        quantity=check_quantity(quantity),
        limit_price=limit,
        stop_price=stop,
        time_in_force=_enum(TimeInForce, time_in_force, "time_in_force"),
    )


def validate_bracket(side: Side, entry: Decimal, stop_loss: Decimal, take_profit: Decimal) -> None:
    """Raise unless the stop and the target sit on the right sides of the entry."""
    if side is Side.BUY:
        if not stop_loss < entry:
            raise OrderValidationError(
                f"stop_loss: {stop_loss} must be below the entry {entry} for a long bracket"
            )
        if not take_profit > entry:
            raise OrderValidationError(
                f"take_profit: {take_profit} must be above the entry {entry} for a long bracket"
            )
        return
    if not stop_loss > entry:
        raise OrderValidationError(
            f"stop_loss: {stop_loss} must be above the entry {entry} for a short bracket"
        )
    if not take_profit < entry:
        raise OrderValidationError(
            f"take_profit: {take_profit} must be below the entry {entry} for a short bracket"
        )
