"""Broker faults against the local Questrade sandbox in partner mode, on SQLite and
PostgreSQL: the executor trades through ``QuestradeBroker`` (REST order calls, the
notifications stream) while a random sandbox fault is armed before every step: an order
call that takes effect then answers 503 (the reply lost), 5xx bursts, 429 storms (the
per-second window, with Questrade's ``X-RateLimit-*`` headers), an order error under HTTP
200, a rejection after Pending, notifications pushed twice, executions listed twice by the
executions endpoint, and acknowledgements pushed after their fills.

Afterwards (faults off, the store caught up, open orders settled): every order at Questrade
belongs to exactly one client id (nothing sent twice), no execution is recorded twice,
fills and positions equal Questrade's, and every held position is protected at Questrade
for exactly the shares held.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from quant_agent.core.enums import ExitReason, Severity, TradingState
from quant_agent.storage.store import Store
from quant_agent.testkit.executor import planned_signal

from .broker_checks import protection_matches_holdings, venue_books_agree
from .budget import counts
from .questrade_desk import TICKERS, QuestradeDesk, arm_sandbox_fault, disarm, questrade_desk

SEEDS = range(counts(1, 12))
STEPS = counts(16, 60)


@pytest.fixture(params=SEEDS, ids=lambda seed: f"seed{seed}")
def seed(request: pytest.FixtureRequest) -> int:
    return int(request.param)


@pytest.fixture
def desk(tmp_path: Path, store: Store) -> Iterator[QuestradeDesk]:
    with questrade_desk(tmp_path, store) as made:
        yield made


def enter(desk: QuestradeDesk, rng: random.Random, day: date) -> str:
    ticker = rng.choice(TICKERS)
    market = desk.h.sandbox.market
    ask = Decimal(str(market.quote(market.by_name[ticker], desk.h.clock.now())["askPrice"]))
    qty = rng.randint(3, 20)
    signal = planned_signal(ticker, day, f"{ask}", f"{ask * Decimal('0.97'):.2f}",
                            f"{ask * Decimal('1.03'):.2f}", qty)  # fmt: skip
    return f"enter {ticker} x{qty}: {desk.engine.executor.process_signal(signal).action}"


def step(desk: QuestradeDesk, rng: random.Random, number: int) -> str:
    action = rng.choice(("enter", "enter", "wait", "exit"))
    executor = desk.engine.executor
    if action == "enter":
        done = enter(desk, rng, date(2026, 3, 2) - timedelta(days=number))
    elif action == "exit" and (held := desk.engine.positions.get_active_positions()):
        ticker = str(rng.choice(held).ticker)
        executor.execute_exit(ticker, ExitReason.MANUAL)
        done = f"exit {ticker}"
    else:  # time passes: the sandbox works the stops and targets the quotes reach
        desk.h.clock.advance(timedelta(minutes=rng.randint(1, 8)))
        desk.h.on_server(desk.h.sandbox.desk.match)
        done = "wait"
    desk.settle()
    executor.monitor_positions(desk.h.clock.now())
    desk.settle()
    return done


def test_random_questrade_faults_never_duplicate_an_order_or_a_fill(
    desk: QuestradeDesk, seed: int
) -> None:
    rng = random.Random(seed)
    engine = desk.engine
    engine.executor.start()
    log = [f"{arm_sandbox_fault(desk, rng)} -> {step(desk, rng, n)}" for n in range(STEPS)]
    disarm(desk)
    engine.orders.recover()
    desk.settle()
    engine.executor.monitor_positions(desk.h.clock.now())
    desk.settle()
    desk.sent_once()
    since = desk.h.clock.now() - timedelta(days=1)
    with desk.store.unit_of_work() as uow:  # a rejected stop or exit: the operator's turn
        halts = [e.message for e in uow.risk_events.list() if e.severity is Severity.CRITICAL]
    # the sandbox's balances are fixed, so a losing day can reach the daily loss limit
    assert all("rejected" in h or h.startswith("daily loss") for h in halts), halts
    assert (engine.risk.state is TradingState.RUNNING) == (halts == []), halts
    try:
        venue_books_agree(engine.orders, engine.positions, desk.h.broker, since=since)
        protection_matches_holdings(engine.orders, engine.positions, halted_on=" ".join(halts))
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n" + "\n".join(log)) from None
