"""Emulated brackets: what to do with a bracket's children after any change to the family.

A bracket is an entry plus a stop-loss and a take-profit child (both closing the entry's
side), created NEW with the entry and linked one-cancels-other. This module owns one pure
rule, applied after every event of an entry or a child; it must never call the broker or
the store (the order manager carries out the actions it returns):

- Before the entry's first fill the children wait (NEW); if the entry ends unfilled
  (canceled, rejected, expired) they are canceled.
- The protected quantity is what the entry filled minus what the children have filled.
  Every open child is sized so its remaining quantity equals it: a partial entry fill
  sizes the children to the filled quantity, a partial exit shrinks the sibling, and a
  protected quantity of zero (one child filled) cancels the sibling.
- Once a child has filled anything, the entry's unfilled remainder is canceled, so no new
  shares arrive unprotected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from quant_agent.core.enums import OrderStatus
from quant_agent.core.ids import ClientOrderId
from quant_agent.core.order import Order


@dataclass(frozen=True, slots=True)
class CancelOrder:
    client_order_id: ClientOrderId
    reason: str


@dataclass(frozen=True, slots=True)
class ResizeOrder:
    client_order_id: ClientOrderId
    quantity: int


@dataclass(frozen=True, slots=True)
class SubmitOrder:
    client_order_id: ClientOrderId


BracketAction = CancelOrder | ResizeOrder | SubmitOrder


def _cancelable(order: Order) -> bool:
    return order.is_open and order.status is not OrderStatus.PENDING_CANCEL


def plan_bracket(entry: Order, children: Sequence[Order]) -> list[BracketAction]:
    """Return the actions that bring the children in line with the rule above."""
    if entry.filled_quantity == 0:
        if entry.is_open:
            return []
        reason = f"bracket entry {entry.client_order_id} ended {entry.status} unfilled"
        return [CancelOrder(c.client_order_id, reason) for c in children if _cancelable(c)]
    exited = sum(c.filled_quantity for c in children)
    protected = entry.filled_quantity - exited
    actions: list[BracketAction] = []
    if exited > 0 and _cancelable(entry):
        actions.append(CancelOrder(entry.client_order_id, "a bracket child filled (OCO)"))
    for child in children:
        if not _cancelable(child):
            continue
        if protected <= 0:
            actions.append(CancelOrder(child.client_order_id, "sibling filled (OCO)"))
            continue
        target = child.filled_quantity + protected
        if child.quantity != target:
            actions.append(ResizeOrder(child.client_order_id, target))
        if child.status is OrderStatus.NEW:
            actions.append(SubmitOrder(child.client_order_id))
    return actions
