"""The ``momentum-top3`` reference preset run as a fill-exact daily simulation.

Owns the fill list of ``../shared/reference-strategy.md``: every rounding rule of that
spec, in its order (open: exits then scheduled entries; session: stop before target;
close: max-hold marks, then candidates by momentum and sizing with the cash reserve).
Prices are integer cents; stop and target are rounded half-up in integer arithmetic;
cash and sizing are float dollars exactly as the spec writes them, so other engines
(backtrader, a plain loop) following the spec produce the identical fill list.

The close-of-day decision is the one the signal modules make on the preset configuration
(``PRESET`` below, checked against ``scan_day`` in tests/unit/signals/test_reference_preset.py);
here it is vectorised over the whole panel (momentum and the 50-day SMA from exact integer
cent sums) so 1.2 M bars run in about a second.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from quant_agent.config import LiveTradingConfig

PRESET_NAME = "momentum-top3"
PRESET: dict[str, Any] = {
    "trading": {"max_positions": 3, "max_position_pct": 40, "commission_per_trade": 1.0},
    "risk": {"min_buying_power_pct": 20},
    "filters": {"regime_filter": False, "correlation_filter": False, "earnings_filter": False,
                "liquidity_filter": False, "min_score_threshold": 0},
    "signals": {"weights": {"momentum_126": 1.0},
                "factor_minimums": {"momentum_126": 0.0, "close_to_sma_50": 1e-9}},
    "trade_plan": {"stop": "percent", "stop_pct": 5, "target": "percent", "target_pct": 10,
                   "sizing": "fixed_fraction", "fixed_fraction_pct": 40,
                   "cap_includes_commission": False},
}  # fmt: skip
# What the live core needs besides the decision to trade the preset (backtest.run_backtest):
# the reference's open/session/close day (premarket scan only, next-open market entries,
# the touch fill model for stops/targets, brackets anchored on the entry's fill, max hold
# 20 sessions) and none of the live guards the reference does not have.
CORE: dict[str, Any] = {
    "trading": {"slippage_pct": 0, "max_hold_days": 20},
    "risk": {"reserve_basis": "plan", "max_daily_loss_pct": 100, "halt_on_loss_limit": False,
             "max_sector_exposure_pct": 100, "max_correlation": 1},
    "signals": {"min_price": 0, "min_dollar_volume": 0, "exit_score_threshold": 0},
    "schedule": {"market_hours_scan": "off"},
    "paper": {"fill_model": "touch"},
    "trade_plan": {"anchor": "fill"},
    "runner": {"snapshot_minutes": 1440, "close_report": "off"},
}  # fmt: skip


def preset_config(base: dict[str, Any] | None = None) -> LiveTradingConfig:
    """The live configuration that runs ``momentum-top3`` through the core (on ``base``,
    e.g. its ``data`` section)."""
    tree: dict[str, Any] = dict(base or {})
    for layer in (PRESET, CORE):
        for section, values in layer.items():
            tree[section] = {**tree.get(section, {}), **values}
    return LiveTradingConfig.model_validate(tree)


@dataclass(frozen=True, slots=True)
class Params:
    cash: float = 100_000.0
    lookback: int = 126
    sma: int = 50
    max_positions: int = 3
    size_pct: float = 0.40
    reserve_pct: float = 0.20
    stop_pct: int = 95
    target_pct: int = 110
    max_hold: int = 20
    commission: float = 1.0


@dataclass(frozen=True, slots=True)
class Fill:
    date: str
    ticker: str
    side: str  # BUY or SELL
    quantity: int
    price_cents: int
    reason: str = ""  # entry, stop, take, maxhold

    @property
    def price(self) -> str:
        return f"{self.price_cents // 100}.{self.price_cents % 100:02d}"

    def row(self) -> tuple[str, str, str, int, str]:
        return (self.date, self.ticker, self.side, self.quantity, self.price)


@dataclass(slots=True)
class PresetResult:
    fills: list[Fill]
    trades: int
    final_equity: float
    bars: int
    days: int
    equity: list[float] = field(default_factory=list)  # at each close
    dates: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Market:
    """A dense panel: dates x tickers of integer cents (ticker order = column order)."""

    dates: tuple[str, ...]
    tickers: tuple[str, ...]
    open: npt.NDArray[np.int64]
    high: npt.NDArray[np.int64]
    low: npt.NDArray[np.int64]
    close: npt.NDArray[np.int64]

    @classmethod
    def from_bars(cls, bars: pd.DataFrame) -> Market:
        """Long bars (date,ticker,open,high,low,close) in dollars; tickers sorted."""
        days = pd.to_datetime(bars["date"]).to_numpy()
        day_codes, day_values = pd.factorize(days, sort=True)
        tick_codes, tick_values = pd.factorize(bars["ticker"].astype(str).to_numpy(), sort=True)
        shape = (len(day_values), len(tick_values))
        seen = np.zeros(shape, dtype=bool)
        seen[day_codes, tick_codes] = True
        if not seen.all() or int(seen.sum()) != len(bars):
            raise ValueError("the preset needs a dense panel: one bar per ticker and date")
        cents = {}
        for name in ("open", "high", "low", "close"):
            grid = np.zeros(shape, dtype=np.int64)
            grid[day_codes, tick_codes] = np.rint(bars[name].to_numpy(dtype=float) * 100)
            cents[name] = grid
        dates = tuple(pd.DatetimeIndex(day_values).strftime("%Y-%m-%d"))
        return cls(dates, tuple(str(t) for t in tick_values), cents["open"], cents["high"],
                   cents["low"], cents["close"])  # fmt: skip

    @classmethod
    def from_parquet(cls, path: Path, start: str | None = None, end: str | None = None) -> Market:
        bars = pd.read_parquet(path, columns=["date", "ticker", "open", "high", "low", "close"])
        dates = pd.to_datetime(bars["date"])
        keep = np.ones(len(bars), dtype=bool)
        if start:
            keep &= (dates >= pd.Timestamp(start)).to_numpy()
        if end:
            keep &= (dates <= pd.Timestamp(end)).to_numpy()
        return cls.from_bars(bars[keep])

    @property
    def bars(self) -> int:
        return int(self.close.size)

    def subset(self, tickers: set[str]) -> Market:
        """The same dates, only ``tickers`` (order kept)."""
        cols = [i for i, t in enumerate(self.tickers) if t in tickers]
        return Market(self.dates, tuple(self.tickers[i] for i in cols), self.open[:, cols],
                      self.high[:, cols], self.low[:, cols], self.close[:, cols])  # fmt: skip


def half_up(cents: int, pct: int) -> int:
    """``cents * pct / 100`` rounded half-up to the cent, in integer arithmetic."""
    return (cents * pct + 50) // 100


def signals(market: Market, p: Params) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Momentum (float, as the spec divides) and the candidate mask for every day."""
    close = market.close
    d, n = close.shape
    dollars = close / 100.0
    mom = np.full((d, n), np.nan)
    if d > p.lookback:
        mom[p.lookback :] = dollars[p.lookback :] / dollars[: -p.lookback] - 1
    sums = np.cumsum(np.vstack([np.zeros((1, n), np.int64), close]), axis=0)
    sma = np.full((d, n), np.nan)
    if d >= p.sma:
        sma[p.sma - 1 :] = (sums[p.sma :] - sums[: -p.sma]) / 100.0 / p.sma
    with np.errstate(invalid="ignore"):
        ok = (mom > 0) & (dollars > sma * (1 + 1e-9))
    return mom, ok


