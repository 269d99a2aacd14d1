"""The position manager: the one writer of ``positions`` and ``live_trades``.

Positions are built only from recorded fills. ``sync_fills`` applies, in the order they
were recorded, every row of the ``fills`` table after a cursor kept in ``system_state``;
each fill's position row, its trade row (when it closes the position) and the cursor
commit in one transaction. The live path (a fill event) and crash recovery (fills the
order manager recorded before the process died) are therefore the same call, and a fill
is never applied twice nor lost. Marks from validated quotes are kept in memory (the hot
path never touches the database) and written with the equity snapshots.

Exit reasons: a stop-loss or take-profit child's fill closes with that reason; an exit the
executor asked for (max hold, signal reversal, manual) is written on the position first
(``mark_exit``), so the reason survives a crash between the request and the fill. It must
never place or cancel orders, nor read the wall clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from quant_agent.config import TradingConfig
from quant_agent.core.clock import Clock
from quant_agent.core.enums import ExitReason, OrderRole, Side
from quant_agent.core.events import Event, OrderFilled, PositionClosed, PositionOpened
from quant_agent.core.ids import Ticker
from quant_agent.core.market import Quote
from quant_agent.core.money import ZERO, quantize_money
from quant_agent.core.order import Order
from quant_agent.core.position import Position
from quant_agent.core.records import TradeRecord
from quant_agent.market.calendar import MarketCalendar
from quant_agent.storage.store import Store, UnitOfWork

log = logging.getLogger(__name__)
NEW_YORK = ZoneInfo("America/New_York")
FILL_CURSOR = "positions.fill_cursor"

_ROLE_REASON = {
    OrderRole.STOP_LOSS: ExitReason.STOP_LOSS,
    OrderRole.TAKE_PROFIT: ExitReason.TAKE_PROFIT,
}


@dataclass(frozen=True, slots=True)
class PortfolioPnl:
    realized: Decimal  # net of commissions, closed and open positions
    unrealized: Decimal
    positions_value: Decimal


class PositionManager:
    """Positions and their P&L, exits and trade records (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        calendar: MarketCalendar,
        trading: TradingConfig,
        *,
        sector_of: Callable[[str], str | None] = lambda ticker: None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._calendar = calendar
        self._trading = trading
        self._sector_of = sector_of
        self._open: dict[Ticker, Position] = {}
        self._realized_closed = ZERO
        self.load()

    def load(self) -> None:
        """Read the open positions and the realized P&L of the closed ones from the store."""
        with self._store.unit_of_work() as uow:
            everything = uow.positions.list_all()
        self._open = {p.ticker: p for p in everything if p.is_open}
        self._realized_closed = sum((p.net_realized_pnl for p in everything if not p.is_open), ZERO)

    # --- queries -----------------------------------------------------------------------

    def get_active_positions(self) -> list[Position]:
        return list(self._open.values())

    def get(self, ticker: str) -> Position | None:
        return self._open.get(Ticker(ticker))

    def holds(self, ticker: str) -> bool:
        return ticker in self._open

    def can_open_position(self, ticker: str) -> bool:
        """True when ``ticker`` is not held and a position slot is free."""
        return ticker not in self._open and len(self._open) < self._trading.max_positions

    def calculate_portfolio_pnl(self) -> PortfolioPnl:
        realized = self._realized_closed
        unrealized = value = ZERO
        for p in self._open.values():
            realized += p.net_realized_pnl
            mark = p.last_price if p.last_price is not None else p.avg_entry_price or ZERO
            unrealized += p.unrealized_pnl(mark)
            value += p.market_value(mark)
        return PortfolioPnl(realized, unrealized, value)

    def get_position_summary(self) -> list[dict[str, Any]]:
        return [
            {
                "ticker": p.ticker,
                "quantity": p.quantity,
                "entry_price": p.avg_entry_price,
                "last_price": p.last_price,
                "stop_loss": p.stop_loss,
                "take_profit": p.take_profit,
                "sector": p.sector,
                "unrealized_pnl": p.unrealized_pnl(p.last_price) if p.last_price else None,
                "opened_at": p.opened_at,
            }  # fmt: skip
            for p in self._open.values()
        ]

    def sector_exposure(self) -> dict[str, Decimal]:
        """Market value held per sector (marks, else entry prices)."""
        exposure: dict[str, Decimal] = {}
        for p in self._open.values():
            mark = p.last_price if p.last_price is not None else p.avg_entry_price or ZERO
            key = p.sector or "unknown"
            exposure[key] = exposure.get(key, ZERO) + p.market_value(mark)
        return exposure

    # --- marks and exit conditions -----------------------------------------------------

    def update_position_prices(self, quote: Quote) -> Position | None:
        """Mark the ticker's position at the quote's last (else bid); return it if held."""
        position = self._open.get(quote.ticker)
        if position is not None:
            position.last_price = quote.last if quote.last is not None else quote.bid
        return position

    def hold_days(self, position: Position, today: date) -> int:
        """Sessions since the entry session (0 on the entry day)."""
        if position.opened_at is None:
            return 0
        entered = position.opened_at.astimezone(NEW_YORK).date()
        return max(0, len(self._calendar.trading_days(entered, today)) - 1)

    def check_exit_conditions(self, now: datetime) -> list[tuple[Ticker, ExitReason]]:
        """Positions due to close by the executor now: max hold days reached."""
        today = now.astimezone(NEW_YORK).date()
        due = []
        for p in self._open.values():
            if p.exit_reason is None and self.hold_days(p, today) >= self._trading.max_hold_days:
                due.append((p.ticker, ExitReason.MAX_HOLD))
        return due

    def mark_exit(self, ticker: str, reason: ExitReason) -> Position | None:
        """Record that the position is being closed for ``reason`` (before the exit order)."""
        position = self._open.get(Ticker(ticker))
        if position is None:
            return None
        position.exit_reason = reason
        with self._store.unit_of_work() as uow:
            uow.positions.save(position, self._clock.now())
        return position

    def close_position(self, ticker: str, reason: ExitReason) -> int:
        """Mark the position closing for ``reason``; return the shares the exit must sell."""
        position = self.mark_exit(ticker, reason)
        return 0 if position is None else position.quantity

    def save_marks(self) -> None:
        """Write the in-memory marks of the open positions (with the equity snapshots)."""
        with self._store.unit_of_work() as uow:
            for p in self._open.values():
                uow.positions.save(p, self._clock.now())

    # --- fills -------------------------------------------------------------------------

    def sync_fills(self) -> list[Event]:
        """Apply every recorded fill after the cursor; return the position events."""
        events: list[Event] = []
        with self._store.unit_of_work() as uow:
            cursor = int(uow.system_state.get(FILL_CURSOR, 0))
            pending = uow.fills.list_after(cursor)
        for row_id, fill in pending:
            with self._store.unit_of_work() as uow:
                event = self._apply(uow, fill)
                uow.system_state.set(FILL_CURSOR, row_id, self._clock.now())
            if event is not None:
                events.append(event)
        return events

    def open_position(self, order: Order, fill: OrderFilled, uow: UnitOfWork) -> Position:
        """Start a position from an entry order's first fill (stop/target from its bracket)."""
        children = uow.orders.list_children(order.client_order_id)
        stop = next((c.stop_price for c in children if c.role is OrderRole.STOP_LOSS), None)
        target = next((c.limit_price for c in children if c.role is OrderRole.TAKE_PROFIT), None)
        position = Position(
            ticker=fill.ticker, signal_id=order.signal_id, sector=self._sector_of(fill.ticker),
            stop_loss=stop, take_profit=target, last_price=fill.price,
        )  # fmt: skip
        position.apply(fill)
        uow.positions.add(position, self._clock.now())
        self._open[position.ticker] = position
        return position

    def _apply(self, uow: UnitOfWork, fill: OrderFilled) -> Event | None:
        order = uow.orders.get(fill.client_order_id)
        if order is None:
            log.error("fill %s of unknown order %s not applied", fill.fill_id, fill.client_order_id)
            return None
        position = self._open.get(fill.ticker)
        now = self._clock.now()
        if position is None:
            if fill.side is not Side.BUY:
                log.error("sell fill %s with no open position in %s", fill.fill_id, fill.ticker)
                return None
            position = self.open_position(order, fill, uow)
            return PositionOpened(ts_event=fill.ts_event, ts_init=now, ticker=fill.ticker,
                                  quantity=position.quantity, entry_price=fill.price)  # fmt: skip
        entry_price = position.avg_entry_price
        if not position.apply(fill):
            return None
        if position.is_open:
            uow.positions.save(position, now)
            return None
        reason = _ROLE_REASON.get(order.role) or position.exit_reason or ExitReason.MANUAL
        position.exit_reason = reason
        uow.positions.save(position, now)
        trade = self._trade(uow, position, entry_price, reason)
        uow.trades.add(trade)
        del self._open[position.ticker]
        self._realized_closed += position.net_realized_pnl
        return PositionClosed(ts_event=fill.ts_event, ts_init=now, ticker=position.ticker,
                              quantity=trade.quantity, exit_price=trade.exit_price,
                              realized_pnl=trade.pnl, reason=reason)  # fmt: skip

    def _trade(
        self, uow: UnitOfWork, p: Position, entry_price: Decimal | None, reason: ExitReason
    ) -> TradeRecord:
        assert p.opened_at is not None and p.closed_at is not None
        fills = [f for f in uow.fills.list(since=p.opened_at) if f.fill_id in p.fill_ids]
        buys = [f for f in fills if f.side is Side.BUY]
        sells = [f for f in fills if f.side is Side.SELL]
        bought = sum(f.quantity for f in buys)
        sold = sum(f.quantity for f in sells)
        cost = sum((f.price * f.quantity for f in buys), ZERO)
        entry = quantize_money(cost / bought) if bought else entry_price or ZERO
        exit_price = quantize_money(sum((f.price * f.quantity for f in sells), ZERO) / sold)
        pnl = p.net_realized_pnl
        entry_date = p.opened_at.astimezone(NEW_YORK).date()
        exit_date = p.closed_at.astimezone(NEW_YORK).date()
        return TradeRecord(
            ticker=p.ticker, entry_date=entry_date, exit_date=exit_date, entry_price=entry,
            exit_price=exit_price, quantity=sold, pnl=pnl,
            pnl_pct=float(pnl / cost * 100) if cost else 0.0,
            hold_days=self.hold_days(p, exit_date), commission=p.commission,
            exit_reason=reason, created_at=self._clock.now(), position_id=p.position_id,
            signal_id=p.signal_id,
        )  # fmt: skip
