"""The paper venue on SQLite and PostgreSQL: every order type accepted, filled at the right
price under scripted quotes, canceled, rejected with a reason; its book survives a restart."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from quant_agent.brokers.base import Broker, OrderRequest
from quant_agent.brokers.paper import PaperBroker
from quant_agent.core.clock import SimClock
from quant_agent.core.enums import OrderStatus, OrderType, Side, TimeInForce
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
from quant_agent.core.ids import ClientOrderId, Ticker
from quant_agent.storage.store import Store
from quant_agent.testkit.quotes import AFTER_CLOSE, PRE_MARKET, SESSION_CLOSE, at, play, quote

from .conftest import CAPITAL, make_paper

D = Decimal


def req(
    coid: str,
    side: Side,
    kind: OrderType,
    qty: int = 100,
    *,
    limit: str | None = None,
    stop: str | None = None,
    tif: TimeInForce = TimeInForce.DAY,
    ticker: str = "AAPL",
) -> OrderRequest:
    return OrderRequest(
        client_order_id=ClientOrderId(coid), ticker=Ticker(ticker), side=side, order_type=kind,
        quantity=qty, limit_price=None if limit is None else D(limit),
        stop_price=None if stop is None else D(stop), time_in_force=tif,
    )  # fmt: skip


def record(paper: PaperBroker) -> list[OrderEvent]:
    events: list[OrderEvent] = []
    paper.subscribe(events.append)
    return events


def fills(events: list[OrderEvent]) -> list[OrderFilled]:
    return [e for e in events if isinstance(e, OrderFilled)]


def hold(paper: PaperBroker, clock: SimClock, qty: int = 100, price: str = "100.00") -> None:
    """Give the account ``qty`` shares of AAPL bought at the market."""
    paper.submit(req("setup-buy", Side.BUY, OrderType.MARKET, qty))
    play(paper, clock, [quote("AAPL", D(price) - D("0.02"), price, ts=at(1))])


def test_paper_broker_satisfies_the_protocol(paper: PaperBroker) -> None:
    assert isinstance(paper, Broker)
    assert paper.supports_native_brackets is False


def test_market_buy_is_accepted_then_fills_at_the_ask_plus_slippage_rounded_up(
    paper: PaperBroker, clock: SimClock
) -> None:
    events = record(paper)
    report = paper.submit(req("m1", Side.BUY, OrderType.MARKET, 100))
    assert report.status is OrderStatus.ACCEPTED and isinstance(events[0], OrderAccepted)
    play(paper, clock, [quote("AAPL", "99.99", "100.01", ts=at(1))])
    (fill,) = fills(events)
    assert fill.price == D("100.07")  # 100.01 x 1.0005 = 100.060005, up to the tick
    assert fill.quantity == 100 and fill.commission == D("1.00")
    assert fill.fill_id == "P00000001-1" and fill.broker_order_id == "P00000001"
    assert paper.get_order_by_client_id(ClientOrderId("m1")).status is OrderStatus.FILLED
    assert paper.balances().cash == CAPITAL - D("10007") - D("1.00")


def test_market_sell_fills_at_the_bid_minus_slippage_rounded_down(
    paper: PaperBroker, clock: SimClock
) -> None:
    hold(paper, clock)
    events = record(paper)
    paper.submit(req("s1", Side.SELL, OrderType.MARKET, 100))
    play(paper, clock, [quote("AAPL", "101.01", "101.03", ts=at(2))])
    assert fills(events)[0].price == D("100.95")  # 101.01 x 0.9995 = 100.959495, down


def test_limit_buy_never_reached_stays_working_then_fills_at_the_better_ask(
    paper: PaperBroker, clock: SimClock
) -> None:
    events = record(paper)
    paper.submit(req("l1", Side.BUY, OrderType.LIMIT, limit="99.00"))
    play(paper, clock, [quote("AAPL", "99.40", "99.50", ts=at(1)),
                        quote("AAPL", "99.00", "99.01", ts=at(2))])  # fmt: skip
    assert fills(events) == []
    assert paper.get_order_by_client_id(ClientOrderId("l1")).status is OrderStatus.ACCEPTED
    play(paper, clock, [quote("AAPL", "98.80", "98.90", ts=at(3))])
    assert [(f.price, f.quantity) for f in fills(events)] == [(D("98.90"), 100)]


def test_limit_sell_fills_at_the_bid_when_the_bid_reaches_the_limit(
    paper: PaperBroker, clock: SimClock
) -> None:
    hold(paper, clock)
    events = record(paper)
    paper.submit(req("l2", Side.SELL, OrderType.LIMIT, limit="105.00", tif=TimeInForce.GTC))
    play(paper, clock, [quote("AAPL", "104.99", "105.01", ts=at(5)),
                        quote("AAPL", "105.02", "105.04", ts=at(6))])  # fmt: skip
    assert [f.price for f in fills(events)] == [D("105.02")]


def test_sell_stop_gapped_through_fills_at_the_gapped_price_not_the_stop(
    paper: PaperBroker, clock: SimClock
) -> None:
    hold(paper, clock)
    events = record(paper)
    paper.submit(req("st1", Side.SELL, OrderType.STOP, stop="95.00", tif=TimeInForce.GTC))
    play(paper, clock, [quote("AAPL", "96.00", "96.02", ts=at(5)),
                        quote("AAPL", "90.00", "90.10", ts=at(6))])  # fmt: skip
    (fill,) = fills(events)
    assert fill.price == D("89.95")  # 90.00 x 0.9995 = 89.955, down; never 95.00


def test_buy_stop_triggers_on_the_last_trade_then_fills_as_market(
    paper: PaperBroker, clock: SimClock
) -> None:
    events = record(paper)
    paper.submit(req("st2", Side.BUY, OrderType.STOP, stop="101.00"))
    play(paper, clock, [quote("AAPL", "100.50", "100.60", ts=at(1), last="100.55"),
                        quote("AAPL", "100.90", "100.98", ts=at(2), last="101.00")])  # fmt: skip
    assert [f.price for f in fills(events)] == [D("101.04")]  # 100.98 x 1.0005 = 101.03049


def test_stop_limit_triggered_by_a_gap_waits_for_its_limit(
    paper: PaperBroker, clock: SimClock, store: Store
) -> None:
    hold(paper, clock)
    events = record(paper)
    paper.submit(req("sl1", Side.SELL, OrderType.STOP_LIMIT, stop="95.00", limit="94.50"))
    play(paper, clock, [quote("AAPL", "90.00", "90.10", ts=at(5))])
    assert fills(events) == []
    # Triggered survives a restart: the next venue still works it as a limit.
    again = make_paper(store, clock)
    again.subscribe(events.append)
    play(again, clock, [quote("AAPL", "94.60", "94.70", ts=at(6))])
    assert [f.price for f in fills(events)] == [D("94.60")]


def test_cancel_ends_a_working_order_and_a_second_cancel_is_refused_by_event(
    paper: PaperBroker,
) -> None:
    events = record(paper)
    paper.submit(req("c1", Side.BUY, OrderType.LIMIT, limit="90.00"))
    assert paper.cancel(ClientOrderId("c1")).status is OrderStatus.CANCELED
    paper.cancel(ClientOrderId("c1"))
    kinds = [type(e) for e in events]
    assert kinds == [OrderAccepted, OrderCanceled, OrderCancelRejected]
    with pytest.raises(RejectedError, match="no order"):
        paper.cancel(ClientOrderId("nope"))


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (req("r1", Side.BUY, OrderType.LIMIT, 2000, limit="100.00"), "insufficient buying power"),
        (req("r2", Side.SELL, OrderType.MARKET, 10), "insufficient position"),
        (req("r3", Side.BUY, OrderType.LIMIT), "needs a limit price"),
        (req("r4", Side.BUY, OrderType.STOP_LIMIT, limit="1.00"), "needs a stop price"),
    ],
)
def test_the_venue_rejects_with_a_reason(
    paper: PaperBroker, request_: OrderRequest, reason: str
) -> None:
    events = record(paper)
    report = paper.submit(request_)
    assert report.status is OrderStatus.REJECTED and reason in (report.reject_reason or "")
    assert isinstance(events[0], OrderRejected) and reason in events[0].reason


def test_buying_power_counts_the_open_buy_orders(paper: PaperBroker) -> None:
    paper.submit(req("bp1", Side.BUY, OrderType.LIMIT, 600, limit="100.00"))
    assert paper.balances().buying_power == CAPITAL - D("60001")
    report = paper.submit(req("bp2", Side.BUY, OrderType.LIMIT, 400, limit="100.00"))
    assert report.status is OrderStatus.REJECTED


def test_day_order_after_the_close_is_rejected_and_gtc_is_queued(
    store: Store,
) -> None:
    clock = SimClock(AFTER_CLOSE)
    paper = make_paper(store, clock)
    day = paper.submit(req("d1", Side.BUY, OrderType.LIMIT, limit="99.00"))
    assert day.status is OrderStatus.REJECTED and "market closed" in (day.reject_reason or "")
    gtc = paper.submit(req("g1", Side.BUY, OrderType.LIMIT, limit="99.00", tif=TimeInForce.GTC))
    assert gtc.status is OrderStatus.ACCEPTED


def test_day_order_sent_pre_market_waits_for_the_open_and_expires_at_the_close(
    store: Store,
) -> None:
    clock = SimClock(PRE_MARKET)
    paper = make_paper(store, clock)
    events = record(paper)
    paper.submit(req("d2", Side.BUY, OrderType.LIMIT, limit="90.00"))
    paper.submit(req("g2", Side.BUY, OrderType.LIMIT, limit="90.00", tif=TimeInForce.GTC))
    play(paper, clock, [quote("AAPL", "80.00", "80.01", ts=PRE_MARKET)])  # closed: no fill
    assert fills(events) == []
    play(paper, clock, [quote("AAPL", "99.00", "99.01", ts=at(60)),
                        quote("AAPL", "99.00", "99.01", ts=SESSION_CLOSE)])  # fmt: skip
    expired = [e for e in events if isinstance(e, OrderExpired)]
    assert [e.client_order_id for e in expired] == ["d2"] and expired[0].ts_event == SESSION_CLOSE
    assert paper.get_order_by_client_id(ClientOrderId("g2")).status is OrderStatus.ACCEPTED


def test_no_fill_from_a_halted_quote(paper: PaperBroker, clock: SimClock) -> None:
    events = record(paper)
    paper.submit(req("h1", Side.BUY, OrderType.MARKET, 10))
    play(paper, clock, [quote("AAPL", "99.00", "99.01", ts=at(1), halted=True)])
    assert fills(events) == []


def test_partial_fills_take_at_most_the_quoted_size(store: Store, clock: SimClock) -> None:
    paper = make_paper(store, clock, partial_fills=True)
    events = record(paper)
    paper.submit(req("p1", Side.BUY, OrderType.LIMIT, 100, limit="100.00"))
    play(paper, clock, [quote("AAPL", "99.90", "100.00", ts=at(1), ask_size=30),
                        quote("AAPL", "99.90", "99.95", ts=at(2), ask_size=500)])  # fmt: skip
    assert [(f.quantity, f.price, f.fill_id) for f in fills(events)] == [
        (30, D("100.00"), "P00000001-1"), (70, D("99.95"), "P00000001-2"),
    ]  # fmt: skip
    report = paper.get_order_by_client_id(ClientOrderId("p1"))
    assert report.avg_fill_price == D("99.965") and report.status is OrderStatus.FILLED
    assert paper.balances().cash == CAPITAL - D("3000.00") - D("6996.50") - D("2.00")


def test_a_known_client_order_id_never_makes_a_second_order(paper: PaperBroker) -> None:
    first = paper.submit(req("dup", Side.BUY, OrderType.LIMIT, limit="90.00"))
    second = paper.submit(req("dup", Side.BUY, OrderType.LIMIT, limit="90.00"))
    assert first == second and len(paper.list_open_orders()) == 1


def test_replace_changes_an_open_order_and_refuses_a_closed_one(paper: PaperBroker) -> None:
    paper.submit(req("rp", Side.BUY, OrderType.LIMIT, limit="90.00"))
    report = paper.replace(ClientOrderId("rp"), quantity=50, limit_price=D("91.00"))
    assert (report.quantity, report.limit_price) == (50, D("91.00"))
    paper.cancel(ClientOrderId("rp"))
    with pytest.raises(RejectedError):
        paper.replace(ClientOrderId("rp"), quantity=10)


def test_a_new_paper_broker_over_the_same_database_knows_everything(
    store: Store, paper: PaperBroker, clock: SimClock
) -> None:
    hold(paper, clock, 100, "50.00")
    paper.submit(req("open1", Side.SELL, OrderType.LIMIT, 40, limit="60.00", tif=TimeInForce.GTC))
    before = (paper.list_open_orders(), paper.positions(), paper.balances().cash,
              paper.fills_since(at(0)))  # fmt: skip
    restarted = make_paper(store, clock, initial_capital=D("1"))  # the stored account wins
    after = (restarted.list_open_orders(), restarted.positions(), restarted.balances().cash,
             restarted.fills_since(at(0)))  # fmt: skip
    assert after == before
    assert restarted.positions()[0].quantity == 100
    assert restarted.submit(req("next", Side.BUY, OrderType.MARKET, 1)).broker_order_id == (
        "P00000003"
    )


def test_the_same_script_on_two_fresh_venues_gives_the_same_ids_and_fills(tmp_path: Path) -> None:
    def replay(name: str) -> list[OrderFilled]:
        store = Store.open(f"sqlite:///{tmp_path / name}")
        clock = SimClock(at(0))
        paper = make_paper(store, clock, partial_fills=True)
        paper.submit(req("a", Side.BUY, OrderType.LIMIT, 50, limit="20.00"))
        paper.submit(req("b", Side.BUY, OrderType.MARKET, 30, ticker="MSFT"))
        play(paper, clock, [quote("AAPL", "19.98", "20.00", ts=at(1), ask_size=20),
                            quote("MSFT", "30.00", "30.02", ts=at(2)),
                            quote("AAPL", "19.97", "19.99", ts=at(3), ask_size=100)])  # fmt: skip
        fills = paper.fills_since(at(0))
        store.close()
        return fills

    first, second = replay("one.db"), replay("two.db")
    assert first == second
    assert [f.fill_id for f in first] == ["P00000001-1", "P00000002-1", "P00000001-2"]


def test_paper_broker_from_config_uses_the_trading_and_paper_sections(
    store: Store, clock: SimClock
) -> None:
    from quant_agent.config import LiveTradingConfig, PaperConfig

    config = LiveTradingConfig()
    paper = PaperBroker.from_config(store, clock, config.trading, PaperConfig(partial_fills=True))
    events = record(paper)
    paper.submit(req("cfg", Side.BUY, OrderType.MARKET, 10))
    play(paper, clock, [quote("AAPL", "9.99", "10.00", ts=at(1), ask_size=4)])
    (fill,) = fills(events)
    assert (fill.quantity, fill.price, fill.commission) == (4, D("10.01"), D("1.0"))
    assert paper.balances().cash == config.trading.initial_capital - D("40.04") - D("1.0")
