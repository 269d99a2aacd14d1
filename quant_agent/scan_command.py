"""``quant-agent scan``: build a LiveSignalGenerator from the config, run one scan, print it.

Edge code for the command line: it loads data and the store, shows progress with rich for
large universes, and renders the ranked table or one JSON object per scored ticker.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from quant_agent.config import LiveTradingConfig
from quant_agent.core.clock import Clock
from quant_agent.core.enums import RunStatus
from quant_agent.live_signals import LiveSignalGenerator, ScanReport, StageCallback, session_bars
from quant_agent.market.calendar import get_calendar
from quant_agent.market.earnings import load_earnings_csv
from quant_agent.market.history import HistoryStore
from quant_agent.market.source import load_history
from quant_agent.signals.scan import Signal
from quant_agent.storage.store import Store

PROGRESS_MIN_TICKERS = 200
STAGES = ("loading data", "factors", "scores, filters and plans", "saving")


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanRequest:
    kind: str  # "premarket" | "market"
    asof: date | None = None
    data: Path | None = None
    universe: Path | None = None
    as_json: bool = False
    limit: int = 30


def run_scan_command(
    config: LiveTradingConfig, request: ScanRequest, clock: Clock, out: Console, err: Console
) -> int:
    """Run the scan; return the exit code (0 stored and printed, 1 the scan failed)."""
    data = config.data
    if request.data is not None:
        data = data.model_copy(
            update={"source": "files", "daily_path": request.data,
                    "universe_path": request.universe or data.universe_path}
        )  # fmt: skip
    with _progress(err, enabled=not request.as_json) as stage:
        stage("loading data")
        history = load_history(data)
        if len(history.tickers) < PROGRESS_MIN_TICKERS:
            stage("")  # small universe: no progress display needed
        store = Store.open(config.database.url)
        try:
            generator = _generator(config, history, store, clock, stage)
            report = _run(generator, history, request)
        finally:
            store.close()
    if report.status is not RunStatus.SUCCEEDED or report.output is None:
        err.print(f"[bold red]scan {report.run_id} failed:[/] {report.error}", highlight=False)
        return 1
    if request.as_json:
        for signal in report.output.signals:  # plain stdout: rich markup must not touch JSON
            sys.stdout.write(json.dumps(signal.as_json(), default=str) + "\n")
    else:
        _print_table(out, report, request.limit)
    return 0


def _generator(
    config: LiveTradingConfig, history: HistoryStore, store: Store, clock: Clock,
    stage: StageCallback,
) -> LiveSignalGenerator:  # fmt: skip
    earnings = None
    if config.data.earnings_path is not None:
        earnings = load_earnings_csv(config.data.earnings_path)
    return LiveSignalGenerator(
        clock=clock, history=history, store=store, calendar=get_calendar("NYSE"),
        signals=config.signals, filters=config.filters, trade_plan=config.trade_plan,
        trading=config.trading, risk=config.risk, earnings=earnings, on_stage=stage,
    )  # fmt: skip


def _run(generator: LiveSignalGenerator, history: HistoryStore, request: ScanRequest) -> ScanReport:
    if request.kind == "premarket":
        return generator.run_premarket_scan(asof=request.asof)
    session = request.asof or history.last_date.date()
    return generator.run_market_hours_scan(bars=session_bars(history, session), session=session)


@contextmanager
def _progress(err: Console, *, enabled: bool) -> Iterator[StageCallback]:
    if not enabled:
        yield lambda stage: None
        return
    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
        console=err, transient=True,
    )  # fmt: skip
    task = progress.add_task("scan", total=len(STAGES))
    state = {"shown": False, "off": False}

    def stage(name: str) -> None:
        if name == "":
            state["off"] = True
            return
        if state["off"]:
            return
        if not state["shown"]:
            progress.start()
            state["shown"] = True
        done = STAGES.index(name) if name in STAGES else 0
        progress.update(task, description=name, completed=done)

    try:
        yield stage
    finally:
        if state["shown"]:
            progress.update(task, completed=len(STAGES))
            progress.stop()


def _print_table(out: Console, report: ScanReport, limit: int) -> None:
    assert report.output is not None
    output = report.output
    table = Table(title=f"{report.kind.value} scan #{report.run_id} as of {output.asof}")
    for column in ("rank", "ticker", "score", "sel", "mom 126", "rsi 14", "close", "plan",
                   "reason"):  # fmt: skip
        table.add_column(column)
    for signal in output.signals[:limit]:
        table.add_row(*_row(signal))
    out.print(table)
    selected = sum(s.selected for s in output.signals)
    out.print(
        f"{len(output.signals)} scored, {selected} selected, {len(output.unscored)} without a "
        f"score (history too short or no bar); stored as scan_runs id {report.run_id}",
        highlight=False,
    )
    for note in output.notes:
        out.print(f"note: {note}", highlight=False)


def _row(signal: Signal) -> list[str]:
    f = signal.factors
    plan = signal.trade_plan
    shown = (
        f"{plan.quantity} @ {plan.entry_price} stop {plan.stop_loss} target {plan.take_profit}"
        if plan
        else ""
    )
    return [
        str(signal.rank), signal.ticker, f"{signal.composite_score:.1f}",
        "yes" if signal.selected else "", _pct(f.get("momentum_126")),
        _num(f.get("rsi_14"), 1), _num(f.get("close"), 2), shown, "; ".join(signal.reasons),
    ]  # fmt: skip


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1%}"


def _num(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
