"""A scripted market driven through the real runner's quote path, and the invariants every
market stress test checks after each step.

``Market`` feeds quotes through ``Runner.on_quotes`` (staleness and halt guard, paper
venue, executor) then ``monitor_positions``, as a quotes step of the runner does, and
remembers every quote that was fresh and tradable, so a fill can be traced to the quote it
came from. The invariants are checked against the venue's own account, not the gate's view.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from quant_agent.config import DataConfig, LiveTradingConfig
from quant_agent.core.enums import OrderRole, OrderType, Side
from quant_agent.core.market import Quote
from quant_agent.market.history import HistoryStore
from quant_agent.market.source import load_history
from quant_agent.runner import Runner
from quant_agent.signals.scan import Signal
from quant_agent.storage.store import Store
from quant_agent.testkit.executor import planned_signal
from quant_agent.testkit.quotes import quote

D = Decimal
#: Thursday 8 February 2024: NYSE opens 14:30 UTC (EST).
OPEN = datetime(2024, 2, 8, 14, 30, tzinfo=UTC)
SESSION = date(2024, 2, 8)
_HISTORY: list[HistoryStore] = []


def demo_history() -> HistoryStore:
    """The synthetic demo market (one per test process: it takes a moment to build)."""
    if not _HISTORY:
        _HISTORY.append(load_history(DataConfig(demo_tickers=8)))
    return _HISTORY[0]


class Market:
    """The runner of one paper session over a SQLite file, and the quotes sent to it."""

    def __init__(self, folder: Path, config: LiveTradingConfig) -> None:
        self.config = config
        self.store = Store.open(f"sqlite:///{folder / 'stress.db'}")
        self.runner = Runner(config, self.store, demo_history(), (SESSION, SESSION))
        self.engine = self.runner.engine
        self.engine.clock.set(OPEN)
        self.engine.executor.start()
        self.engine.executor.monitor_positions(OPEN)  # the day's loss baseline
        self.tradable: dict[tuple[str, datetime], Quote] = {}
        self.signals = 0

    def close(self) -> None:
        self.store.close()

    def now(self) -> datetime:
        return self.engine.clock.now()

    def at(self, when: datetime) -> None:
        if when > self.now():
            self.engine.clock.set(when)

    def send(self, quotes: list[Quote], *, when: datetime | None = None) -> None:
        """Deliver a batch at ``when`` (default: the newest quote's time), then a tick."""
        self.at(when or max(q.ts_event for q in quotes))
        age = timedelta(seconds=self.config.runner.max_quote_age_seconds)
        for q in quotes:
            if not q.is_halted and timedelta(0) <= self.now() - q.ts_event <= age:
                self.tradable[(q.ticker, q.ts_event)] = q
        self.runner.on_quotes(quotes)
        self.engine.executor.monitor_positions(self.now())

    def price(self, ticker: str, price: str | Decimal, *, minute: float,
              halted: bool = False) -> None:  # fmt: skip
        ts = OPEN + timedelta(minutes=minute)
        self.send([quote(ticker, str(price), str(price), last=str(price), ts=ts, halted=halted)])

    def signal(self, ticker: str, price: Decimal, quantity: int, *, limit: bool = True,
               stop_pct: str = "0.95") -> Signal:  # fmt: skip
        """A new signal (its own date, so each is a new intent) for ``quantity`` at ``price``."""
        self.signals += 1
        stop = (price * D(stop_pct)).quantize(D("0.01"))
        target = (price * D("1.10")).quantize(D("0.01"))
        return planned_signal(ticker, date(2024, 1, 1) + timedelta(days=self.signals),
                              str(price), str(stop), str(target), quantity,
                              entry_type="limit" if limit else "last")  # fmt: skip

    # --- what the venue holds ----------------------------------------------------------

    def holdings(self) -> dict[str, int]:
        return {p.ticker: p.quantity for p in self.engine.broker.positions()}

    def equity(self, marks: dict[str, Decimal]) -> Decimal:
        cash = self.engine.broker.balances().cash
        return cash + sum((marks[t] * q for t, q in self.holdings().items()), D(0))

    def pending_entries(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for o in self.engine.orders.open_orders():
            if o.role is OrderRole.ENTRY and o.filled_quantity == 0 and o.limit_price:
                out[o.ticker] = out.get(o.ticker, D(0)) + o.limit_price * o.quantity
        return out


def check_entry_within_limits(market: Market, ticker: str, notional: Decimal,
                              equity: Decimal, marks: dict[str, Decimal]) -> None:  # fmt: skip
    """An entry just accepted: max positions, % of equity, its sector and the cash reserve."""
    trading, risk = market.config.trading, market.config.risk
    held, pending = market.holdings(), market.pending_entries()
    assert len(set(held) | set(pending)) <= trading.max_positions
    assert notional <= equity * D(str(trading.max_position_pct)) / 100
    sector_of = demo_history().sector
    sector = sector_of(ticker)
    exposure = sum((marks[t] * q for t, q in held.items() if sector_of(t) == sector), D(0))
    exposure += sum((v for t, v in pending.items() if sector_of(t) == sector), D(0))
    assert exposure <= equity * D(str(risk.max_sector_exposure_pct)) / 100
    cash_left = market.engine.broker.balances().cash - sum(pending.values(), D(0))
    assert cash_left >= equity * D(str(risk.min_buying_power_pct)) / 100


def check_invariants(market: Market) -> None:
    """After every step: positions within the max, each protected by a stop at the venue for
    its whole quantity (or being closed by a working exit), the venue's cash equal to the
    capital plus what its fills moved, and every fill made from a fresh, tradable quote."""
    engine, trading = market.engine, market.config.trading
    held = market.holdings()
    assert len(held) <= trading.max_positions
    working = engine.broker.list_open_orders()
    for ticker, quantity in held.items():
        stops = [o for o in working if o.ticker == ticker and o.order_type is OrderType.STOP]
        exits = [o for o in engine.orders.open_orders()
                 if o.ticker == ticker and o.role is OrderRole.EXIT]  # fmt: skip
        assert exits or sum(o.quantity - o.filled_quantity for o in stops) == quantity, ticker
    fills = engine.orders.fills()
    moved = sum((-f.side.sign * f.price * f.quantity - f.commission for f in fills), D(0))
    cash = engine.broker.balances().cash
    assert cash == trading.initial_capital + moved
    assert engine.executor.portfolio_view().cash == cash
    for fill in fills:
        source = market.tradable.get((fill.ticker, fill.ts_event))
        assert source is not None, f"fill {fill.fill_id} from no fresh tradable quote"
        assert fill.price == (source.ask if fill.side is Side.BUY else source.bid)
