"""QuestradeBroker against the sandbox: reads, partner-mode order lifecycle through the
OrderManager (SQLite and PostgreSQL), lookups instead of blind retries, personal-key refusal."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from quant_agent.brokers.base import Broker, OrderRequest
from quant_agent.config import OrdersConfig
from quant_agent.core.enums import OrderStatus, OrderType, Side
from quant_agent.core.errors import RejectedError
from quant_agent.core.events import OrderEvent, OrderFilled
from quant_agent.core.ids import ClientOrderId, Ticker
from quant_agent.order_manager import OrderManager
from quant_agent.questrade.order_map import OrderMap
from quant_agent.storage.store import Store

from .broker_harness import BrokerHarness, broker_harness


def manager(h: BrokerHarness, store: Store) -> OrderManager:
    return OrderManager(store, h.broker, h.clock, config=OrdersConfig(), sleep=lambda _: None)


def ask(h: BrokerHarness, ticker: str = "AAPL") -> Decimal:
    info = h.sandbox.market.by_name[ticker]
    return Decimal(str(h.sandbox.market.quote(info, h.clock.now())["askPrice"]))


def test_reads_positions_balances_open_orders_and_executions(tmp_path: Path, store: Store) -> None:
    with broker_harness(tmp_path, store, stream=False) as h:
        assert isinstance(h.broker, Broker)
        positions = h.broker.positions()
        balances = h.broker.balances()
        open_orders = h.broker.list_open_orders()
        fills = h.broker.fills_since(h.clock.now() - timedelta(hours=2))
        by_id = h.broker.get_order(open_orders[0].broker_order_id)

    assert positions and all(p.quantity != 0 for p in positions)
    assert balances.equity > 0 and balances.buying_power > 0
    assert [o.status for o in open_orders] == [OrderStatus.ACCEPTED]
    assert open_orders[0].client_order_id == "QT-ORDER-177106006"  # entered by hand
    assert by_id == open_orders[0]
    assert [(f.fill_id, f.quantity, f.price) for f in fills] == [
        ("QT-53817310", 10, Decimal("150"))
    ]
    assert fills[0].commission == Decimal("4.95")


def test_order_lifecycle_through_the_order_manager(tmp_path: Path, store: Store) -> None:
    with broker_harness(tmp_path, store) as h:
        om = manager(h, store)
        # submit → Pending (SUBMITTED), then Accepted and Executed on the notifications stream
        order = om.create_market_order("AAPL", Side.BUY, 10, intent=("qt", 1))
        assert om.submit_order(order.client_order_id).status is OrderStatus.SUBMITTED
        h.pump_until(lambda: om.get_order_status(order.client_order_id) is OrderStatus.FILLED)
        (fill,) = om.fills(order.client_order_id)
        assert fill.fill_id.startswith("QT-") and fill.price == ask(h)

        # a limit far below the market is accepted and works; then it is canceled
        low = (ask(h) * Decimal("0.5")).quantize(Decimal("0.01"))
        limit = om.create_limit_order("AAPL", Side.BUY, 5, low, intent=("qt", 2))
        om.submit_order(limit.client_order_id)
        h.pump_until(lambda: om.get_order_status(limit.client_order_id) is OrderStatus.ACCEPTED)
        assert [o.client_order_id for o in h.broker.list_open_orders()].count(
            limit.client_order_id
        ) == 1
        om.cancel_order(limit.client_order_id)
        h.pump_until(lambda: om.get_order_status(limit.client_order_id) is OrderStatus.CANCELED)

        # the venue rejects the next order with a reason
        h.sandbox.desk.reject_next = 1
        bad = om.create_market_order("AAPL", Side.BUY, 3, intent=("qt", 3))
        om.submit_order(bad.client_order_id)
        h.pump_until(lambda: om.get_order_status(bad.client_order_id) is OrderStatus.REJECTED)

        # the fill also comes back through fills_since with the same deterministic id
        again = h.broker.fills_since(h.clock.now() - timedelta(minutes=1))
        assert fill.fill_id in {f.fill_id for f in again}
        assert om.fills(order.client_order_id) == [fill]


def test_partial_fills_then_replace_then_cancel_leaves_partial_cancel(
    tmp_path: Path, store: Store
) -> None:
    with broker_harness(tmp_path, store) as h:
        events: list[OrderEvent] = []
        h.broker.subscribe(events.append)
        h.sandbox.desk.partial_fill = 4
        coid = ClientOrderId("qt-partial-1")
        request = OrderRequest(client_order_id=coid, ticker=Ticker("AAPL"), side=Side.BUY,
                               order_type=OrderType.MARKET, quantity=10)  # fmt: skip
        report = h.broker.submit(request)
        h.pump_until(lambda: sum(isinstance(e, OrderFilled) for e in events) == 1)
        assert report.status is OrderStatus.SUBMITTED

        h.sandbox.desk.auto_fill = False
        amended = h.broker.replace(coid, quantity=8)
        assert amended.quantity == 8 and amended.filled_quantity == 4
        assert amended.broker_order_id != report.broker_order_id  # a new id in the chain
        canceled = h.broker.cancel(coid)
        assert canceled.status is OrderStatus.CANCELED and canceled.filled_quantity == 4
        assert h.broker.submit(request).broker_order_id == canceled.broker_order_id  # no 2nd


def test_a_lost_order_reply_is_looked_up_by_the_order_manager_never_resent(
    tmp_path: Path, store: Store
) -> None:
    with broker_harness(tmp_path, store) as h:
        h.sandbox.desk.auto_fill = False
        h.sandbox.faults.lost_order_replies = 1  # placed at Questrade, the reply is a 503
        om = manager(h, store)
        order = om.create_limit_order("AAPL", Side.BUY, 7, "1.00", intent=("qt", "lost"))

        after = om.submit_order(order.client_order_id)
        h.pump_until(lambda: om.get_order_status(order.client_order_id) is OrderStatus.ACCEPTED)
        posts = [p for m, p in h.sandbox.requests if m == "POST"]
        again = h.broker.submit(OrderRequest.from_order(after))

    assert after.status is OrderStatus.ACCEPTED and after.broker_order_id is not None
    assert len(posts) == 1 and h.sandbox.desk.placed == 1  # looked up, never sent twice
    assert again.broker_order_id == after.broker_order_id


def test_a_lost_reply_looked_up_in_the_same_second_is_found_not_resent(
    tmp_path: Path, store: Store
) -> None:
    with broker_harness(tmp_path, store, stream=False) as h:  # only the lookup can find it
        h.sandbox.faults.lost_order_replies = 1
        h.clock.advance(timedelta(milliseconds=600))  # query times go to the second
        om = manager(h, store)
        order = om.create_market_order("AAPL", Side.BUY, 7, intent=("qt", "lost", "second"))
        after = om.submit_order(order.client_order_id)
        assert after.status is OrderStatus.FILLED and len(om.fills()) == 1
        assert h.sandbox.desk.placed == 1


def test_an_order_error_under_http_200_is_looked_up_then_reported_rejected(
    tmp_path: Path, store: Store
) -> None:
    with broker_harness(tmp_path, store, stream=False) as h:
        h.sandbox.faults.order_error_200 = 1
        report = h.broker.submit(
            OrderRequest(
                client_order_id=ClientOrderId("qt-200"),
                ticker=Ticker("AAPL"),
                side=Side.BUY,
                order_type=OrderType.MARKET,
                quantity=1,
            )  # fmt: skip
        )
        posts = [p for m, p in h.sandbox.requests if m == "POST"]
    assert report.status is OrderStatus.REJECTED and "3054" in (report.reject_reason or "")
    assert len(posts) == 1  # never retried blindly


def test_a_refused_order_never_takes_a_later_order_with_the_same_terms(
    tmp_path: Path, store: Store
) -> None:
    with broker_harness(tmp_path, store) as h:  # the stream matches orders to intents too
        om = manager(h, store)
        refused = om.create_limit_order("AAPL", Side.BUY, 7, "1.00", intent=("qt", "a"))
        h.sandbox.faults.order_error_200 = 1
        assert om.submit_order(refused.client_order_id).status is OrderStatus.REJECTED
        later = om.create_limit_order("AAPL", Side.BUY, 7, "1.00", intent=("qt", "b"))
        om.submit_order(later.client_order_id)
        h.pump_until(lambda: om.get_order_status(later.client_order_id) is OrderStatus.ACCEPTED)
        assert om.get_order_status(refused.client_order_id) is OrderStatus.REJECTED
        placed = om.get_order(later.client_order_id)
        assert placed is not None and placed.broker_order_id is not None
        row = OrderMap(store).by_order_id(int(placed.broker_order_id))
        assert row is not None and row.client_order_id == later.client_order_id


def test_personal_key_refuses_orders_with_a_clear_message(tmp_path: Path, store: Store) -> None:
    with broker_harness(tmp_path, store, partner=False, stream=False) as h:
        assert "partner" in (h.broker.order_entry_problem or "")
        om = manager(h, store)
        order = om.create_market_order("AAPL", Side.BUY, 1, intent=("qt", 9))
        with pytest.raises(RejectedError, match="personal key"):
            h.broker.submit(OrderRequest.from_order(order))
        assert not [p for m, p in h.sandbox.requests if m == "POST"]


def test_from_config_connects_to_the_primary_account_and_streams_events(
    tmp_path: Path, store: Store
) -> None:
    from pydantic import SecretStr

    from quant_agent.config import QuestradeConfig
    from quant_agent.questrade.broker import QuestradeBroker

    with broker_harness(tmp_path, store, stream=False) as h:
        config = QuestradeConfig(
            login_url=h.sandbox.login_url, token_path=tmp_path / "cfg-token.json",
            refresh_token=SecretStr(h.sandbox.issue_refresh_token()), order_entry="partner",
        )  # fmt: skip
        broker = QuestradeBroker.from_config(config, store, h.clock)
        try:
            events: list[OrderEvent] = []
            broker.subscribe(events.append)
            broker.run_async(broker._stream.wait_up)  # type: ignore[union-attr]  # noqa: SLF001
            broker.submit(
                OrderRequest(
                    client_order_id=ClientOrderId("qt-cfg-1"),
                    ticker=Ticker("MSFT"),
                    side=Side.BUY,
                    order_type=OrderType.MARKET,
                    quantity=2,
                )  # fmt: skip
            )
            deadline_pumps = 40
            while not any(isinstance(e, OrderFilled) for e in events) and deadline_pumps:
                broker.pump(timeout=0.25)
                deadline_pumps -= 1
        finally:
            broker.close()
    assert broker.order_entry_problem is None
    assert [type(e).__name__ for e in events] == ["OrderAccepted", "OrderFilled"]


def test_a_working_day_order_expires_at_the_end_of_the_session(
    tmp_path: Path, store: Store
) -> None:
    with broker_harness(tmp_path, store) as h:
        om = manager(h, store)
        order = om.create_limit_order("AAPL", Side.BUY, 4, "1.00", intent=("qt", "day"))
        om.submit_order(order.client_order_id)
        h.pump_until(lambda: om.get_order_status(order.client_order_id) is OrderStatus.ACCEPTED)
        expired = h.on_server(h.sandbox.desk.expire_day_orders)
        h.pump_until(lambda: om.get_order_status(order.client_order_id) is OrderStatus.EXPIRED)
    assert expired == 2  # ours and the account's hand-entered limit order


def test_from_config_with_a_personal_key_warns_at_start_up(
    tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    from pydantic import SecretStr

    from quant_agent.config import QuestradeConfig
    from quant_agent.questrade.broker import QuestradeBroker

    with broker_harness(tmp_path, store, partner=False, stream=False) as h:
        config = QuestradeConfig(
            login_url=h.sandbox.login_url, token_path=tmp_path / "cfg-token.json",
            refresh_token=SecretStr(h.sandbox.issue_refresh_token()),
        )  # fmt: skip
        with caplog.at_level("WARNING", logger="quant_agent.questrade.broker"):
            broker = QuestradeBroker.from_config(config, store, h.clock)
        broker.close()
    assert "orders cannot be placed" in caplog.text and "personal key" in caplog.text


def test_an_unknown_symbol_or_a_refused_body_is_a_rejected_report_not_an_exception(
    tmp_path: Path, store: Store
) -> None:
    with broker_harness(tmp_path, store, stream=False) as h:
        unknown = h.broker.submit(
            OrderRequest(
                client_order_id=ClientOrderId("qt-zz"),
                ticker=Ticker("ZZZZ"),
                side=Side.BUY,
                order_type=OrderType.MARKET,
                quantity=1,
            )  # fmt: skip
        )
        odd = h.broker.submit(  # a stop order without its stop price: 400/1004 from Questrade
            OrderRequest(
                client_order_id=ClientOrderId("qt-stop"),
                ticker=Ticker("AAPL"),
                side=Side.SELL,
                order_type=OrderType.STOP,
                quantity=1,
            )  # fmt: skip
        )
    assert unknown.status is OrderStatus.REJECTED and "ZZZZ" in (unknown.reject_reason or "")
    assert odd.status is OrderStatus.REJECTED and "1004" in (odd.reject_reason or "")


def test_what_the_notifications_socket_missed_is_caught_up_after_it_reconnects(
    tmp_path: Path, store: Store
) -> None:
    """Pushes lost while the socket was silently dead (stalled), then the socket drops: the
    reconnect reads the day's orders and executions, so the fill arrives once, no restart."""
    with broker_harness(tmp_path, store) as h:
        om = manager(h, store)
        faults = h.sandbox.streams.faults
        faults.stalled = True  # every push from here on is lost
        order = om.create_market_order("AAPL", Side.BUY, 10, intent=("qt", 1))
        om.submit_order(order.client_order_id)
        h.pump_until(lambda: faults.swallowed >= 2)  # the acceptance and the execution
        assert om.get_order_status(order.client_order_id) is OrderStatus.SUBMITTED
        faults.stalled = False

        async def drop() -> None:
            h.sandbox.streams.drop("notifications")

        h.on_server(drop)
        h.pump_until(lambda: om.get_order_status(order.client_order_id) is OrderStatus.FILLED)
        (fill,) = om.fills(order.client_order_id)
        assert fill.quantity == 10 and fill.price == ask(h)
        assert h.stream.stats.connects == 2
