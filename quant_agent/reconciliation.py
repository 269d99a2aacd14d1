"""Reconciliation: a pure diff of what we recorded against what the broker reports.

Owns the comparison only: fills the venue reports that our store lacks (for orders we
know, to record as reconciled; for orders we never made, strays to alert on) and positions
whose quantity differs. It never writes, never calls the broker, never decides; the
executor turns the differences into ordinary events and risk events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass

from quant_agent.core.events import OrderFilled


@dataclass(frozen=True, slots=True)
class PositionMismatch:
    ticker: str
    local: int
    broker: int


@dataclass(frozen=True, slots=True)
class FillDiff:
    missing: tuple[OrderFilled, ...]  # of our orders, not yet recorded
    strays: tuple[OrderFilled, ...]  # of orders we never made


def diff_fills(
    reported: Iterable[OrderFilled], recorded_ids: Set[str], known_orders: Set[str]
) -> FillDiff:
    """Split the venue's fills we have not recorded into ours and strays."""
    missing: list[OrderFilled] = []
    strays: list[OrderFilled] = []
    for fill in reported:
        if fill.fill_id in recorded_ids:
            continue
        (missing if fill.client_order_id in known_orders else strays).append(fill)
    return FillDiff(tuple(missing), tuple(strays))


def diff_positions(local: Mapping[str, int], broker: Mapping[str, int]) -> list[PositionMismatch]:
    """Every ticker whose share count differs (absent counts as 0), sorted by ticker."""
    tickers = sorted(set(local) | set(broker))
    return [
        PositionMismatch(t, local.get(t, 0), broker.get(t, 0))
        for t in tickers
        if local.get(t, 0) != broker.get(t, 0)
    ]
