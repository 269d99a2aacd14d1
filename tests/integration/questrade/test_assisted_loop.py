"""Assisted mode end to end (``broker.kind: questrade-assisted``, a personal key): every
order becomes a stored, published ticket with its exact terms (and an entry's bracket
legs); the trader's "manual" placements in the sandbox are detected through the
notifications stream, matched to the tickets, and the position is managed to its exit.
An order the trader enters that matches no ticket is reported as unknown broker activity."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from quant_agent.brokers.base import OrderRequest
from quant_agent.config import LiveTradingConfig
from quant_agent.core.enums import ExitReason, OrderRole, OrderStatus
from quant_agent.core.events import OrderTicketIssued
from quant_agent.core.ids import ClientOrderId, Ticker
from quant_agent.engine import attach_assisted, build_engine
from quant_agent.live_runner import LiveRunner
from quant_agent.questrade.assisted import AssistedBroker
from quant_agent.storage.store import Store
from quant_agent.testkit.executor import planned_signal

from .broker_harness import BrokerHarness, broker_harness
from .conftest import START, history

CONFIG = LiveTradingConfig.model_validate(
    {"broker": {"kind": "questrade-assisted"}, "data": {"source": "questrade"}}
)
TICKER = history().tickers[0]


def trader_does(h: BrokerHarness, ticket: dict[str, Any]) -> None:
    """What the trader does in Questrade's own platform with one ticket."""
    desk, account = h.sandbox.desk, str(ticket["account"])
    if ticket["kind"] == "cancel":
        h.on_server(lambda: desk.cancel(account, int(ticket["questrade_order_id"])))
        return
    assert ticket["kind"] == "place", ticket
    money = {
        k: None if ticket[k] is None else float(ticket[k]) for k in ("limit_price", "stop_price")
    }
    body = {
        "accountNumber": account, "symbolId": h.sandbox.market.by_name[ticket["ticker"]].symbol_id,
        "quantity": ticket["quantity"], "orderType": ticket["order_type"],
        "timeInForce": ticket["time_in_force"], "action": ticket["side"],
        "limitPrice": money["limit_price"], "stopPrice": money["stop_price"],
        "primaryRoute": "AUTO", "secondaryRoute": "AUTO",
    }  # fmt: skip
    h.on_server(lambda: desk.place_manual(account, body))


