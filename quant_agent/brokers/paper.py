"""The paper venue: a simulated broker that fills orders from the quote stream.

It owns the paper account (its orders, fills, cash and positions), kept in its own
``paper_*`` tables so that a new ``PaperBroker`` over the same database after a restart
knows everything the old one did, as a real broker would. Every change (a fill with the
order, position and cash it moves) commits in one transaction before its event is
emitted. It must never read or write the order manager's tables, never read the wall
clock (an injected ``Clock`` gives venue time) and never fill from a quote outside regular
hours or of a halted ticker.

Fill rules are in ``paper_matching.py`` (``fill_model``: ``quote``, the default, fills at
the quote; ``touch``, the daily-bar backtest's, fills a stop or limit crossed between two
quotes of a session at its own price). The venue refuses (``OrderRejected``) an order
with missing prices, a DAY order that would expire before it could trade (see
``hours.py``), a buy the buying power cannot pay, and a sell of shares it does not hold
(no short selling). DAY orders expire at their session's close. Each fill pays
``commission_per_trade``. Ids are deterministic: broker ids count the orders the venue has
ever taken, fill ids count the fills of their order, so a replay gives the same ids.
One ``PaperBroker`` per database at a time: it reads the book once, at construction.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from quant_agent.brokers.base import (
    AccountBalances,
    BrokerOrder,
    BrokerPosition,
    OrderEventHandler,
    OrderRequest,
)
from quant_agent.brokers.hours import order_window
from quant_agent.brokers.paper_account import buying_power, market_value, reference_price
from quant_agent.brokers.paper_matching import Match, match
from quant_agent.brokers.paper_store import PaperBook, PaperHolding, PaperOrder
from quant_agent.config import PaperConfig, TradingConfig
from quant_agent.core.clock import Clock
from quant_agent.core.enums import OrderStatus, OrderType, Side
from quant_agent.core.errors import RejectedError
from quant_agent.core.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from quant_agent.core.ids import BrokerOrderId, ClientOrderId, Ticker
from quant_agent.core.market import Quote
from quant_agent.core.money import ZERO, quantize_money, to_decimal
from quant_agent.market.calendar import MarketCalendar, exchange_for_ticker, get_calendar
from quant_agent.storage.store import Store

log = logging.getLogger(__name__)
NEW_YORK = ZoneInfo("America/New_York")

CalendarFor = Callable[[Ticker], MarketCalendar]


def default_calendar_for(ticker: Ticker) -> MarketCalendar:
    """Return the calendar of the exchange a ticker trades on."""
    return get_calendar(exchange_for_ticker(ticker))


class PaperBroker:
    """A ``Broker`` whose venue is this process and whose book is the database."""

    supports_native_brackets = False

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        initial_capital: Decimal,
        commission_per_trade: Decimal,
        slippage_pct: Decimal,
        partial_fills: bool = False,
        calendar_for: CalendarFor = default_calendar_for,
        fill_model: str = "quote",
    ) -> None:
        self._store = store
        self._clock = clock
        self._commission = to_decimal(commission_per_trade, field="commission_per_trade")
        self._slippage = to_decimal(slippage_pct, field="slippage_pct")
        self._partial = partial_fills
        if fill_model not in ("quote", "touch"):
            raise ValueError(f"unknown paper fill model {fill_model!r}")
        self._touch = fill_model == "touch"
        self._session_last: dict[Ticker, tuple[date, Decimal]] = {}  # touch model only
        self._previous: Decimal | None = None  # the session's price before the quote worked
        self._calendar_for = calendar_for
        self._lock = threading.RLock()
        self._handlers: list[OrderEventHandler] = []
        self._quotes: dict[Ticker, Quote] = {}
        self._orders: dict[ClientOrderId, PaperOrder] = {}
        self._by_broker_id: dict[BrokerOrderId, ClientOrderId] = {}
        self._open: dict[Ticker, dict[ClientOrderId, None]] = {}  # insertion-ordered
        self._holdings: dict[Ticker, PaperHolding] = {}
        self._cash = self._load(to_decimal(initial_capital, field="initial_capital"))

    @classmethod
    def from_config(
        cls, store: Store, clock: Clock, trading: TradingConfig, paper: PaperConfig
    ) -> PaperBroker:
        return cls(
            store,
            clock,
            initial_capital=trading.initial_capital,
            commission_per_trade=trading.commission_per_trade,
            slippage_pct=to_decimal(trading.slippage_pct, field="slippage_pct"),
            partial_fills=paper.partial_fills,
            fill_model=paper.fill_model,
        )

    def _load(self, initial_capital: Decimal) -> Decimal:
        with self._store.unit_of_work() as uow:
            book = PaperBook(uow.connection)
            cash = book.cash()
            if cash is None:
                book.open_account(initial_capital, self._clock.now())
                cash = initial_capital
            for order in book.orders():
                self._remember(order)
            self._holdings = {h.ticker: h for h in book.holdings()}
        return cash

    def _remember(self, order: PaperOrder) -> None:
        """Keep ``order`` and the open-order index (per ticker) that quotes are worked on."""
        coid = order.client_order_id
        self._orders[coid] = order
        self._by_broker_id[order.broker_order_id] = coid
        working = self._open.setdefault(order.ticker, {})
        if order.status.is_open:
            working[coid] = None
        else:
            working.pop(coid, None)

    @contextmanager
    def _book(self) -> Iterator[PaperBook]:
        with self._store.unit_of_work() as uow:
            yield PaperBook(uow.connection)

    # --- events ------------------------------------------------------------------------

    def subscribe(self, handler: OrderEventHandler) -> None:
        with self._lock:
            if handler not in self._handlers:
                self._handlers.append(handler)

    def _emit(self, event: OrderEvent) -> None:
        for handler in list(self._handlers):
            try:
                handler(event)
            except Exception:  # noqa: BLE001 - the venue's state is committed; go on
                log.exception("paper broker: handler failed on %s", type(event).__name__)

    # --- requests ----------------------------------------------------------------------

    def submit(self, request: OrderRequest) -> BrokerOrder:
        with self._lock:
            known = self._orders.get(request.client_order_id)
            if known is not None:  # a real venue would take it as a second order
                log.warning("paper venue: client order id %s submitted again; answered with "
                            "the order it already has", request.client_order_id)  # fmt: skip
                return known.report()
            now = self._clock.now()
            window = order_window(self._calendar_for(request.ticker), now, request.time_in_force)
            problem = window.problem or self._refusal(request)
            order = PaperOrder(
                broker_order_id=BrokerOrderId(f"P{len(self._orders) + 1:08d}"),
                client_order_id=request.client_order_id,
                ticker=request.ticker,
                side=request.side,
                order_type=request.order_type,
                quantity=request.quantity,
                time_in_force=request.time_in_force,
                status=OrderStatus.REJECTED if problem else OrderStatus.ACCEPTED,
                created_at=now,
                updated_at=now,
                limit_price=request.limit_price,
                stop_price=request.stop_price,
                reject_reason=problem,
                expires_at=window.expires_at,
            )
            with self._book() as book:
                book.add_order(order)
            self._remember(order)
            if problem:
                self._emit(self._event(OrderRejected, order, now, reason=problem))
            else:
                broker_order_id = order.broker_order_id
                self._emit(self._event(OrderAccepted, order, now, broker_order_id=broker_order_id))
            return order.report()

    def _refusal(self, request: OrderRequest) -> str | None:
        kind = request.order_type
        if request.quantity <= 0:
            return f"quantity must be a positive whole number, got {request.quantity}"
        if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) and request.limit_price is None:
            return f"a {kind} order needs a limit price"
        if kind in (OrderType.STOP, OrderType.STOP_LIMIT) and request.stop_price is None:
            return f"a {kind} order needs a stop price"
        if request.side is Side.SELL:
            held = self._held(request.ticker)
            if request.quantity > held:
                return (
                    f"insufficient position: selling {request.quantity} {request.ticker} but "
                    f"holding {held} (the paper account does not sell short)"
                )
            return None
        price = reference_price(request, self._quotes, self._slippage)
        if price is None:
            return None  # a market buy before any quote: checked again at the fill
        needed = price * request.quantity + self._commission
        power = self._buying_power()
        if needed > power:
            return f"insufficient buying power: the order needs {needed}, buying power {power}"
        return None

    def cancel(self, client_order_id: ClientOrderId) -> BrokerOrder:
        with self._lock:
            order = self._orders.get(client_order_id)
            if order is None:
                raise RejectedError(f"cancel: the paper venue has no order {client_order_id}")
            now = self._clock.now()
            if not order.status.is_open:
                reason = f"order is already {order.status}"
                self._emit(self._event(OrderCancelRejected, order, now, reason=reason))
                return order.report()
            self._close(order, OrderStatus.CANCELED, now, reason="canceled on request")
            return self._orders[client_order_id].report()

    def replace(
        self,
        client_order_id: ClientOrderId,
        *,
        quantity: int | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> BrokerOrder:
        with self._lock:
            order = self._orders.get(client_order_id)
            if order is None or not order.status.is_open:
                state = "unknown" if order is None else str(order.status)
                raise RejectedError(f"replace: order {client_order_id} is {state}")
            new_quantity = order.quantity if quantity is None else quantity
            if new_quantity <= order.filled_quantity:
                raise RejectedError(
                    f"replace: quantity {new_quantity} must exceed the {order.filled_quantity} "
                    f"already filled of {client_order_id}"
                )
            changed = dataclasses.replace(
                order,
                quantity=new_quantity,
                limit_price=order.limit_price if limit_price is None else limit_price,
                stop_price=order.stop_price if stop_price is None else stop_price,
                updated_at=self._clock.now(),
            )
            with self._book() as book:
                book.save_order(changed)
            self._remember(changed)
            return changed.report()

    # --- the market --------------------------------------------------------------------

    def on_quote(self, quote: Quote) -> None:
        """Work every open order of the quote's ticker against it (see ``paper_matching``)."""
        with self._lock:
            self._quotes[quote.ticker] = quote
            self.expire_due(max(self._clock.now(), quote.ts_event))
            if quote.is_halted or not self._calendar_for(quote.ticker).is_market_open(
                quote.ts_event
            ):
                return
            self._previous = self._session_previous(quote) if self._touch else None
            for client_order_id in list(self._open.get(quote.ticker, ())):
                order = self._orders[client_order_id]
                if order.status.is_open:
                    self._work(order, quote)

    def _session_previous(self, quote: Quote) -> Decimal | None:
        """The ticker's last price earlier in the quote's session (touch model), and
        remember this quote's."""
        session = quote.ts_event.astimezone(NEW_YORK).date()
        seen = self._session_last.get(quote.ticker)
        price = quote.last if quote.last is not None else quote.mid
        self._session_last[quote.ticker] = (session, price)
        return seen[1] if seen is not None and seen[0] == session else None

    def _work(self, order: PaperOrder, quote: Quote) -> None:
        result = match(
            side=order.side,
            order_type=order.order_type,
            remaining=order.remaining,
            limit_price=order.limit_price,
            stop_price=order.stop_price,
            triggered=order.triggered,
            quote=quote,
            slippage_pct=self._slippage,
            partial_fills=self._partial,
            previous=self._previous,
        )
        if result.price is None or result.quantity <= 0:
            if result.triggered and not order.triggered:
                armed = dataclasses.replace(order, triggered=True, updated_at=quote.ts_event)
                with self._book() as book:
                    book.save_order(armed)
                self._remember(armed)
            return
        self._execute(order, result, quote)

    def _execute(self, order: PaperOrder, result: Match, quote: Quote) -> None:
        assert result.price is not None
        price, quantity, now = result.price, result.quantity, self._clock.now()
        notional = price * quantity
        problem = self._unaffordable(order.side, order.ticker, quantity, notional)
        if problem:
            self._close(order, OrderStatus.CANCELED, now, reason=problem)
            return
        updated, fill = order.filled(
            price, quantity, self._commission, triggered=result.triggered,
            ts_event=quote.ts_event, ts_init=now,
        )  # fmt: skip
        holding = self._holdings.get(order.ticker) or PaperHolding.flat(order.ticker)
        holding = holding.moved(order.side.sign * quantity, price)
        cash = self._cash - order.side.sign * notional - self._commission
        with self._book() as book:
            book.add_fill(fill)
            book.save_order(updated)
            book.save_holding(holding, now)
            book.set_cash(cash, now)
        self._remember(updated)
        self._holdings[holding.ticker] = holding
        self._cash = cash
        self._emit(fill)

    def _unaffordable(
        self, side: Side, ticker: Ticker, quantity: int, notional: Decimal
    ) -> str | None:
        """Why the account cannot take this fill now (cash for a buy, shares for a sell)."""
        if side is Side.BUY and notional + self._commission > self._cash:
            needs = notional + self._commission
            return f"insufficient buying power at the fill: needs {needs}, cash {self._cash}"
        held = self._held(ticker)
        if side is Side.SELL and quantity > held:
            return f"insufficient position at the fill: selling {quantity}, holding {held}"
        return None

    def expire_due(self, now: datetime) -> None:
        """Expire every DAY order whose session closed at or before ``now``."""
        with self._lock:
            due = [
                self._orders[coid]
                for working in self._open.values()
                for coid in working
                if (expires := self._orders[coid].expires_at) is not None and expires <= now
            ]
            for order in due:
                if order.expires_at is not None and self._orders[order.client_order_id].is_open:
                    self._close(order, OrderStatus.EXPIRED, order.expires_at)

    def _close(
        self, order: PaperOrder, status: OrderStatus, when: datetime, reason: str = ""
    ) -> None:
        closed = dataclasses.replace(order, status=status, updated_at=when)
        with self._book() as book:
            book.save_order(closed)
        self._remember(closed)
        if status is OrderStatus.EXPIRED:
            self._emit(self._event(OrderExpired, closed, when))
        else:
            self._emit(self._event(OrderCanceled, closed, when, reason=reason))

    def _event(
        self, kind: type[OrderEvent], order: PaperOrder, when: datetime, **extra: Any
    ) -> OrderEvent:
        return kind(
            ts_event=when, ts_init=self._clock.now(), client_order_id=order.client_order_id,
            **extra,
        )  # fmt: skip

    # --- what the venue believes -------------------------------------------------------

    def get_order(self, broker_order_id: BrokerOrderId) -> BrokerOrder | None:
        with self._lock:
            client_order_id = self._by_broker_id.get(broker_order_id)
            return None if client_order_id is None else self._orders[client_order_id].report()

    def get_order_by_client_id(self, client_order_id: ClientOrderId) -> BrokerOrder | None:
        with self._lock:
            order = self._orders.get(client_order_id)
            return None if order is None else order.report()

    def list_open_orders(self) -> list[BrokerOrder]:
        with self._lock:
            return [self._orders[c].report() for w in self._open.values() for c in w]

    def fills_since(self, since: datetime) -> list[OrderFilled]:
        with self._lock, self._book() as book:
            return book.fills(since)

    def positions(self) -> list[BrokerPosition]:
        with self._lock:
            return [
                BrokerPosition(
                    ticker=h.ticker,
                    quantity=h.quantity,
                    avg_price=quantize_money(h.cost_basis / h.quantity),
                )
                for h in self._holdings.values()
                if h.quantity != 0
            ]

    def balances(self) -> AccountBalances:
        with self._lock:
            marked = sum((market_value(h, self._quotes) for h in self._holdings.values()), ZERO)
            return AccountBalances(
                cash=self._cash, buying_power=self._buying_power(), equity=self._cash + marked
            )

    def last_quote(self, ticker: Ticker) -> Quote | None:
        return self._quotes.get(ticker)

    # --- helpers -----------------------------------------------------------------------

    def _held(self, ticker: Ticker) -> int:
        holding = self._holdings.get(ticker)
        return 0 if holding is None else holding.quantity

    def _open_orders(self) -> Iterator[PaperOrder]:
        return (self._orders[c] for working in self._open.values() for c in working)

    def _buying_power(self) -> Decimal:
        return buying_power(self._cash, self._open_orders(), self._quotes,
                            commission=self._commission, slippage_pct=self._slippage)  # fmt: skip
