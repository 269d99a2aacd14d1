"""Fill-anchored brackets: a bracket's stop and target re-priced from the entry's fill.

Owns one pure rule. By default (``trade_plan.anchor: signal``) the children keep the prices
the trade plan gave at the signal (from the scan's last price). With ``anchor: fill`` and a
percent stop and target, the children are re-priced from the entry's average fill price
before they go to the venue: stop = fill x (1 - stop_pct %), target = fill x (1 +
target_pct %), each rounded half-up to the tick as the trade plan rounds (the reference
strategy's ``floor((cents*95+50)/100)``). It must never call the broker or the store.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from quant_agent.config import TradePlanConfig
from quant_agent.core.enums import OrderRole
from quant_agent.core.money import round_to_tick, to_decimal
from quant_agent.core.order import Order

# (entry's average fill price, child) -> (limit_price, stop_price) for the child
Reanchor = Callable[[Decimal, Order], tuple[Decimal | None, Decimal | None]]


def fill_anchored(plan: TradePlanConfig) -> Reanchor | None:
    """The re-pricing rule ``plan`` asks for, None when the children keep their prices."""
    if plan.anchor != "fill":
        return None
    if plan.stop != "percent" or plan.target != "percent":
        raise ValueError("trade_plan.anchor 'fill' needs a percent stop and a percent target")
    down = 1 - to_decimal(plan.stop_pct) / 100
    up = 1 + to_decimal(plan.target_pct) / 100

    def reprice(fill: Decimal, child: Order) -> tuple[Decimal | None, Decimal | None]:
        if child.role is OrderRole.STOP_LOSS:
            return child.limit_price, round_to_tick(fill * down)
        if child.role is OrderRole.TAKE_PROFIT:
            return round_to_tick(fill * up), child.stop_price
        return child.limit_price, child.stop_price

    return reprice