def test_assisted_tickets_are_placed_by_hand_matched_and_managed_to_the_exit(
    tmp_path: Path, store: Store
) -> None:
    with broker_harness(tmp_path, store, partner=False, fresh_account=True,
                        broker_cls=AssistedBroker) as h:  # fmt: skip
        broker = h.broker
        assert isinstance(broker, AssistedBroker)
        engine = build_engine(CONFIG, store, history(), START, clock=h.clock, venue=broker)
        attach_assisted(engine, broker)
        published: list[OrderTicketIssued] = []
        engine.bus.subscribe(OrderTicketIssued, published.append)
        runner = LiveRunner(CONFIG, store, history(), engine, live_clock=h.clock, venue=broker)
        step = lambda: asyncio.run(runner.step())  # noqa: E731
        step()
        record = h.sandbox.market.quote(h.sandbox.market.by_name[TICKER], h.clock.now())
        ask, bid = float(record["askPrice"]), float(record["bidPrice"])
        stop, target = Decimal(f"{bid * 0.9:.2f}"), Decimal(f"{ask * 1.2:.2f}")
        signal = planned_signal(TICKER, date(2026, 3, 2), f"{ask * 1.01:.2f}", str(stop),
                                str(target), 10, entry_type="limit")  # fmt: skip
        assert engine.executor.process_signal(signal).action == "entered"

        # 1. The entry is a ticket; nothing was sent to Questrade.
        tickets = broker.tickets.list()
        assert [(t["kind"], t["side"], t["quantity"], t["ticker"]) for t in tickets] == [
            ("place", "Buy", 10, TICKER)]  # fmt: skip
        entry = tickets[0]
        assert entry["order_type"] == "Limit"
        assert entry["limit_price"] == Decimal(f"{ask * 1.01:.2f}")
        assert [p.text for p in published] == [entry["text"]]
        assert f"stop {stop:.2f}" in entry["text"] and f"limit {target:.2f}" in entry["text"]
        assert len(__import__("json").loads(entry["legs"])) == 2
        assert h.sandbox.desk.orders == [] and h.sandbox.desk.placed == 0
        (order,) = [o for o in engine.orders.open_orders() if o.role is OrderRole.ENTRY]
        assert order.status is OrderStatus.SUBMITTED
        engine.orders.recover()  # as after a restart: still one ticket, still SUBMITTED
        assert broker.submit(OrderRequest.from_order(order)).status is OrderStatus.SUBMITTED
        assert len(broker.tickets.list()) == 1 and h.sandbox.desk.placed == 0
        unknown = broker.submit(replace(OrderRequest.from_order(order), ticker=Ticker("NOPE"),
                                        client_order_id=ClientOrderId("qa-nope")))  # fmt: skip
        assert unknown.status is OrderStatus.REJECTED and len(broker.tickets.list()) == 1

        # 2. The trader places it: matched, filled, and the protective orders are ticketed.
        trader_does(h, entry)

        def protective_tickets() -> bool:
            step()
            return len(broker.tickets.list()) == 3

        h.pump_until(protective_tickets)
        assert engine.orders.get_order_status(order.client_order_id) is OrderStatus.FILLED
        position = engine.positions.get(TICKER)
        assert position is not None and position.quantity == 10
        legs = broker.tickets.list()[1:]
        assert sorted((t["order_type"], t["stop_price"] or t["limit_price"]) for t in legs) == [
            ("Limit", target), ("Stop", stop)]  # fmt: skip
        for ticket in legs:
            trader_does(h, ticket)

        def protected() -> bool:
            step()
            working = {o.role: o.status for o in engine.orders.open_orders()}
            return working == {OrderRole.STOP_LOSS: OrderStatus.ACCEPTED,
                               OrderRole.TAKE_PROFIT: OrderStatus.ACCEPTED}  # fmt: skip

        h.pump_until(protected)

        # 3. An order the trader enters on their own is unknown activity, not ours.
        other = history().tickers[1]
        quoted = h.sandbox.market.quote(h.sandbox.market.by_name[other], h.clock.now())
        low = float(quoted["bidPrice"]) * 0.5
        trader_does(h, {"kind": "place", "account": entry["account"], "ticker": other,
                        "quantity": 3, "order_type": "Limit", "time_in_force": "Day",
                        "side": "Buy", "limit_price": f"{low:.2f}",
                        "stop_price": None})  # fmt: skip
        step()
        unknown = [o for o in broker.list_open_orders() if o.client_order_id.startswith("QT-")]
        assert [(str(o.ticker), o.quantity) for o in unknown] == [(other, 3)]
        assert engine.orders.get_order(unknown[0].client_order_id) is None  # not adopted
        trader_does(h, {"kind": "cancel", "account": entry["account"],
                        "questrade_order_id": unknown[0].broker_order_id})  # fmt: skip

        # 4. Exit: cancel tickets for both protective orders, then the sell ticket.
        engine.executor.execute_exit(TICKER, ExitReason.MANUAL)
        exit_tickets = broker.tickets.list()[3:]
        assert sorted(t["kind"] for t in exit_tickets) == ["cancel", "cancel", "place"]
        for ticket in exit_tickets:
            trader_does(h, ticket)

        def closed() -> bool:
            step()
            return engine.positions.get(TICKER) is None and not engine.orders.open_orders()

        h.pump_until(closed)
        with store.unit_of_work() as uow:
            trades = uow.trades.list()
        assert [(str(t.ticker), t.exit_reason, t.quantity) for t in trades] == [
            (TICKER, ExitReason.MANUAL, 10)]  # fmt: skip
        assert h.sandbox.desk.positions(broker._account) == []
        assert engine.risk.state.value == "RUNNING"
        assert len(published) == len(broker.tickets.list()) == 6
