"""The runner's quote path: a stale, future or halted quote never reaches the paper venue
or the executor, so no order can fill or be triggered from it; a fresh one does."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from quant_agent.config import DataConfig, LiveTradingConfig
from quant_agent.core.enums import OrderStatus, Side
from quant_agent.market.source import load_history
from quant_agent.runner import Runner
from quant_agent.storage.store import Store
from quant_agent.testkit.quotes import quote

OPEN = datetime(2024, 2, 8, 14, 30, tzinfo=UTC)


def test_only_fresh_quotes_reach_the_venue_and_the_executor(store: Store) -> None:
    history = load_history(DataConfig(demo_tickers=4))
    runner = Runner(LiveTradingConfig(), store, history, (date(2024, 2, 8), date(2024, 2, 8)))
    engine = runner.engine
    engine.clock.set(OPEN)
    engine.executor.start()
    order = engine.orders.create_limit_order("AAPL", Side.BUY, 10, "100.00")
    engine.orders.submit_order(order.client_order_id)
    crossing = [
        quote("AAPL", "99.00", "99.01", ts=OPEN - timedelta(minutes=5)),  # stale
        quote("AAPL", "99.00", "99.01", ts=OPEN + timedelta(seconds=5)),  # from the future
        quote("AAPL", "99.00", "99.01", ts=OPEN, halted=True),
    ]
    runner.on_quotes(crossing)
    assert engine.broker.last_quote(crossing[0].ticker) is None
    assert engine.orders.get_order_status(order.client_order_id) is OrderStatus.ACCEPTED
    assert engine.guard.rejected == 3
    runner.on_quotes([quote("AAPL", "99.00", "99.01", ts=OPEN)])
    assert engine.orders.get_order_status(order.client_order_id) is OrderStatus.FILLED
