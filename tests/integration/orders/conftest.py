"""Fixtures for the order layer: a simulated clock in a NYSE session, the paper venue, the
order manager, on each database backend (through the shared ``store`` fixture)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from quant_agent.brokers.paper import PaperBroker
from quant_agent.config import OrdersConfig
from quant_agent.core.clock import SimClock
from quant_agent.order_manager import OrderManager
from quant_agent.storage.store import Store
from quant_agent.testkit.faults import FaultyBroker, RecordingSleep
from quant_agent.testkit.quotes import SESSION_OPEN

CAPITAL = Decimal("100000")
COMMISSION = Decimal("1.00")
SLIPPAGE = Decimal("0.05")


def make_paper(store: Store, clock: SimClock, **overrides: object) -> PaperBroker:
    options: dict[str, object] = {
        "initial_capital": CAPITAL,
        "commission_per_trade": COMMISSION,
        "slippage_pct": SLIPPAGE,
    }
    options.update(overrides)
    return PaperBroker(store, clock, **options)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> SimClock:
    return SimClock(SESSION_OPEN)


@pytest.fixture
def paper(store: Store, clock: SimClock) -> PaperBroker:
    return make_paper(store, clock)


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def faulty(paper: PaperBroker) -> FaultyBroker:
    return FaultyBroker(paper)


@pytest.fixture
def om(store: Store, paper: PaperBroker, clock: SimClock, sleep: RecordingSleep) -> OrderManager:
    return OrderManager(store, paper, clock, sleep=sleep)


@pytest.fixture
def faulty_om(
    store: Store, faulty: FaultyBroker, clock: SimClock, sleep: RecordingSleep
) -> OrderManager:
    return OrderManager(store, faulty, clock, sleep=sleep, config=OrdersConfig())
