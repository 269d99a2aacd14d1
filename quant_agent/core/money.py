"""Decimal helpers for prices, cash and quantities.

Money never travels as a float through the core: values are converted once, here, with
NaN, infinity and booleans rejected, then rounded to the venue tick or to whole shares.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

ZERO = Decimal("0")
ONE = Decimal("1")
CENT = Decimal("0.01")
SUB_DOLLAR_TICK = Decimal("0.0001")
#: Scale (digits after the point) kept for prices and money in the database.
MONEY_SCALE = 6
MONEY_QUANTUM = Decimal(1).scaleb(-MONEY_SCALE)


class TickRounding(StrEnum):
    NEAREST = "NEAREST"  # half up
    DOWN = "DOWN"  # toward lower prices (a buy limit, a sell stop)
    UP = "UP"  # toward higher prices (a sell limit, a buy stop)


def to_decimal(value: object, *, field: str = "value") -> Decimal:
    """Convert ``value`` to a finite Decimal; floats go through ``str`` so 0.1 stays 0.1.

    Raises ``ValueError`` naming ``field`` for NaN, infinity, booleans and unparsable text.
    """
    if isinstance(value, bool):
        raise ValueError(f"{field}: a boolean is not a number")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{field}: {value!r} is not a finite number")
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{field}: {value!r} is not a number") from None
    else:
        raise ValueError(f"{field}: cannot convert {type(value).__name__} to a decimal number")
    if not result.is_finite():
        raise ValueError(f"{field}: {value!r} is not a finite number")
    return result


def tick_size(price: Decimal) -> Decimal:
    """Return the minimum price increment: 0.01 at or above one dollar, 0.0001 below."""
    return CENT if price >= ONE else SUB_DOLLAR_TICK


def round_to_tick(price: Decimal, rounding: TickRounding = TickRounding.NEAREST) -> Decimal:
    """Round a positive price to its tick (see ``tick_size``)."""
    if price <= ZERO:
        raise ValueError(f"price must be positive, got {price}")
    mode = {
        TickRounding.NEAREST: ROUND_HALF_UP,
        TickRounding.DOWN: ROUND_FLOOR,
        TickRounding.UP: ROUND_CEILING,
    }[rounding]
    rounded = price.quantize(tick_size(price), rounding=mode)
    # Rounding 0.99996 up crosses a dollar: re-round on the coarser tick of the result.
    if rounded >= ONE and tick_size(price) != CENT:
        rounded = rounded.quantize(CENT, rounding=mode)
    return rounded


def is_on_tick(price: Decimal) -> bool:
    """True when ``price`` is positive and already a multiple of its tick."""
    return price > ZERO and price == price.quantize(tick_size(price))


def whole_shares(value: Decimal | int) -> int:
    """Floor a non-negative amount of shares to a whole number."""
    amount = Decimal(value)
    if not amount.is_finite() or amount < ZERO:
        raise ValueError(f"share quantity must be finite and non-negative, got {value}")
    return int(amount.to_integral_value(rounding=ROUND_FLOOR))


def quantize_money(value: Decimal) -> Decimal:
    """Round to the stored money scale (6 decimals), half up; exact values pass unchanged."""
    return value.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_UP)


def pct_of(amount: Decimal, pct: Decimal | int | float) -> Decimal:
    """Return ``pct`` percent of ``amount`` (``pct`` 40 means 40 %)."""
    return amount * to_decimal(pct, field="pct") / Decimal(100)
