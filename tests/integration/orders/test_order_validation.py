"""Validation through the order manager: each rule has a clear error and stores nothing.

The rules are pure (``order_validation.py``); one SQLite database serves the whole module,
and ``test_order_manager.py`` checks "nothing stored" on both backends.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from quant_agent.core.clock import SimClock
from quant_agent.core.enums import Side
from quant_agent.core.errors import OrderValidationError
from quant_agent.order_manager import OrderManager
from quant_agent.storage.store import Store
from quant_agent.testkit.faults import RecordingSleep
from quant_agent.testkit.quotes import SESSION_OPEN

from .conftest import make_paper

D = Decimal


@pytest.fixture(scope="module")
def om(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrderManager]:
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('validation') / 'qa.db'}")
    clock = SimClock(SESSION_OPEN)
    yield OrderManager(store, make_paper(store, clock), clock, sleep=RecordingSleep())
    store.close()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda om: om.create_market_order("AAPL", Side.BUY, 0), "quantity: must be a positive"),
        (lambda om: om.create_market_order("AAPL", Side.BUY, -5), "quantity: must be a positive"),
        (lambda om: om.create_market_order("AAPL", Side.BUY, D("1.5")), "whole number"),
        (lambda om: om.create_market_order("AAPL", Side.BUY, True), "whole number"),
        (lambda om: om.create_limit_order("AAPL", Side.BUY, 1, "-1"), "must be positive"),
        (lambda om: om.create_limit_order("AAPL", Side.BUY, 1, "10.005"), "not on the 0.01 tick"),
        (lambda om: om.create_limit_order("AAPL", Side.BUY, 1, "0.12345"), "0.0001 tick"),
        (lambda om: om.create_limit_order("AAPL", Side.BUY, 1, float("nan")), "not a finite"),
        (lambda om: om.create_limit_order("AAPL", Side.BUY, 1, None), "needs one"),
        (lambda om: om.create_stop_order("AAPL", Side.SELL, 1, None), "needs one"),
        (lambda om: om.create_stop_limit_order("AAPL", Side.SELL, 1, "10.00", "10.50"),
         "could not fill when triggered"),
        (lambda om: om.create_stop_limit_order("AAPL", Side.BUY, 1, "10.00", "9.50"),
         "could not fill when triggered"),
        (lambda om: om.create_market_order("AAPL", "HOLD", 1), "side: 'HOLD' is not one of"),
        (lambda om: om.create_market_order("AAPL", Side.BUY, 1, time_in_force="IOC"),
         "time_in_force"),
        (lambda om: om.create_market_order("bad ticker!", Side.BUY, 1), "ticker"),
        (lambda om: om.create_bracket_order("AAPL", "100.00", "101.00", "110.00", 10),
         "stop_loss: 101.00 must be below the entry 100.00"),
        (lambda om: om.create_bracket_order("AAPL", "100.00", "95.00", "99.00", 10),
         "take_profit: 99.00 must be above the entry 100.00"),
        (lambda om: om.create_bracket_order("AAPL", "100.00", "95.00", "105.00", 10,
                                            side=Side.SELL), "short bracket"),
        (lambda om: om.create_bracket_order("AAPL", "100.001", "95.00", "105.00", 10), "tick"),
    ],
)  # fmt: skip
def test_each_validation_rule_raises_a_clear_error_and_stores_nothing(
    om: OrderManager, call: object, message: str
) -> None:
    with pytest.raises(OrderValidationError, match=message):
        call(om)  # type: ignore[operator]
    assert om.open_orders() == []


def test_identical_orders_without_an_intent_get_distinct_ids(om: OrderManager) -> None:
    first = om.create_limit_order("AAPL", Side.BUY, 10, "50.00")
    second = om.create_limit_order("AAPL", Side.BUY, 10, "50.00")
    assert first.client_order_id != second.client_order_id
