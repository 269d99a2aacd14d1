"""Broker faults on the paper venue (wrapped in ``FaultyBroker``), on SQLite and PostgreSQL.

Each seed trades a random session through the executor (bracket entries at market, partial
fills from thin quotes, stops hit, exits by hand) while a random fault is armed before every
step: a submit that times out after the venue accepted it, a 429 storm or a 5xx burst on an
order call or a lookup (sometimes longer than the retries), duplicated fill events, fills
delivered before their acknowledgement. Afterwards (faults off, open orders settled, then a
restart) no client order id reached the venue twice, no fill is counted twice, positions
and cash equal the venue's to the cent, and every held position is protected for exactly
the shares held. The same faults against the Questrade sandbox: test_questrade_faults.py.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest

from quant_agent.brokers.base import Broker
from quant_agent.brokers.paper import PaperBroker
from quant_agent.config import LiveTradingConfig
from quant_agent.core.enums import ExitReason, TradingState
from quant_agent.core.errors import TransientBrokerError
from quant_agent.storage.store import Store
from quant_agent.testkit.executor import Desk, make_desk, planned_signal
from quant_agent.testkit.faults import FaultyBroker
from quant_agent.testkit.quotes import SESSION_OPEN, quote

from .broker_checks import protection_matches_holdings, sent_once, venue_books_agree
from .budget import counts

CONFIG = LiveTradingConfig.model_validate({"paper": {"partial_fills": True}})
TICKERS = ("AAA", "BBB", "CCC", "DDD")
CALLS = ("submit", "cancel", "replace", "get_order_by_client_id")
SIGNAL_DAY = date(2025, 3, 7)
SEEDS = range(counts(2, 40))
STEPS = counts(30, 120)


def arm_random_fault(faulty: FaultyBroker, rng: random.Random) -> str:
    """Arm one fault for the next step; return what it was (for the failure message)."""
    kind = rng.choice(("timeout", "429", "5xx", "duplicates", "early fills", "none"))
    if kind == "timeout":
        faulty.time_out_after_submit(rng.randint(1, 2))
    elif kind in ("429", "5xx"):
        call = rng.choice(CALLS)
        text = "HTTP 429 Too Many Requests" if kind == "429" else "HTTP 503 Service Unavailable"
        faulty.fail_before(call, rng.randint(1, 6), text)  # > 3 retries: the call gives up
        kind = f"{kind} x{faulty.pending_errors(call)} on {call}"
    elif kind == "duplicates":
        faulty.duplicate_fills = not faulty.duplicate_fills
    elif kind == "early fills":
        faulty.fills_before_acks = not faulty.fills_before_acks
        if not faulty.fills_before_acks:
            faulty.release_acks()
    return kind


class Session:
    """A seeded random trading session on a desk whose venue is a ``FaultyBroker``."""

    def __init__(self, store: Store, seed: int) -> None:
        self.rng = random.Random(seed)
        self.faulty: FaultyBroker | None = None
        self.desk = make_desk(store, SESSION_OPEN, CONFIG, wrap_venue=self._wrap)
        self.prices = {t: Decimal(self.rng.randint(20, 80)) for t in TICKERS}
        self.log: list[str] = []
        self.entries = 0

    def _wrap(self, venue: PaperBroker) -> Broker:
        self.faulty = FaultyBroker(venue)
        return self.faulty

    def quotes(self, *, thin: bool = True) -> None:
        """Move every price a little and show one quote each (thin: partial fills)."""
        self.desk.at(self.desk.clock.now() + timedelta(minutes=1))
        for ticker, price in self.prices.items():
            step = Decimal(self.rng.randint(-30, 30)) / 1000
            price = self.prices[ticker] = (price * (1 + step)).quantize(Decimal("0.01"))
            size = self.rng.choice((0, 3, 10, 25)) if thin else 0
            q = quote(ticker, price, price + Decimal("0.02"), ts=self.desk.clock.now(),
                      bid_size=size, ask_size=size)  # fmt: skip
            self.desk.play([q])

    def enter(self) -> None:
        ticker = self.rng.choice(TICKERS)
        ask, qty = self.prices[ticker] + Decimal("0.02"), self.rng.randint(5, 40)
        self.entries += 1  # one signal a day: each entry has its own intent
        day = SIGNAL_DAY - timedelta(days=self.entries)
        signal = planned_signal(ticker, day, f"{ask}", f"{ask * Decimal('0.96'):.2f}",
                                f"{ask * Decimal('1.05'):.2f}", qty)  # fmt: skip
        self.log.append(f"enter {ticker} x{qty}: {self.desk.executor.process_signal(signal)}")

    def exit(self) -> None:
        held = [str(p.ticker) for p in self.desk.positions.get_active_positions()]
        if held:
            ticker = self.rng.choice(held)
            self.log.append(f"exit {ticker}")
            self.desk.executor.execute_exit(ticker, ExitReason.MANUAL)

    def run(self, steps: int) -> None:
        assert self.faulty is not None
        for _ in range(steps):
            self.log.append(f"fault: {arm_random_fault(self.faulty, self.rng)}")
            action = self.rng.choice((self.enter, self.quotes, self.quotes, self.exit))
            action()
            self.desk.executor.monitor_positions(self.desk.clock.now())

    def settle(self) -> None:
        """Faults off: settle what was left in doubt, as the next start would."""
        assert self.faulty is not None
        self.faulty.disarm()
        self.desk.orders.recover()
        self.desk.executor.sync()
        self.quotes(thin=False)


@pytest.fixture(params=SEEDS, ids=lambda seed: f"seed{seed}")
def session(request: pytest.FixtureRequest, store: Store) -> Iterator[Session]:
    yield Session(store, request.param)


def test_random_broker_faults_never_duplicate_an_order_or_a_fill(
    session: Session, store: Store
) -> None:
    desk = session.desk
    desk.executor.start()
    try:
        session.run(STEPS)
    except TransientBrokerError as exc:  # the executor and the venue must absorb them all
        pytest.fail(f"a broker fault escaped: {exc}\n" + "\n".join(session.log))
    session.settle()
    assert session.faulty is not None
    sent_once(session.faulty.venue_submits)
    initial = CONFIG.trading.initial_capital
    venue_books_agree(desk.orders, desk.positions, desk.venue, initial_cash=initial)
    protection_matches_holdings(desk.orders, desk.positions)
    again: Desk = make_desk(store, desk.clock.now(), CONFIG)
    notes = again.executor.start()
    assert [n for n in notes if "position" in n or "unknown order" in n] == []
    assert again.risk.state is TradingState.RUNNING
    venue_books_agree(again.orders, again.positions, again.venue, initial_cash=initial)
