"""The backtest: the paper replay's very core over a window of daily bars, in its own store.

Owns the backtest run: a run id, its store, the progress display and the results (trades,
equity curve, metrics, HTML report). There is no second strategy engine: the steps come
from ``runner.timeline`` (the scans at their scheduled times of each simulated day, then
``ReplayFeed``'s quotes of the day's bar: open 09:30, low 11:00, high 13:30, close 15:55
New York) and go through ``build_engine``'s ``TradeExecutor``, ``RiskMonitor``,
``OrderManager`` and ``PaperBroker`` on a ``SimClock`` (``BacktestRunner`` is the
``Runner``, only counting days for the progress bar). Hence the intrabar order: entries
are sent after a scan and fill at the next quote (the session's open for a premarket
scan); a protective stop is met by the 11:00 low quote before the target by the 13:30
high quote, so when a bar touches both, the stop wins; a gap through a stop or target
fills at the 09:30 open quote.

Storage: one SQLite file per run, ``<out_dir>/<run_id>.db`` (default ``var/backtests``),
with the full live schema (migrations applied). The run works on an in-memory copy that is
written to the file at the end (SQLite's online backup API), also when the run fails.
Results never mix with the live tables, a run can be inspected with the usual tools
(``report``, ``status`` via ``--config`` with that URL) and deleted as one file; no run-id
column leaks into the live schema.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from quant_agent.backtest_fills import fills_frame
from quant_agent.config import LiveTradingConfig
from quant_agent.core.clock import SimClock
from quant_agent.core.market import Bar
from quant_agent.core.records import TradeRecord
from quant_agent.daily_report import build_report, write_report
from quant_agent.live_performance import LivePerformanceTracker, benchmark_closes
from quant_agent.market.calendar import get_calendar
from quant_agent.market.history import HistoryStore
from quant_agent.runner import Runner, Step, Summary
from quant_agent.storage.engine import copy_to_file, memory_engine
from quant_agent.storage.store import Store

DEFAULT_DIR = Path("var/backtests")
Progress = Callable[[int, int], None]  # (days done, days total)


@dataclass(slots=True)
class BacktestResult:
    run_id: str
    db_path: Path
    window: tuple[date, date]
    summary: Summary
    trades: list[TradeRecord]
    equity: pd.Series  # daily equity by session
    metrics: dict[str, Any]
    days: int
    bars: int
    report: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "db": str(self.db_path),
            "window": [d.isoformat() for d in self.window], "days": self.days,
            "bars": self.bars, "trades": len(self.trades),
            "final_equity": str(self.summary.equity), "metrics": self.metrics,
            "summary": self.summary.as_dict(),
            "report": str(self.report) if self.report else None, **self.extra,
        }  # fmt: skip


class BacktestRunner(Runner):
    """The replay runner, reporting each finished simulated day to ``progress``."""

    def __init__(self, *args: Any, progress: Progress | None = None, days: int = 0,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        self._progress = progress
        self._days_total = days
        self._days_done = 0

    def _do(self, step: Step) -> None:
        super()._do(step)
        if step.kind == "close":
            self._days_done += 1
            if self._progress is not None:
                self._progress(self._days_done, self._days_total)


def new_run_id(clock_day: date, existing: set[str]) -> str:
    """``bt-YYYYMMDD-N``, the first N not already used in the folder."""
    n = 1
    while f"bt-{clock_day:%Y%m%d}-{n}" in existing:
        n += 1
    return f"bt-{clock_day:%Y%m%d}-{n}"


def open_run_store(out_dir: Path, run_id: str) -> tuple[Store, Path]:
    """A fresh in-memory store for the run (the full live schema) and the file it is
    copied to at the end (``save_run_store``): no disk I/O per step."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", run_id):
        raise ValueError(f"bad run id {run_id!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{run_id}.db"
    if path.exists():
        raise FileExistsError(f"backtest run {run_id} already exists: {path}")
    store = Store(memory_engine())
    store.upgrade()
    return store, path


def save_run_store(store: Store, path: Path) -> Path:
    """Write the run's working store to its file (SQLite's online backup API)."""
    return copy_to_file(store.engine, path)


def window_days(history: HistoryStore, window: tuple[date, date]) -> list[date]:
    calendar = get_calendar("NYSE")
    return [d for d in calendar.trading_days(*window) if pd.Timestamp(d) in history.dates]


def run_backtest(
    config: LiveTradingConfig, history: HistoryStore, window: tuple[date, date], *,
    out_dir: Path = DEFAULT_DIR, run_id: str | None = None, store: Store | None = None,
    progress: Progress | None = None, report: Path | None = None,
    intraday: Mapping[date, Sequence[Bar]] | None = None,
) -> BacktestResult:  # fmt: skip
    """Backtest ``window`` through the core; results in the run's own store.

    ``store`` (tests: the PostgreSQL fixture) replaces the per-run SQLite file. Sessions
    with ``intraday`` bars replay them (intraday mode) instead of the daily bar's quotes.
    """
    days = window_days(history, window)
    if not days:
        raise ValueError(f"no session of the data in {window[0]}..{window[1]}")
    existing = {p.stem for p in out_dir.glob("*.db")} if out_dir.exists() else set()
    run_id = run_id or new_run_id(days[0], existing)
    own = store is None
    path = out_dir / f"{run_id}.db"
    if store is None:
        store, path = open_run_store(out_dir, run_id)
    try:
        runner = BacktestRunner(config, store, history, window, progress=progress,
                                days=len(days), intraday=intraday)  # fmt: skip
        summary = asyncio.run(runner.run())
        return _results(config, store, history, runner, summary, run_id, path, window,
                        days, report)  # fmt: skip
    finally:
        if own:
            save_run_store(store, path)  # a failed run is kept too, for inspection
            store.close()


def _results(
    config: LiveTradingConfig, store: Store, history: HistoryStore, runner: Runner,
    summary: Summary, run_id: str, path: Path, window: tuple[date, date], days: list[date],
    report: Path | None,
) -> BacktestResult:  # fmt: skip
    clock = SimClock(runner.engine.clock.now())
    bench = config.performance.benchmark
    tracker = LivePerformanceTracker(
        store, clock, get_calendar("NYSE"), config.performance,
        benchmark=benchmark_closes(history, bench) if bench in history.tickers else None,
        initial_capital=config.trading.initial_capital,
    )  # fmt: skip
    metrics = tracker.calculate_metrics(clock.now()).as_dict()
    curve = tracker.get_equity_curve("daily")["equity"]
    written = None
    if report is not None:
        written = write_report(build_report(tracker, days[-1]), report)
    close = history.wide("close")
    bars = int(close[close.index.isin(pd.DatetimeIndex(days))].notna().to_numpy().sum())
    return BacktestResult(run_id, path, window, summary, tracker.trades(), curve,
                          {k: _plain(v) for k, v in metrics.items()}, len(days), bars,
                          written)  # fmt: skip


def _plain(value: Any) -> Any:
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)


def core_fills(url: str, order: str = "time") -> pd.DataFrame:
    store = Store.open(url, upgrade=False)
    try:
        return fills_frame(store, order)
    finally:
        store.close()
