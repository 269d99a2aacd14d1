"""The Position aggregate: shares held in one ticker, built only from fills.

Cost basis is kept exactly (sum of price x quantity of the open shares); a partial close
takes a proportional share of it, rounded to the money scale, and a full close takes all of
it, so the realized P&L over a position's life is exactly sells - buys. Commissions are
kept apart: ``net_realized_pnl`` subtracts them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from quant_agent.core.enums import ExitReason, PositionStatus
from quant_agent.core.events import OrderFilled
from quant_agent.core.ids import FillId, Ticker
from quant_agent.core.money import ZERO, quantize_money


@dataclass(slots=True, kw_only=True)
class Position:
    """A long (quantity > 0) or short (quantity < 0) holding; flat when quantity is 0."""

    ticker: Ticker
    quantity: int = 0
    cost_basis: Decimal = ZERO  # signed: positive for a long, negative for a short
    realized_pnl: Decimal = ZERO  # gross of commissions
    commission: Decimal = ZERO
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    fill_ids: set[FillId] = field(default_factory=set)
    # What the trade plan attached to the holding; the fills never change these.
    position_id: int | None = None
    signal_id: int | None = None
    sector: str | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    last_price: Decimal | None = None
    exit_reason: ExitReason | None = None

    @property
    def status(self) -> PositionStatus:
        return PositionStatus.OPEN if self.quantity != 0 else PositionStatus.CLOSED

    @property
    def is_open(self) -> bool:
        return self.quantity != 0

    @property
    def avg_entry_price(self) -> Decimal | None:
        """Average price of the open shares (6 decimals), None when flat."""
        if self.quantity == 0:
            return None
        return quantize_money(self.cost_basis / self.quantity)

    @property
    def net_realized_pnl(self) -> Decimal:
        return self.realized_pnl - self.commission

    def market_value(self, mark: Decimal) -> Decimal:
        return mark * self.quantity

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        """P&L of the open shares if they were closed at ``mark`` (before commissions)."""
        return mark * self.quantity - self.cost_basis

    def apply(self, fill: OrderFilled) -> bool:
        """Apply one execution; return False if this fill id was already applied."""
        if fill.ticker != self.ticker:
            raise ValueError(f"fill for {fill.ticker} applied to position in {self.ticker}")
        if fill.fill_id in self.fill_ids:
            return False
        signed = fill.side.sign * fill.quantity
        if self.quantity == 0:
            self.opened_at = fill.ts_event
            self.closed_at = None
        if self.quantity == 0 or (self.quantity > 0) == (signed > 0):
            self.quantity += signed
            self.cost_basis += fill.price * signed
        else:
            closing = min(abs(signed), abs(self.quantity))
            self._close(closing, fill.price)
            opening = abs(signed) - closing
            if opening:
                self.quantity = fill.side.sign * opening
                self.cost_basis = fill.price * self.quantity
                self.opened_at = fill.ts_event
            elif self.quantity == 0:
                self.closed_at = fill.ts_event
        self.commission += fill.commission
        self.fill_ids.add(fill.fill_id)
        return True

    def _close(self, shares: int, price: Decimal) -> None:
        direction = 1 if self.quantity > 0 else -1
        if shares == abs(self.quantity):
            removed = self.cost_basis
        else:
            removed = quantize_money(self.cost_basis * shares / abs(self.quantity))
        self.realized_pnl += price * shares * direction - removed
        self.cost_basis -= removed
        self.quantity -= shares * direction
