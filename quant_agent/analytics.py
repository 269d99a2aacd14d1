"""Performance math on plain floats and numpy arrays: returns, ratios, drawdowns, trade stats.

Pure functions only: no I/O, no clock, no pandas indexes (callers align series first).
Conventions, stated once so tests can reimplement them independently:

- Returns are simple daily returns ``e[t] / e[t-1] - 1`` of end-of-session equity.
- The annual risk-free rate ``rf`` becomes a daily rate ``(1 + rf) ** (1 / 252) - 1``.
- Sharpe: ``mean(x) / std(x, ddof=1) * sqrt(252)`` of the excess returns ``x``.
- Sortino: ``mean(x) / sqrt(mean(min(x, 0) ** 2)) * sqrt(252)`` (empyrical's downside risk).
- A ratio whose denominator is zero, or that has fewer than two returns, is ``nan``.
- Drawdown: ``e / running_max(e) - 1`` (<= 0); its duration counts sessions from the peak
  to the recovery (first session back at or above the peak), or to the last session.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

TRADING_DAYS = 252
FloatArray = npt.NDArray[np.float64]


def as_array(values: Sequence[float] | FloatArray) -> FloatArray:
    """Return ``values`` as a 1-d float64 array; reject NaN and infinity."""
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(array)):
        raise ValueError("values must be finite numbers")
    return array


def simple_returns(equity: Sequence[float] | FloatArray) -> FloatArray:
    """Daily simple returns of an equity series (one fewer element than ``equity``)."""
    e = as_array(equity)
    if np.any(e <= 0):
        raise ValueError("equity must be positive to compute returns")
    return e[1:] / e[:-1] - 1.0


def daily_risk_free(annual_rate: float) -> float:
    """The daily rate compounding to ``annual_rate`` over 252 sessions."""
    return float((1.0 + annual_rate) ** (1.0 / TRADING_DAYS) - 1.0)


def total_return(equity: Sequence[float] | FloatArray) -> float:
    e = as_array(equity)
    if len(e) == 0:
        return math.nan
    return float(e[-1] / e[0] - 1.0)


def sharpe_ratio(returns: Sequence[float] | FloatArray, annual_rf: float = 0.0) -> float:
    x = as_array(returns) - daily_risk_free(annual_rf)
    if len(x) < 2:
        return math.nan
    std = float(np.std(x, ddof=1))
    if std == 0.0:
        return math.nan
    return float(np.mean(x) / std * math.sqrt(TRADING_DAYS))


def sortino_ratio(returns: Sequence[float] | FloatArray, annual_rf: float = 0.0) -> float:
    x = as_array(returns) - daily_risk_free(annual_rf)
    if len(x) < 2:
        return math.nan
    downside = math.sqrt(float(np.mean(np.minimum(x, 0.0) ** 2)))
    if downside == 0.0:
        return math.nan
    return float(np.mean(x) / downside * math.sqrt(TRADING_DAYS))


@dataclass(frozen=True, slots=True)
class Drawdown:
    """The deepest drawdown: depth (<= 0) and positions in the series."""

    max_drawdown: float
    peak: int
    trough: int
    recovery: int | None  # None: not recovered by the last session
    duration: int  # sessions from peak to recovery (or to the last session)


def drawdown_series(equity: Sequence[float] | FloatArray) -> FloatArray:
    e = as_array(equity)
    if len(e) == 0:
        return e
    return e / np.maximum.accumulate(e) - 1.0


def max_drawdown(equity: Sequence[float] | FloatArray) -> Drawdown:
    """Return the deepest peak-to-trough fall of ``equity`` and how long it lasted."""
    e = as_array(equity)
    if len(e) == 0:
        return Drawdown(0.0, 0, 0, None, 0)
    dd = drawdown_series(e)
    trough = int(np.argmin(dd))
    if dd[trough] == 0.0:
        return Drawdown(0.0, 0, 0, None, 0)
    peak = int(np.argmax(e[: trough + 1]))
    after = np.nonzero(e[trough:] >= e[peak])[0]
    recovery = trough + int(after[0]) if len(after) else None
    end = recovery if recovery is not None else len(e) - 1
    return Drawdown(float(dd[trough]), peak, trough, recovery, end - peak)


def beta_and_correlation(
    strategy: Sequence[float] | FloatArray, benchmark: Sequence[float] | FloatArray
) -> tuple[float, float]:
    """Beta (cov / var, ddof=1) and Pearson correlation of two aligned return series."""
    s, b = as_array(strategy), as_array(benchmark)
    if len(s) != len(b):
        raise ValueError(f"return series differ in length: {len(s)} vs {len(b)}")
    if len(s) < 2:
        return math.nan, math.nan
    var_b = float(np.var(b, ddof=1))
    cov = float(np.cov(s, b, ddof=1)[0, 1])
    beta = cov / var_b if var_b > 0 else math.nan
    denom = float(np.std(s, ddof=1)) * math.sqrt(var_b)
    corr = cov / denom if denom > 0 else math.nan
    return beta, corr


@dataclass(frozen=True, slots=True)
class TradeStats:
    """Closed-trade statistics over net P&L (after commission)."""

    count: int
    wins: int
    losses: int
    win_rate: float  # wins / count; nan without trades
    average_win: float  # nan without wins
    average_loss: float  # negative; nan without losses
    profit_factor: float  # gross wins / |gross losses|; inf with wins and no losses
    expectancy: float  # mean P&L per trade


def trade_stats(pnls: Sequence[float] | FloatArray) -> TradeStats:
    """Statistics of closed trades' P&L; a zero-P&L trade counts as neither win nor loss."""
    p = as_array(pnls)
    n = len(p)
    wins, losses = p[p > 0], p[p < 0]
    gross_win, gross_loss = float(wins.sum()), float(-losses.sum())
    if gross_loss > 0:
        profit_factor = gross_win / gross_loss
    else:
        profit_factor = math.inf if gross_win > 0 else math.nan
    return TradeStats(
        count=n,
        wins=len(wins),
        losses=len(losses),
        win_rate=len(wins) / n if n else math.nan,
        average_win=float(wins.mean()) if len(wins) else math.nan,
        average_loss=float(losses.mean()) if len(losses) else math.nan,
        profit_factor=profit_factor,
        expectancy=float(p.mean()) if n else math.nan,
    )
