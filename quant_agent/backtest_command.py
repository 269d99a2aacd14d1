"""Wiring of ``quant-agent backtest``: options in, a run, a summary/fills/report out.

Edge code: it measures the whole command's wall time (``time.perf_counter``, a duration,
never a date) and draws the rich progress bar. Without ``--preset`` the configured
strategy runs through the live core (``backtest.run_backtest``); with ``--preset
momentum-top3`` the reference strategy's fill-exact simulation runs (``backtest_preset``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from quant_agent.backtest_preset import PRESET_NAME, Market, run_preset, write_fills
from quant_agent.config import LiveTradingConfig


@dataclass(frozen=True, slots=True)
class BacktestRequest:
    start: date | None = None
    end: date | None = None
    data: Path | None = None
    universe: Path | None = None
    preset: str | None = None
    as_json: bool = False
    fills_out: Path | None = None
    report: Path | None = None
    out_dir: Path = Path("var/backtests")
    progress: bool = True
    engine: str = "fast"  # --preset only: fast (the vectorised module) or core
    intraday: Path | None = None  # core path: intraday bars (intraday mode)
    fill_order: str = "time"  # --fills-out: time, or reference (backtest_fills)


def _progress_bar(console: Console, enabled: bool) -> Progress:
    return Progress(TextColumn("backtest"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("days"), TimeElapsedColumn(), console=console,
                    disable=not enabled, transient=False)  # fmt: skip


def run_backtest_command(
    config: LiveTradingConfig, request: BacktestRequest, out: Console, err: Console
) -> dict[str, Any]:
    """Run the backtest the request asks for; print and return its summary."""
    began = time.perf_counter()
    if request.preset is not None:
        summary = _preset(config, request, err)
    else:
        summary = _core(config, request, err)
    summary["wall_seconds"] = round(time.perf_counter() - began, 3)
    if request.as_json:
        out.file.write(json.dumps(summary, indent=2, default=str) + "\n")
    else:
        table = Table(title="quant-agent backtest", show_header=False)
        for key, value in summary.items():
            if key not in {"metrics", "summary"}:
                table.add_row(key.replace("_", " "), str(value))
        out.print(table)
    return summary


def _core(
    config: LiveTradingConfig, request: BacktestRequest, err: Console, history: Any = None
) -> dict[str, Any]:
    from quant_agent.backtest import run_backtest  # the whole core
    from quant_agent.market.source import load_history

    data = config.data
    if request.data is not None:
        data = data.model_copy(update={"source": "files", "daily_path": request.data,
                                       "universe_path": request.universe})  # fmt: skip
    history = history if history is not None else load_history(data)
    start = request.start or config.runner.replay_start
    end = request.end or config.runner.replay_end
    intraday = None
    if request.intraday is not None:
        from quant_agent.market.intraday import load_intraday

        intraday = load_intraday(request.intraday)
    with _progress_bar(err, request.progress and not request.as_json) as bar:
        task = bar.add_task("days", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = run_backtest(config, history, (start, end), out_dir=request.out_dir,
                              progress=advance, report=None, intraday=intraday)  # fmt: skip
    report = request.report or request.out_dir / f"{result.run_id}.html"
    result.report = _write_core_report(config, result, report)
    if request.fills_out is not None:
        _write_core_fills(result.db_path, request.fills_out, request.fill_order)
    summary = result.as_dict()
    summary["final_equity"] = float(result.summary.equity)
    return summary


def _write_core_report(config: LiveTradingConfig, result: Any, path: Path) -> Path:
    from quant_agent.core.clock import SimClock
    from quant_agent.daily_report import build_report, write_report
    from quant_agent.live_performance import LivePerformanceTracker
    from quant_agent.market.calendar import get_calendar
    from quant_agent.storage.store import Store

    store = Store.open(f"sqlite:///{result.db_path}", upgrade=False)
    try:
        calendar = get_calendar("NYSE")
        last = calendar.trading_days(*result.window)[-1]
        clock = SimClock(calendar.session_close(last))
        tracker = LivePerformanceTracker(
            store, clock, calendar, config.performance,
            initial_capital=config.trading.initial_capital,
        )  # fmt: skip
        return write_report(build_report(tracker, tracker.session_of(clock.now())), path)
    finally:
        store.close()


def _write_core_fills(db_path: Path, out: Path, order: str) -> Path:
    from quant_agent.backtest import core_fills

    core_fills(f"sqlite:///{db_path}", order).to_csv(out, index=False)
    return out


def _preset(config: LiveTradingConfig, request: BacktestRequest, err: Console) -> dict[str, Any]:
    if request.preset != PRESET_NAME:
        raise ValueError(f"unknown preset {request.preset!r} (known: {PRESET_NAME})")
    if request.engine == "core":
        return _preset_core(config, request, err)
    if request.intraday is not None:
        raise ValueError("--intraday runs through the core: add --engine core")
    if request.engine != "fast":
        raise ValueError(f"unknown engine {request.engine!r} (fast or core)")
    path = request.data or config.data.daily_path
    if path is None:
        raise ValueError("--preset needs daily bars: --data PATH (or data.daily_path)")
    market = Market.from_parquet(
        Path(path), request.start.isoformat() if request.start else None,
        request.end.isoformat() if request.end else None,
    )  # fmt: skip
    if request.universe is not None:
        keep = set(pd.read_csv(request.universe)["ticker"].astype(str))
        market = market.subset(keep)
    with _progress_bar(err, request.progress and not request.as_json) as bar:
        task = bar.add_task("days", total=len(market.dates))

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = run_preset(market, progress=advance)
    if request.fills_out is not None:
        write_fills(result.fills, request.fills_out)
    if request.report is not None:
        from quant_agent.backtest_report import write_preset_report

        write_preset_report(result, request.report, PRESET_NAME)
    summary = {"preset": PRESET_NAME, "engine": "fast", "trades": result.trades,
               "final_equity": round(result.final_equity, 2), "bars": result.bars,
               "days": result.days, "fills": len(result.fills),
               "first_date": market.dates[0] if market.dates else None,
               "last_date": market.dates[-1] if market.dates else None}  # fmt: skip
    if market.dates:
        from quant_agent.backtest_preset_store import store_preset_run

        run_id, db = store_preset_run(result, summary, request.out_dir, market.dates[0])
        summary |= {"run_id": run_id, "db": str(db)}
    return summary


def _preset_core(
    config: LiveTradingConfig, request: BacktestRequest, err: Console
) -> dict[str, Any]:
    """The preset through the live core: ``preset_config`` on the request's data."""
    from quant_agent.backtest_preset import preset_config

    path = request.data or config.data.daily_path
    if path is None:
        raise ValueError("--preset needs daily bars: --data PATH (or data.daily_path)")
    data = {"source": "files", "daily_path": str(path),
            "universe_path": str(request.universe) if request.universe else None}  # fmt: skip
    core = preset_config({"data": data})
    history = _history(core)
    if len(history.dates) < 2:
        raise ValueError("the core engine needs at least two sessions of daily bars")
    start = request.start or history.dates[1].date()  # the first scan needs one session
    end = request.end or history.dates[-1].date()
    window = BacktestRequest(start=start, end=end, fills_out=request.fills_out,
                             report=request.report, out_dir=request.out_dir,
                             progress=request.progress, as_json=request.as_json,
                             intraday=request.intraday,
                             fill_order="time" if request.intraday else "reference")  # fmt: skip
    summary = _core(core, window, err, history)
    trades = summary["summary"]["fills"] - summary["summary"]["trades"]
    return {"preset": PRESET_NAME, "engine": "core", **summary, "trades": trades}


def _history(config: LiveTradingConfig) -> Any:
    from quant_agent.market.source import load_history

    return load_history(config.data)
