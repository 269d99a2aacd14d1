"""Factors: vectorized over the whole universe (date × ticker float arrays).

Owns ``Panel`` (the wide OHLCV arrays a scan reads) and ``compute_factors``. Every factor
is a pure function of a ticker's *own* bars up to and including day t: a session on which
the ticker has no bar is skipped (the windows count bars, not calendar sessions) and the
factor on that session is NaN. Where the history is too short the value is NaN, never a
guess. Definitions of each name: ``quant_agent.signals.names`` and docs/SIGNALS.md.

Windows are computed on a "compacted" layout (each column's bars moved to the top, in time
order), then scattered back to the calendar grid, so a missing session costs nothing.
Never reads files, the clock or the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from quant_agent.signals.names import FACTOR_NAMES

Array = npt.NDArray[np.float64]
FIELDS = ("open", "high", "low", "close", "volume")
SKIP_252 = 21  # momentum_252 skips the most recent month
SLOPE_BARS = 20  # sma_50_slope compares with the SMA this many bars earlier
WILDER = 14


@dataclass(frozen=True, slots=True)
class Panel:
    """Wide daily bars: ``dates`` (T,) and float arrays (T, N) per field, NaN = no bar."""

    dates: pd.DatetimeIndex
    tickers: tuple[str, ...]
    open: Array
    high: Array
    low: Array
    close: Array
    volume: Array

    @classmethod
    def from_frames(cls, frames: dict[str, pd.DataFrame]) -> Panel:
        """Build from ``HistoryStore.panel()``-style frames (one date × ticker frame per field)."""
        close = frames["close"]
        arrays = {f: np.ascontiguousarray(frames[f].to_numpy(np.float64)) for f in FIELDS}
        return cls(dates=pd.DatetimeIndex(close.index), tickers=tuple(close.columns), **arrays)

    def with_row(self, day: pd.Timestamp, rows: dict[str, Array]) -> Panel:
        """Return a panel with one more session ``day`` (e.g. today's partial bar) appended."""
        if len(self.dates) and day <= self.dates[-1]:
            raise ValueError(f"appended session {day.date()} must follow {self.dates[-1].date()}")
        grown = {f: np.vstack([getattr(self, f), rows[f][None, :]]) for f in FIELDS}
        return Panel(
            dates=self.dates.append(pd.DatetimeIndex([day])), tickers=self.tickers, **grown
        )

    def column(self, ticker: str) -> int:
        """Position of ``ticker`` in ``tickers``; ``KeyError`` when absent."""
        try:
            return self.tickers.index(ticker)
        except ValueError:
            raise KeyError(f"ticker {ticker!r} is not in the panel") from None


def compute_factors(panel: Panel, benchmark: str | None = "SPY") -> dict[str, Array]:
    """Return every factor of ``FACTOR_NAMES`` as a (T, N) array aligned with ``panel``.

    ``rel_strength_63`` is NaN everywhere when ``benchmark`` is None or not in the panel.
    """
    valid = np.isfinite(panel.close)
    order = _compaction(valid)

    def gather(a: Array) -> Array:
        return a if order is None else np.take_along_axis(a, order, axis=0)

    c, h, lo, v = gather(panel.close), gather(panel.high), gather(panel.low), gather(panel.volume)
    out: dict[str, Array] = {}
    for n in (21, 63, 126):
        out[f"momentum_{n}"] = c / _shift(c, n) - 1.0
    out["momentum_252"] = _shift(c, SKIP_252) / _shift(c, 252) - 1.0
    sma50, sma200 = _rolling(c, 50, "mean"), _rolling(c, 200, "mean")
    out["sma_50"], out["sma_200"] = sma50, sma200
    out["close_to_sma_50"] = c / sma50 - 1.0
    out["close_to_sma_200"] = c / sma200 - 1.0
    out["sma_50_slope"] = sma50 / _shift(sma50, SLOPE_BARS) - 1.0
    out["volatility_20"] = _rolling(c / _shift(c, 1) - 1.0, 20, "std")
    out["atr_14"] = wilder_average(true_range(h, lo, c), WILDER)
    out["atr_pct_14"] = out["atr_14"] / c
    out["relative_volume_20"] = _safe_ratio(v, _shift(_rolling(v, 20, "mean"), 1))
    out["dollar_volume_20"] = _rolling(c * v, 20, "mean")
    out["rsi_14"] = wilder_rsi(c, WILDER)
    out["dist_52w_high"] = c / _rolling(h, 252, "max") - 1.0
    grid = {name: _scatter(values, order, valid) for name, values in out.items()}
    grid["rel_strength_63"] = _relative(grid["momentum_63"], panel, benchmark)
    return {name: grid[name] for name in FACTOR_NAMES}


def daily_returns(panel: Panel) -> Array:
    """Close-to-close return of each bar over the ticker's previous bar, on the grid."""
    valid = np.isfinite(panel.close)
    order = _compaction(valid)
    c = panel.close if order is None else np.take_along_axis(panel.close, order, axis=0)
    return _scatter(c / _shift(c, 1) - 1.0, order, valid)


def true_range(high: Array, low: Array, close: Array) -> Array:
    """max(high - low, |high - previous close|, |low - previous close|); NaN on the first bar."""
    prev = _shift(close, 1)
    return np.fmax(high - low, np.fmax(np.abs(high - prev), np.abs(low - prev))) + prev * 0.0


def wilder_average(x: Array, n: int) -> Array:
    """Wilder's smoothing: row n is mean(x[1..n]), then avg = (avg * (n-1) + x) / n.

    Row 0 is skipped because the inputs (true range, close change) need a previous bar.
    """
    out = np.full_like(x, np.nan)
    if len(x) <= n:
        return out
    avg = x[1 : n + 1].sum(axis=0) / n
    out[n] = avg
    for k in range(n + 1, len(x)):
        avg = (avg * (n - 1) + x[k]) / n
        out[k] = avg
    return out


def wilder_rsi(close: Array, n: int) -> Array:
    """Wilder's RSI: 100 - 100 / (1 + avg gain / avg loss); 100 when no loss, 50 when flat."""
    change = close - _shift(close, 1)
    gain = wilder_average(np.where(change > 0, change, 0.0) + change * 0.0, n)
    loss = wilder_average(np.where(change < 0, -change, 0.0) + change * 0.0, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        rsi = 100.0 - 100.0 / (1.0 + gain / loss)
    rsi = np.where((loss == 0) & (gain > 0), 100.0, rsi)
    return np.where((loss == 0) & (gain == 0), 50.0, rsi)


def _compaction(valid: npt.NDArray[np.bool_]) -> npt.NDArray[np.intp] | None:
    """Row order moving each column's bars to the top (None when no bar is missing)."""
    if valid.all():
        return None
    return np.argsort(~valid, axis=0, kind="stable")


def _scatter(
    values: Array, order: npt.NDArray[np.intp] | None, valid: npt.NDArray[np.bool_]
) -> Array:
    if order is None:
        return values
    out = np.empty_like(values)
    np.put_along_axis(out, order, values, axis=0)
    out[~valid] = np.nan
    return out


def _shift(a: Array, n: int) -> Array:
    out = np.full_like(a, np.nan)
    if n < len(a):
        out[n:] = a[: len(a) - n]
    return out


def _rolling(a: Array, window: int, how: Literal["mean", "std", "max"]) -> Array:
    """A full-window rolling statistic per column (pandas' numerically careful kernels)."""
    roll = pd.DataFrame(a, copy=False).rolling(window, min_periods=window)
    result = roll.std(ddof=1) if how == "std" else getattr(roll, how)()
    return np.asarray(result.to_numpy(np.float64))


def _safe_ratio(a: Array, b: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = a / b
    return np.where(np.isfinite(ratio), ratio, np.nan)


def _relative(momentum: Array, panel: Panel, benchmark: str | None) -> Array:
    if benchmark is None or benchmark not in panel.tickers:
        return np.full_like(momentum, np.nan)
    return momentum - momentum[:, [panel.column(benchmark)]]
