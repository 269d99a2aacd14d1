"""Benchmark of the market-data layer: load+validate real bars, wide pivot, synthetic market.

Run: ``.venv/bin/python bench/bench_data.py``. Reads ../shared/data beside the repository
(or $QA_SHARED_DATA); prints a skip line for the real-data part when it is absent.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

from benchlib import best_of, shared_data_dir  # also puts the repository on sys.path

from quant_agent.market.history import HistoryStore, read_daily_bars  # noqa: E402
from quant_agent.market.synthetic import generate_market  # noqa: E402


def bench_real(path: Path) -> None:
    # Warm the calendar caches and imports once so the timing measures the data work.
    read_daily_bars(path.parent / "panel_2520.parquet")
    seconds, (report, bars) = best_of(3, lambda: read_daily_bars(path))
    print(f"load+validate {path.name}: {seconds:.3f} s (best of 3)")
    print(
        f"  rows: {report.rows:,}  tickers: {report.tickers}  errors: {report.error_count}"
        f"  warnings: {len(report.warnings)}"
    )
    print(f"  throughput: {report.rows / seconds / 1e6:.2f} M rows/s")
    seconds, store = best_of(3, lambda: HistoryStore(bars))
    print(f"HistoryStore build (index, sort check): {seconds * 1e3:.1f} ms (best of 3)")

    def wide_close() -> tuple[int, int]:
        fresh = HistoryStore(bars)
        start = time.perf_counter()
        shape = fresh.wide("close").shape
        timings.append(time.perf_counter() - start)
        return shape

    timings: list[float] = []
    best_of(3, wide_close)
    shape = store.wide("close").shape
    print(
        f"wide close frame {shape[0]:,} dates x {shape[1]} tickers: "
        f"{min(timings) * 1e3:.1f} ms (first build, best of 3)"
    )
    seconds, _ = best_of(5, lambda: store.wide("close"))
    print(f"wide close frame, cached: {seconds * 1e3:.3f} ms (best of 5)")


def bench_synthetic() -> None:
    seconds, market = best_of(
        3, lambda: generate_market(500, date(2015, 1, 1), date(2024, 12, 31), seed=42)
    )
    rows = len(market.bars)
    sessions = len(market.sessions)
    print(
        f"synthetic market 500 tickers + SPY, {sessions:,} sessions (2015-2024): "
        f"{seconds:.3f} s (best of 3)"
    )
    print(f"  rows: {rows:,}  throughput: {rows / seconds / 1e6:.2f} M rows/s")


def main() -> None:
    path = shared_data_dir() / "daily_ohlcv.parquet"
    if path.exists():
        bench_real(path)
    else:
        print(f"SKIP real-data benchmark: {path} not found (set QA_SHARED_DATA)")
    bench_synthetic()


if __name__ == "__main__":
    main()
