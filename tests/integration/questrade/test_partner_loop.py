"""Partner mode end to end (``broker.kind: questrade``): the executor trades through
QuestradeBroker against the sandbox's order state machine, the runner pumping the
notifications. An entry fills, the protective orders are placed and working at Questrade,
and a manual exit closes the position with its trade recorded. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from quant_agent.config import LiveTradingConfig
from quant_agent.core.enums import ExitReason, OrderRole, OrderStatus
from quant_agent.engine import build_engine
from quant_agent.live_runner import LiveRunner
from quant_agent.storage.store import Store
from quant_agent.testkit.executor import planned_signal

from .broker_harness import BrokerHarness, broker_harness
from .conftest import START, history

CONFIG = LiveTradingConfig.model_validate(
    {"broker": {"kind": "questrade"}, "data": {"source": "questrade"}}
)
TICKER = history().tickers[0]


def ask_and_bid(h: BrokerHarness) -> tuple[float, float]:
    market = h.sandbox.market
    record = market.quote(market.by_name[TICKER], h.clock.now())
    return float(record["askPrice"]), float(record["bidPrice"])


def sandbox_orders(h: BrokerHarness) -> list[tuple[str, str, str]]:
    return [(o["side"], o["orderType"], o["state"]) for _, _, o in h.sandbox.desk.orders]


def test_partner_mode_entry_fill_protection_and_exit(tmp_path: Path, store: Store) -> None:
    with broker_harness(tmp_path, store, fresh_account=True) as h:
        engine = build_engine(CONFIG, store, history(), START, clock=h.clock, venue=h.broker)
        runner = LiveRunner(CONFIG, store, history(), engine, live_clock=h.clock, venue=h.broker)
        asyncio.run(runner.step())  # start: reconciled against an empty account
        ask, bid = ask_and_bid(h)
        signal = planned_signal(TICKER, date(2026, 3, 2), f"{ask * 1.01:.2f}",
                                f"{bid * 0.9:.2f}", f"{ask * 1.2:.2f}", 10)  # fmt: skip
        assert engine.executor.process_signal(signal).action == "entered"

        def protected() -> bool:
            asyncio.run(runner.step())
            working = {o.role: o.status for o in engine.orders.open_orders()}
            return working == {OrderRole.STOP_LOSS: OrderStatus.ACCEPTED,
                               OrderRole.TAKE_PROFIT: OrderStatus.ACCEPTED}  # fmt: skip

        h.pump_until(protected)
        position = engine.positions.get(TICKER)
        assert position is not None and position.quantity == 10
        assert float(position.avg_entry_price) == ask  # filled at the sandbox's ask
        assert sandbox_orders(h) == [("Buy", "Market", "Executed"), ("Sell", "Stop", "Accepted"),
                                     ("Sell", "Limit", "Accepted")]  # fmt: skip

        exit_order = engine.executor.execute_exit(TICKER, ExitReason.MANUAL)
        assert exit_order is not None

        def closed() -> bool:
            asyncio.run(runner.step())
            return engine.positions.get(TICKER) is None and not engine.orders.open_orders()

        h.pump_until(closed)
        with store.unit_of_work() as uow:
            trades = uow.trades.list()
        assert [(str(t.ticker), t.exit_reason, t.quantity) for t in trades] == [
            (TICKER, ExitReason.MANUAL, 10)]  # fmt: skip
        states = sorted(sandbox_orders(h))
        assert ("Sell", "Market", "Executed") in states
        assert ("Sell", "Stop", "Canceled") in states and ("Sell", "Limit", "Canceled") in states
        assert [s for s in states if s[2] in ("Accepted", "Pending", "Partial")] == []
        assert h.sandbox.desk.positions(h.broker._account) == []
        assert engine.risk.state.value == "RUNNING"  # no reconciliation break
