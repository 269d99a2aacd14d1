"""Benchmark of a full scan (factors, scores, filters, trade plans) and its numpy floor.

Run: ``.venv/bin/python bench/bench_signals.py``. Cases: the real data's last 2,520
sessions (every ticker of ../shared/data, ~10 years; skipped with a line when absent), a
synthetic 500 tickers x 10 years, and a synthetic 5,000 tickers x 2 years. Targets (issue
3): under 1 s and under 5 s. The floor is a hand-written numpy computation of the same
factors (cumulative sums, no missing-bar handling, no pandas), printed for comparison.
Prints numbers, asserts nothing.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
from benchlib import best_of, shared_data_dir  # also puts the repository on sys.path

from quant_agent.config import LiveTradingConfig  # noqa: E402
from quant_agent.market.calendar import get_calendar  # noqa: E402
from quant_agent.market.earnings import EarningsDates, load_earnings_csv  # noqa: E402
from quant_agent.market.synthetic import generate_market  # noqa: E402
from quant_agent.signals.factors import Panel, compute_factors, wilder_average  # noqa: E402
from quant_agent.signals.scan import Holdings, ScanSettings, scan_day  # noqa: E402
from quant_agent.signals.trade_plan import Account  # noqa: E402


def wide_panel(bars: pd.DataFrame) -> Panel:
    frames = {
        f: bars.pivot(index="date", columns="ticker", values=f).astype(float)
        for f in ("open", "high", "low", "close", "volume")
    }
    return Panel.from_frames(frames)


# --------------------------------------------------------------------- the numpy floor


def _shift(a: np.ndarray, n: int) -> np.ndarray:
    out = np.full_like(a, np.nan)
    out[n:] = a[:-n]
    return out


def _mean(a: np.ndarray, w: int) -> np.ndarray:
    c = np.cumsum(np.vstack([np.zeros((1, a.shape[1])), a]), axis=0)
    out = np.full_like(a, np.nan)
    out[w - 1 :] = (c[w:] - c[:-w]) / w
    return out


def _max(a: np.ndarray, w: int) -> np.ndarray:
    m, span = a.copy(), 1
    while span * 2 <= w:
        m = np.fmax(m, _shift(m, span)) if span < len(a) else m
        span *= 2
    out = np.fmax(m, _shift(m, w - span))
    out[: w - 1] = np.nan
    return out


def numpy_floor(p: Panel) -> dict[str, np.ndarray]:
    """The same factors, straight numpy (assumes no missing bars; the floor, not the spec)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return _floor(p.close, p.high, p.low, p.volume)


def _floor(c: np.ndarray, h: np.ndarray, lo: np.ndarray, v: np.ndarray) -> dict[str, np.ndarray]:
    out = {f"momentum_{n}": c / _shift(c, n) - 1 for n in (21, 63, 126)}
    out["momentum_252"] = _shift(c, 21) / _shift(c, 252) - 1
    sma50, sma200 = _mean(c, 50), _mean(c, 200)
    out |= {
        "sma_50": sma50,
        "sma_200": sma200,
        "close_to_sma_50": c / sma50 - 1,
        "close_to_sma_200": c / sma200 - 1,
        "sma_50_slope": sma50 / _shift(sma50, 20) - 1,
    }
    r = c / _shift(c, 1) - 1
    m1, m2 = _mean(r, 20), _mean(r * r, 20)
    out["volatility_20"] = np.sqrt(np.maximum(m2 - m1 * m1, 0) * 20 / 19)
    prev = _shift(c, 1)
    tr = np.fmax(h - lo, np.fmax(abs(h - prev), abs(lo - prev)))
    out["atr_14"] = wilder_average(tr, 14)
    out["atr_pct_14"] = out["atr_14"] / c
    out["relative_volume_20"] = v / _shift(_mean(v, 20), 1)
    out["dollar_volume_20"] = _mean(c * v, 20)
    d = c - prev
    gain, loss = wilder_average(np.fmax(d, 0), 14), wilder_average(np.fmax(-d, 0), 14)
    out["rsi_14"] = 100 - 100 / (1 + gain / loss)
    out["rel_strength_63"] = out["momentum_63"] - out["momentum_63"][:, [0]]
    out["dist_52w_high"] = c / _max(h, 252) - 1
    return out  # fmt: skip


# --------------------------------------------------------------------- the scan


def full_scan(panel: Panel, settings: ScanSettings, earnings: EarningsDates | None) -> int:
    holdings = Holdings(account=Account(equity=Decimal(100_000), cash=Decimal(100_000)))
    out = scan_day(panel, settings, holdings, earnings=earnings, calendar=get_calendar("NYSE"))
    return len(out.signals)


def report(name: str, panel: Panel, settings: ScanSettings, earnings: EarningsDates | None) -> None:
    bars = int(np.isfinite(panel.close).sum())
    full_scan(panel, settings, earnings)  # warm caches (calendar, imports)
    scan_s, scored = best_of(3, lambda: full_scan(panel, settings, earnings))
    factors_s, _ = best_of(3, lambda: compute_factors(panel, settings.benchmark))
    floor_s, _ = best_of(3, lambda: numpy_floor(panel))
    shape = f"{len(panel.tickers):,} tickers x {len(panel.dates):,} sessions"
    print(f"{name}: {shape}, {bars:,} bars, {scored:,} scored")
    print(f"  full scan (factors, scores, filters, plans): {scan_s:7.3f} s  "
          f"{bars / scan_s / 1e6:6.2f} M bars/s")  # fmt: skip
    print(f"  factors alone (compute_factors):            {factors_s:7.3f} s  "
          f"{bars / factors_s / 1e6:6.2f} M bars/s")  # fmt: skip
    print(
        f"  numpy floor (same factors, straight numpy):  {floor_s:7.3f} s  "
        f"{bars / floor_s / 1e6:6.2f} M bars/s  (scan = {scan_s / floor_s:.1f}x floor)"
    )


def main() -> None:
    config = LiveTradingConfig()
    settings = ScanSettings.from_config(
        config.signals, config.filters, config.trade_plan, config.trading, config.risk
    )
    data = shared_data_dir()
    if (data / "daily_ohlcv.parquet").exists():
        bars = pd.read_parquet(data / "daily_ohlcv.parquet")
        bars["date"] = pd.to_datetime(bars["date"])
        last = np.sort(bars["date"].unique())[-2520:]
        panel = wide_panel(bars[bars["date"] >= last[0]])
        earnings = load_earnings_csv(data / "earnings_dates.csv")
        report("real data, last 2,520 sessions (target < 1 s)", panel, settings, earnings)
    else:
        print(f"real data: skipped, {data} has no daily_ohlcv.parquet")
    for n, start, target in ((500, date(2015, 1, 2), "< 1 s"), (5000, date(2023, 1, 3), "< 5 s")):
        market = generate_market(n_tickers=n, start=start, end=date(2024, 12, 31), seed=42)
        panel = wide_panel(market.bars.assign(date=pd.to_datetime(market.bars["date"])))
        report(f"synthetic {n:,} tickers from {start} (target {target})", panel, settings, None)


if __name__ == "__main__":
    main()
