"""The paper venue's fill rules, as pure functions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from quant_agent.brokers.paper_matching import Match, market_price, match
from quant_agent.core.enums import OrderType, Side
from quant_agent.testkit.quotes import at, quote

D = Decimal
SLIP = D("0.05")


def run(side: Side, kind: OrderType, q: object, *, limit: str | None = None,
        stop: str | None = None, triggered: bool = False, partial: bool = False,
        remaining: int = 100, previous: str | None = None) -> Match:  # fmt: skip
    return match(
        side=side, order_type=kind, remaining=remaining,
        limit_price=None if limit is None else D(limit),
        stop_price=None if stop is None else D(stop), triggered=triggered,
        quote=q, slippage_pct=SLIP, partial_fills=partial,  # type: ignore[arg-type]
        previous=None if previous is None else D(previous),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("side", "bid", "ask", "expected"),
    [
        (Side.BUY, "99.99", "100.00", "100.05"),
        (Side.BUY, "99.99", "100.01", "100.07"),  # 100.060005 rounds up
        (Side.SELL, "100.00", "100.02", "99.95"),
        (Side.SELL, "101.01", "101.03", "100.95"),  # 100.959495 rounds down
        (Side.BUY, "0.5000", "0.5001", "0.5004"),  # sub-dollar tick 0.0001
    ],
)
def test_market_price_is_the_far_side_plus_slippage_on_the_tick(
    side: Side, bid: str, ask: str, expected: str
) -> None:
    assert market_price(side, quote("X", bid, ask, ts=at(0)), SLIP) == D(expected)


def test_zero_slippage_fills_at_the_quote() -> None:
    assert market_price(Side.BUY, quote("X", "9.99", "10.00", ts=at(0)), D(0)) == D("10.00")


def test_limit_not_crossed_does_not_fill_and_crossed_fills_at_the_better_quote() -> None:
    assert run(Side.BUY, OrderType.LIMIT, quote("X", "99", "99.01", ts=at(0)), limit="99.00") == (
        Match(triggered=False)
    )
    hit = run(Side.BUY, OrderType.LIMIT, quote("X", "98", "98.50", ts=at(0)), limit="99.00")
    assert (hit.price, hit.quantity) == (D("98.50"), 100)
    sell = run(Side.SELL, OrderType.LIMIT, quote("X", "101", "101.1", ts=at(0)), limit="100.00")
    assert sell.price == D("101")


def test_sell_stop_gap_fills_at_the_gapped_bid_not_at_the_stop() -> None:
    result = run(Side.SELL, OrderType.STOP, quote("X", "80.00", "80.10", ts=at(0)), stop="95.00")
    assert result.triggered and result.price == D("79.96")  # 80 x 0.9995 = 79.96


def test_stop_not_reached_does_nothing_and_last_trade_can_trigger() -> None:
    q = quote("X", "96.00", "96.10", ts=at(0))
    assert run(Side.SELL, OrderType.STOP, q, stop="95.00") == Match(triggered=False)
    by_last = quote("X", "96.00", "96.10", ts=at(0), last="94.99")
    assert run(Side.SELL, OrderType.STOP, by_last, stop="95.00").triggered


def test_stop_limit_triggers_without_filling_when_the_limit_is_not_reached() -> None:
    gap = quote("X", "90.00", "90.10", ts=at(0))
    result = run(Side.SELL, OrderType.STOP_LIMIT, gap, stop="95.00", limit="94.00")
    assert result == Match(triggered=True)
    later = run(Side.SELL, OrderType.STOP_LIMIT, quote("X", "94.20", "94.30", ts=at(1)),
                stop="95.00", limit="94.00", triggered=True)  # fmt: skip
    assert later.price == D("94.20")


@pytest.mark.parametrize(("size", "expected"), [(30, 30), (0, 100), (500, 100)])
def test_partial_fills_take_the_quoted_size(size: int, expected: int) -> None:
    q = quote("X", "9.99", "10.00", ts=at(0), ask_size=size)
    assert run(Side.BUY, OrderType.MARKET, q, partial=True).quantity == expected
    assert run(Side.BUY, OrderType.MARKET, q, partial=False).quantity == 100


def test_touch_model_fills_a_crossed_stop_or_limit_at_its_own_price() -> None:
    low = quote("X", "90.00", "90.00", ts=at(1), last="90.00")
    # the session's previous price 100 was above the stop: the path crossed 95.00
    assert run(Side.SELL, OrderType.STOP, low, stop="95.00", previous="100.00").price == D("95")
    high = quote("X", "112.00", "112.00", ts=at(1), last="112.00")
    assert run(Side.SELL, OrderType.LIMIT, high, limit="110.00",
               previous="100.00").price == D("110")  # fmt: skip
    assert run(Side.BUY, OrderType.LIMIT, low, limit="95.00", previous="100.00").price == D("95")
    assert run(Side.BUY, OrderType.STOP, high, stop="110.00", previous="100").price == D("110")


def test_touch_model_gaps_still_fill_at_the_quote() -> None:
    gap = quote("X", "80.00", "80.00", ts=at(0), last="80.00")
    # no earlier price in the session (the open), or one already through the stop
    assert run(Side.SELL, OrderType.STOP, gap, stop="95.00").price == D("79.96")
    assert run(Side.SELL, OrderType.STOP, gap, stop="95.00", previous="94.00").price == D("79.96")
    up = quote("X", "120.00", "120.00", ts=at(0), last="120.00")
    assert run(Side.SELL, OrderType.LIMIT, up, limit="110.00").price == D("120")
    assert run(Side.BUY, OrderType.MARKET, up, previous="100.00").price == D("120.06")
