"""Property: over random sequences of signals and price paths, through the executor and the
paper venue, no state ever holds more than max positions (open or entering), an entry
above max % of equity, a sector above its limit or cash below the reserve after an entry;
and once the daily loss limit halts trading, no entry happens (there is no resume here).

Checked against the venue's own account and the test's own prices, not the gate's view.
Entries are limits at the plan price (a fill is never above what the gate checked).
SQLite in a temporary folder per example; modest example count, no deadline."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from quant_agent.config import LiveTradingConfig
from quant_agent.core.enums import OrderRole, TradingState
from quant_agent.core.money import round_to_tick
from quant_agent.storage.store import Store
from quant_agent.testkit.executor import Desk, make_desk, planned_signal
from quant_agent.testkit.quotes import quote

D = Decimal
TICKERS = ("AAA", "BBB", "CCC", "DDD", "EEE", "FFF")
SECTORS = {"AAA": "Tech", "BBB": "Tech", "CCC": "Tech", "DDD": "Energy", "EEE": "Energy",
           "FFF": "Health"}  # fmt: skip
OPENS = [datetime(2025, 3, d, 13, 30, tzinfo=UTC) for d in (10, 11, 12, 13, 14)]
CONFIG = LiveTradingConfig.model_validate({
    "trading": {"slippage_pct": 0, "max_hold_days": 3},
    "risk": {"max_daily_loss_pct": 1.0, "max_sector_exposure_pct": 50},
})  # fmt: skip

signal_step = st.tuples(st.just("signal"), st.sampled_from(TICKERS), st.integers(20, 600))
quote_step = st.tuples(st.just("quote"), st.sampled_from(TICKERS),
                       st.floats(-0.09, 0.09, allow_nan=False))  # fmt: skip
day_step = st.tuples(st.just("day"), st.just(""), st.just(0))
crash_step = st.tuples(st.just("crash"), st.just(""), st.floats(0.02, 0.09, allow_nan=False))
steps = st.lists(st.one_of(signal_step, signal_step, quote_step, quote_step, day_step, crash_step),
                 min_size=5, max_size=40)  # fmt: skip


class World:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.prices = {t: D(60 + 25 * i) for i, t in enumerate(TICKERS)}
        self.day = 0
        self.minute = 0
        self.signals = 0
        self.halted_at_step: int | None = None

    def now(self) -> datetime:
        return OPENS[self.day] + timedelta(minutes=self.minute)

    def tick(self) -> None:
        self.minute = min(self.minute + 1, 380)
        self.desk.at(self.now())

    def equity(self) -> Decimal:
        cash = self.desk.venue.balances().cash
        held = {p.ticker: p.quantity for p in self.desk.venue.positions()}
        return cash + sum((self.prices[t] * q for t, q in held.items()), D(0))

    def pending(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for o in self.desk.orders.open_orders():
            if o.role is OrderRole.ENTRY and o.filled_quantity == 0 and o.limit_price:
                out[o.ticker] = out.get(o.ticker, D(0)) + o.limit_price * o.quantity
        return out


def check_after_entry(world: World, ticker: str, notional: Decimal, equity: Decimal) -> None:
    trading, risk = CONFIG.trading, CONFIG.risk
    held = {p.ticker: p.quantity for p in world.desk.venue.positions()}
    pending = world.pending()
    assert len(set(held) | set(pending)) <= trading.max_positions
    assert notional <= equity * D(str(trading.max_position_pct)) / 100
    sector = SECTORS[ticker]
    exposure = sum((world.prices[t] * q for t, q in held.items() if SECTORS[t] == sector), D(0))
    exposure += sum((v for t, v in pending.items() if SECTORS[t] == sector), D(0))
    assert exposure <= equity * D(str(risk.max_sector_exposure_pct)) / 100
    cash_left = world.desk.venue.balances().cash - sum(pending.values(), D(0))
    assert cash_left >= equity * D(str(risk.min_buying_power_pct)) / 100


def play(world: World, step: tuple[str, str, float | int], index: int) -> None:
    desk, kind, ticker, value = world.desk, step[0], step[1], step[2]
    if kind == "day":
        if world.day < len(OPENS) - 1:
            world.day, world.minute = world.day + 1, 0
            desk.at(world.now())
            desk.executor.monitor_positions(world.now())
        return
    world.tick()
    if kind == "crash":  # every ticker falls at once
        for name in TICKERS:
            world.prices[name] = round_to_tick(world.prices[name] * (1 - D(str(round(value, 4)))))
        desk.play([quote(t, str(p), str(p), last=str(p), ts=world.now())
                   for t, p in world.prices.items()])  # fmt: skip
        desk.executor.monitor_positions(world.now())
        return
    if kind == "quote":
        price = round_to_tick(max(D("1"), world.prices[ticker] * (1 + D(str(round(value, 4))))))
        world.prices[ticker] = price
        desk.play([quote(ticker, str(price), str(price), last=str(price), ts=world.now())])
        desk.executor.monitor_positions(world.now())
        return
    world.signals += 1
    price = world.prices[ticker]
    signal = planned_signal(ticker, date(2024, 1, 1) + timedelta(days=world.signals),
                            str(price), str(round_to_tick(price * D("0.95"))),
                            str(round_to_tick(price * D("1.10"))), int(value),
                            entry_type="limit")  # fmt: skip
    equity = world.equity()
    outcome = desk.executor.process_signal(signal)
    if world.halted_at_step is not None:
        assert outcome.action != "entered", "an entry after the daily loss halt"
    event(f"signal {outcome.action}: {outcome.reason.split(':')[0]}")
    if outcome.action == "entered":
        check_after_entry(world, ticker, price * int(value), equity)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(steps)
def test_limits_hold_over_random_signals_and_prices(sequence: list[tuple[str, str, float]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(f"sqlite:///{Path(folder) / 'p.db'}")
        try:
            desk = make_desk(store, OPENS[0], CONFIG, sectors=SECTORS)
            desk.executor.start()
            world = World(desk)
            desk.executor.monitor_positions(world.now())
            for index, step in enumerate(sequence):
                play(world, step, index)
                assert len(desk.positions.get_active_positions()) <= CONFIG.trading.max_positions
                if desk.risk.state is TradingState.HALTED and world.halted_at_step is None:
                    world.halted_at_step = index
                    event("daily loss halt")
        finally:
            store.close()
