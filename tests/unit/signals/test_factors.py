"""Factors: the vectorized code equals a straightforward per-ticker pandas implementation.

The real-data comparison uses a subset of 32 tickers (to keep the suite fast): SPY (the
benchmark), tickers with missing sessions (CHTR, TPL, VRTX, LQD, MTUM and several missing
2011-02-17), late starters (GEV, SW, ABNB, VTRS), zero-volume days, a huge real move (AIG)
and low-volatility ETFs (SHY, IEF).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quant_agent.signals.factors import Panel, compute_factors
from quant_agent.signals.names import FACTOR_NAMES
from quant_agent.testkit.signals import panel_from_closes, trend

SUBSET = [
    "SPY", "CHTR", "TPL", "VRTX", "LQD", "MTUM", "ACGL", "ACN", "AGG", "AKAM", "GEV", "SW",
    "ABNB", "VTRS", "AIG", "A", "ABT", "ADBE", "AAPL", "MSFT", "NVDA", "JPM", "XOM", "SHY",
    "IEF", "TLT", "GLD", "BRK.B", "PCG", "GL", "HIG", "APA",
]  # fmt: skip


def wilder(values: list[float], n: int = 14) -> list[float]:
    out = [math.nan] * len(values)
    if len(values) <= n:
        return out
    avg = sum(values[1 : n + 1]) / n
    out[n] = avg
    for k in range(n + 1, len(values)):
        avg = (avg * (n - 1) + values[k]) / n
        out[k] = avg
    return out


def rsi(close: pd.Series) -> list[float]:
    change = (close - close.shift(1)).tolist()
    gains = wilder([c if c > 0 else (0.0 if c == c else math.nan) for c in change])
    losses = wilder([-c if c < 0 else (0.0 if c == c else math.nan) for c in change])
    out = []
    for gain, loss in zip(gains, losses, strict=True):
        if math.isnan(gain) or math.isnan(loss):
            out.append(math.nan)
        elif loss == 0:
            out.append(100.0 if gain > 0 else 50.0)
        else:
            out.append(100.0 - 100.0 / (1.0 + gain / loss))
    return out


def reference(bars: pd.DataFrame, spy_momentum_63: pd.Series) -> pd.DataFrame:
    """Every factor of one ticker from its own bars, written the obvious way."""
    c, h, lo, v = bars["close"], bars["high"], bars["low"], bars["volume"]
    f = pd.DataFrame(index=bars.index)
    for n in (21, 63, 126):
        f[f"momentum_{n}"] = c / c.shift(n) - 1
    f["momentum_252"] = c.shift(21) / c.shift(252) - 1
    f["sma_50"] = c.rolling(50).mean()
    f["sma_200"] = c.rolling(200).mean()
    f["close_to_sma_50"] = c / f["sma_50"] - 1
    f["close_to_sma_200"] = c / f["sma_200"] - 1
    f["sma_50_slope"] = f["sma_50"] / f["sma_50"].shift(20) - 1
    f["volatility_20"] = (c / c.shift(1) - 1).rolling(20).std()
    prev = c.shift(1)
    tr = pd.concat([h - lo, (h - prev).abs(), (lo - prev).abs()], axis=1).max(axis=1)
    tr[prev.isna()] = math.nan
    f["atr_14"] = wilder(tr.tolist())
    f["atr_pct_14"] = f["atr_14"] / c
    f["relative_volume_20"] = (v / v.rolling(20).mean().shift(1)).replace([np.inf, -np.inf], np.nan)
    f["dollar_volume_20"] = (c * v).rolling(20).mean()
    f["rsi_14"] = rsi(c)
    f["rel_strength_63"] = f["momentum_63"] - spy_momentum_63.reindex(bars.index)
    f["dist_52w_high"] = c / h.rolling(252).max() - 1
    return f


@pytest.mark.shared_data
def test_every_factor_equals_a_per_ticker_pandas_implementation_on_real_data(
    shared_data: Path,
) -> None:
    bars = pd.read_parquet(shared_data / "daily_ohlcv.parquet", filters=[("ticker", "in", SUBSET)])
    bars["date"] = pd.to_datetime(bars["date"])
    bars["volume"] = bars["volume"].astype(float)
    wide = {f: bars.pivot(index="date", columns="ticker", values=f) for f in
            ("open", "high", "low", "close", "volume")}  # fmt: skip
    panel = Panel.from_frames(wide)
    assert set(panel.tickers) == set(SUBSET)

    got = compute_factors(panel, benchmark="SPY")

    spy = bars[bars["ticker"] == "SPY"].set_index("date")
    spy_momentum = spy["close"] / spy["close"].shift(63) - 1
    for ticker in SUBSET:
        own = bars[bars["ticker"] == ticker].set_index("date")
        want = reference(own, spy_momentum).reindex(panel.dates)
        j = panel.column(ticker)
        for name in FACTOR_NAMES:
            actual, expected = got[name][:, j], want[name].to_numpy(np.float64)
            where = f"{ticker} {name}"
            np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected), err_msg=where)
            ok = ~np.isnan(expected)
            np.testing.assert_allclose(actual[ok], expected[ok], rtol=1e-9, atol=0, err_msg=where)
    # the subset really exercises missing sessions and late starts
    assert np.isnan(panel.close[:, panel.column("CHTR")]).sum() > 1000
    assert np.isfinite(got["sma_200"][:, panel.column("GEV")]).sum() > 0


def test_factors_are_nan_where_history_is_too_short() -> None:
    panel = panel_from_closes({"SPY": trend(400, 0.0005, 300), "NEW": trend(20, 0.001, 130)})
    f = compute_factors(panel)
    new = panel.column("NEW")
    assert np.isfinite(f["momentum_126"][-1, new])
    assert np.isnan(f["momentum_126"][-5, new])  # 125 bars before it: too short
    assert np.isnan(f["sma_200"][:, new]).all() and np.isnan(f["momentum_252"][:, new]).all()
    assert np.isnan(f["dist_52w_high"][:, new]).all()
    assert np.isnan(f["rsi_14"][13, panel.column("SPY")])
    assert np.isfinite(f["rsi_14"][14, panel.column("SPY")])


def test_a_missing_session_is_nan_and_windows_count_the_tickers_own_bars() -> None:
    closes = trend(50, 0.001, 260, wiggle=0.01)
    panel = panel_from_closes({"SPY": closes, "GAP": closes})
    hole = 200
    for field in ("open", "high", "low", "close", "volume"):
        getattr(panel, field)[hole, panel.column("GAP")] = np.nan
    f = compute_factors(panel)
    gap, spy = panel.column("GAP"), panel.column("SPY")
    assert np.isnan(f["sma_50"][hole, gap])
    # the day after the hole, GAP's 50-bar window reaches one session further back
    expected = np.delete(np.array(closes), hole)[hole - 49 : hole + 1].mean()
    assert f["sma_50"][hole + 1, gap] == pytest.approx(expected, rel=1e-12)
    assert f["sma_50"][hole + 1, gap] != pytest.approx(f["sma_50"][hole + 1, spy], rel=1e-12)


def test_rsi_is_100_when_prices_only_rise_and_50_when_flat() -> None:
    panel = panel_from_closes({"UP": [10 + i for i in range(30)], "FLAT": [10.0] * 30})
    f = compute_factors(panel, benchmark=None)
    assert f["rsi_14"][-1, panel.column("UP")] == 100.0
    assert f["rsi_14"][-1, panel.column("FLAT")] == 50.0
    assert np.isnan(f["rel_strength_63"]).all()  # no benchmark, no relative strength