@dataclass(slots=True)
class _Position:
    col: int
    qty: int
    entry_day: int
    stop: int
    target: int
    exit_next_open: bool = False


def run_preset(
    market: Market, p: Params | None = None, progress: Callable[[int, int], None] | None = None
) -> PresetResult:
    """Simulate the reference strategy over ``market``; return its fills and equity.

    ``progress(days_done, days_total)`` is called about a hundred times and at the end.
    """
    p = p or Params()
    mom, ok = signals(market, p)
    sim = _Sim(market, p)
    days = len(market.dates)
    every = max(1, days // 100)
    for t in range(days):
        sim.open(t)
        sim.session(t)
        sim.close(t, mom[t], ok[t])
        if progress is not None and (t % every == 0 or t == days - 1):
            progress(t + 1, days)
    return sim.result()


class _Sim:
    def __init__(self, market: Market, p: Params) -> None:
        self.m, self.p = market, p
        self.cash = p.cash
        self.held: dict[int, _Position] = {}
        self.pending: list[tuple[int, int]] = []  # (col, qty) for the next open
        self.fills: list[Fill] = []
        self.trades = 0
        self.equity: list[float] = []

    def _sell(self, t: int, pos: _Position, price: int, reason: str) -> None:
        self.cash += pos.qty * (price / 100.0) - self.p.commission
        del self.held[pos.col]
        self.fills.append(Fill(self.m.dates[t], self.m.tickers[pos.col], "SELL", pos.qty,
                               price, reason))  # fmt: skip

    def open(self, t: int) -> None:
        o = self.m.open[t]
        for pos in list(self.held.values()):
            price = int(o[pos.col])
            if pos.exit_next_open:
                self._sell(t, pos, price, "maxhold")
            elif price <= pos.stop:
                self._sell(t, pos, price, "stop")
            elif price >= pos.target:
                self._sell(t, pos, price, "take")
        for col, qty in self.pending:
            price = int(o[col])
            cost = qty * (price / 100.0) + self.p.commission
            if cost > self.cash:
                continue
            self.cash -= cost
            self.held[col] = _Position(col, qty, t, half_up(price, self.p.stop_pct),
                                       half_up(price, self.p.target_pct))  # fmt: skip
            self.fills.append(Fill(self.m.dates[t], self.m.tickers[col], "BUY", qty, price,
                                   "entry"))  # fmt: skip
            self.trades += 1
        self.pending = []

    def session(self, t: int) -> None:
        low, high = self.m.low[t], self.m.high[t]
        for pos in list(self.held.values()):
            if int(low[pos.col]) <= pos.stop:
                self._sell(t, pos, pos.stop, "stop")
            elif int(high[pos.col]) >= pos.target:
                self._sell(t, pos, pos.target, "take")

    def close(self, t: int, mom: npt.NDArray[np.float64], ok: npt.NDArray[np.bool_]) -> None:
        p, close = self.p, self.m.close[t]
        for pos in self.held.values():
            if t - pos.entry_day + 1 >= p.max_hold:
                pos.exit_next_open = True
        equity = self.cash + sum(pos.qty * (int(close[c]) / 100.0) for c, pos in self.held.items())
        self.equity.append(equity)
        slots = p.max_positions - len(self.held)
        if slots <= 0:
            return
        cols = np.flatnonzero(ok)
        if not len(cols):
            return
        order = cols[np.lexsort((cols, -mom[cols]))]
        cash_avail = self.cash
        for col in order.tolist():
            if col in self.held:
                continue
            size_value = min(p.size_pct * equity, cash_avail - p.reserve_pct * equity)
            if size_value <= 0:
                break
            price = int(close[col]) / 100.0
            qty = math.floor(size_value / price)
            if qty < 1:
                continue
            self.pending.append((col, qty))
            cash_avail -= qty * price + p.commission
            slots -= 1
            if slots == 0:
                break

    def result(self) -> PresetResult:
        last = self.m.close[-1] if len(self.m.dates) else np.zeros(0, np.int64)
        final = self.cash + sum(pos.qty * (int(last[c]) / 100.0) for c, pos in self.held.items())
        return PresetResult(self.fills, self.trades, final, self.m.bars, len(self.m.dates),
                            self.equity, list(self.m.dates))  # fmt: skip


def write_fills(fills: list[Fill], path: Path) -> Path:
    """The fill list as CSV ``date,ticker,side,quantity,price``."""
    lines = ["date,ticker,side,quantity,price"]
    lines += [f"{f.date},{f.ticker},{f.side},{f.quantity},{f.price}" for f in fills]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path
