"""The paper account's arithmetic: what a buy is expected to cost, buying power, marks.

Pure functions over the venue's state (cash, open orders, holdings, last quotes). They own
how the paper venue values its account; they must never change state, touch the database
or read the clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from quant_agent.brokers.base import OrderRequest
from quant_agent.brokers.paper_matching import market_price
from quant_agent.brokers.paper_store import PaperHolding, PaperOrder
from quant_agent.core.enums import OrderType, Side
from quant_agent.core.ids import Ticker
from quant_agent.core.market import Quote
from quant_agent.core.money import ZERO

Quotes = Mapping[Ticker, Quote]


def reference_price(
    order: OrderRequest | PaperOrder, quotes: Quotes, slippage_pct: Decimal
) -> Decimal | None:
    """The price an order is expected to pay: its limit, else the market (or its stop),
    None for a market order before any quote of its ticker."""
    if order.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        return order.limit_price
    quote = quotes.get(order.ticker)
    at_market = None if quote is None else market_price(order.side, quote, slippage_pct)
    if order.order_type is OrderType.STOP and order.stop_price is not None:
        return order.stop_price if at_market is None else max(order.stop_price, at_market)
    return at_market


def buying_power(
    cash: Decimal,
    open_orders: Iterable[PaperOrder],
    quotes: Quotes,
    *,
    commission: Decimal,
    slippage_pct: Decimal,
) -> Decimal:
    """Cash less what the open buy orders would cost (with commission) if they filled now."""
    reserved = ZERO
    for order in open_orders:
        if order.side is Side.BUY:
            price = reference_price(order, quotes, slippage_pct)
            if price is not None:
                reserved += price * order.remaining + commission
    return cash - reserved


def market_value(holding: PaperHolding, quotes: Quotes) -> Decimal:
    """The holding at its last trade (or mid), or at cost before any quote."""
    quote = quotes.get(holding.ticker)
    if quote is None:
        return holding.cost_basis
    price = quote.last if quote.last is not None else quote.mid
    return price * holding.quantity
