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
- Touch fill model (``paper.fill_model: touch``, the daily-bar backtest's): the price path
  between two quotes of one session is taken as continuous, so a stop or limit whose price
  lies between the previous quote of the session and this one fills **at its own price**
  (a sell stop at the stop, a sell limit at the limit); a gap (the session's first quote,
  or a previous quote already beyond the price) fills at the quote as above. In a daily
  replay (open, low, high, close quotes) that is: a stop touched by the low fills at the
  stop, a gap through it at the open. The default ``quote`` model fills at the quote.
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


def touch_price(
    side: Side, order_type: OrderType, level: Decimal, previous: Decimal | None
) -> Decimal | None:
    """The order's own price ``level`` when the path from ``previous`` (the last price of
    the session before this quote) crossed it, else None (fill at the quote).

    A sell stop and a buy limit wait below the market: crossed when ``previous`` was still
    above the level; a sell limit and a buy stop wait above it: crossed when ``previous``
    was still below. No previous quote in the session is a gap: None."""
    if previous is None or order_type not in (OrderType.STOP, OrderType.LIMIT):
        return None
    below = (side is Side.SELL) == (order_type is OrderType.STOP)
    crossed = previous > level if below else previous < level
    return level if crossed else None


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
    previous: Decimal | None = None,
) -> Match:
    """Return what ``quote`` does to a working order (see the module docstring).

    ``previous``: with the touch fill model, the session's last price before ``quote``."""
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
    level = stop_price if order_type is OrderType.STOP else limit_price
    if level is not None:
        price = touch_price(side, order_type, level, previous) or price
    quantity = fill_quantity(side, remaining, quote, partial_fills)
    return Match(triggered=triggered, price=price, quantity=quantity)
