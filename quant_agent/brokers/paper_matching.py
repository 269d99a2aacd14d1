"""The paper venue's fill rules: given a working order and a quote, what executes.

Pure functions, no state, no I/O, no clock. They own the answer to "at what price and for
how many shares does this quote fill this order"; they must never decide whether the
market is open or whether the account can pay (``paper.py`` does that).

- MARKET: buy at the ask plus ``slippage_pct`` (rounded up to the tick), sell at the bid
  minus it (rounded down).
- LIMIT: fills when the quote crosses the limit, at the quote (the limit or better): a buy
  when ask <= limit, at the ask; a sell when bid >= limit, at the bid.
- STOP: triggered when the last trade or the near side reaches the stop (buy: ask or last
  >= stop; sell: bid or last <= stop), then fills as a market order at the quote, so a gap
  through the stop fills at the gapped price, never at the stop.
- STOP_LIMIT: triggered like a stop, then works as a limit (it may trigger without filling).
- Quantity: the whole remainder, or with partial fills at most the quoted size on the
  side taken (a size of 0 means "unknown" and fills the remainder).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from quant_agent.core.enums import OrderType, Side
from quant_agent.core.market import Quote
from quant_agent.core.money import TickRounding, round_to_tick


@dataclass(frozen=True, slots=True, kw_only=True)
class Match:
    """The outcome of one quote against one order: a trigger and/or an execution."""

    triggered: bool
    price: Decimal | None = None
    quantity: int = 0


def market_price(side: Side, quote: Quote, slippage_pct: Decimal) -> Decimal:
    """Return the fill price of a market order: the far side plus slippage, on the tick."""
    if side is Side.BUY:
        return round_to_tick(quote.ask * (1 + slippage_pct / 100), TickRounding.UP)
    return round_to_tick(quote.bid * (1 - slippage_pct / 100), TickRounding.DOWN)


def stop_triggered(side: Side, stop: Decimal, quote: Quote) -> bool:
    """True when the quote (near side or last trade) reaches a stop price."""
    if side is Side.BUY:
        return quote.ask >= stop or (quote.last is not None and quote.last >= stop)
    return quote.bid <= stop or (quote.last is not None and quote.last <= stop)


def limit_price_fill(side: Side, limit: Decimal, quote: Quote) -> Decimal | None:
    """Return the execution price of a limit order against the quote, None if not crossed."""
    if side is Side.BUY:
        return quote.ask if quote.ask <= limit else None
    return quote.bid if quote.bid >= limit else None


def fill_quantity(side: Side, remaining: int, quote: Quote, partial_fills: bool) -> int:
    """Return how many shares execute: all, or at most the quoted size when partial."""
    if not partial_fills:
        return remaining
    size = quote.ask_size if side is Side.BUY else quote.bid_size
    return remaining if size <= 0 else min(remaining, size)


def match(
    *,
    side: Side,
    order_type: OrderType,
    remaining: int,
    limit_price: Decimal | None,
    stop_price: Decimal | None,
    triggered: bool,
    quote: Quote,
    slippage_pct: Decimal,
    partial_fills: bool,
) -> Match:
    """Return what ``quote`` does to a working order (see the module docstring)."""
    if order_type in (OrderType.STOP, OrderType.STOP_LIMIT) and not triggered:
        if stop_price is None:
            raise ValueError(f"{order_type} order without a stop price")
        triggered = stop_triggered(side, stop_price, quote)
        if not triggered:
            return Match(triggered=False)
    if order_type in (OrderType.MARKET, OrderType.STOP):
        price: Decimal | None = market_price(side, quote, slippage_pct)
    else:
        if limit_price is None:
            raise ValueError(f"{order_type} order without a limit price")
        price = limit_price_fill(side, limit_price, quote)
    if price is None:
        return Match(triggered=triggered)
    quantity = fill_quantity(side, remaining, quote, partial_fills)
    return Match(triggered=triggered, price=price, quantity=quantity)
