"""The daily report: metrics, the day's trades, open positions, risk events and two charts.

``build_report`` gathers the data through a ``LivePerformanceTracker``; ``render_html``
writes one self-contained page (plotly.js embedded, no CDN, no network) and
``render_markdown`` a text version. ``run_after_close_report`` is what the runner calls
after the close: write the file and send it through the alerts.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from quant_agent.core.enums import Severity
from quant_agent.core.records import RiskEventRecord, TradeRecord

if TYPE_CHECKING:
    from quant_agent.alerts import AlertManager
    from quant_agent.live_performance import LivePerformanceTracker, PerformanceMetrics

EQUITY_CHART_ID = "equity-chart"
DRAWDOWN_CHART_ID = "drawdown-chart"


@dataclass(frozen=True)
class DailyReport:
    day: date
    metrics: PerformanceMetrics
    trades: list[TradeRecord]
    positions: list[Any]
    risk_events: list[RiskEventRecord]
    equity: pd.Series  # daily equity by session, up to ``day``
    benchmark: pd.Series | None = None  # benchmark closes over the same sessions
    comparison: dict[str, Any] = field(default_factory=dict)


def build_report(tracker: LivePerformanceTracker, day: date) -> DailyReport:
    """Gather ``day``'s report as of that session's close."""
    close = tracker.calendar.session_close(day)
    metrics = tracker.calculate_metrics(close)
    curve = tracker.get_equity_curve("daily", end=close)["equity"]
    bench = tracker.benchmark
    comparison: dict[str, Any] = {}
    aligned = None
    if bench is not None and len(curve) >= 2:
        aligned = bench.reindex(curve.index).dropna()
        try:
            comparison = vars_of(tracker.compare_to_benchmark(end=day))
        except ValueError:
            comparison = {}
    return DailyReport(
        day=day, metrics=metrics, trades=[x for x in tracker.trades() if x.exit_date == day],
        positions=tracker.open_positions(), risk_events=tracker.risk_events(day),
        equity=curve, benchmark=aligned, comparison=comparison,
    )  # fmt: skip


def vars_of(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__dataclass_fields__}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if math.isinf(value):
            return "inf"
        return f"{value:,.4f}" if abs(value) < 10 else f"{value:,.2f}"
    return "" if value is None else str(value)


def figures(report: DailyReport) -> tuple[Any, Any]:
    """The equity-vs-benchmark figure (both rebased to 100) and the drawdown figure."""
    import plotly.graph_objects as go

    equity = report.equity
    eq = go.Figure()
    if len(equity):
        eq.add_trace(go.Scatter(x=equity.index, y=equity / equity.iloc[0] * 100, name="strategy"))
    if report.benchmark is not None and len(report.benchmark):
        b = report.benchmark
        eq.add_trace(go.Scatter(x=b.index, y=b / b.iloc[0] * 100, name="benchmark"))
    eq.update_layout(title="Equity vs benchmark (rebased to 100)", height=380)
    dd = go.Figure()
    if len(equity):
        drawdown = (equity / equity.cummax() - 1.0) * 100
        dd.add_trace(go.Scatter(x=drawdown.index, y=drawdown, fill="tozeroy", name="drawdown %"))
    dd.update_layout(title="Drawdown (%)", height=300)
    return eq, dd


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _sections(report: DailyReport) -> list[tuple[str, list[str], list[list[Any]]]]:
    metrics = [[k, v] for k, v in report.metrics.as_dict().items()]
    metrics += [[f"benchmark {k}", v] for k, v in report.comparison.items()]
    trades = [
        [x.ticker, x.entry_date, x.exit_date, x.quantity, x.entry_price, x.exit_price, x.pnl,
         x.exit_reason.value]
        for x in report.trades
    ]  # fmt: skip
    positions = [
        [p.ticker, p.quantity, p.avg_entry_price, p.last_price, p.stop_loss, p.take_profit]
        for p in report.positions
    ]
    events = [[e.ts, e.severity.value, e.event_type, e.rule, e.message] for e in report.risk_events]
    return [
        ("Metrics", ["metric", "value"], metrics),
        (
            "Trades closed today",
            ["ticker", "entry", "exit", "qty", "entry price", "exit price", "P&L", "reason"],
            trades,
        ),  # fmt: skip
        ("Open positions", ["ticker", "qty", "avg entry", "last", "stop", "target"], positions),
        ("Risk events", ["time (UTC)", "severity", "type", "rule", "message"], events),
    ]


def render_html(report: DailyReport) -> str:
    """One self-contained HTML page: plotly.js is embedded once, nothing loads from a CDN."""
    eq, dd = figures(report)
    eq_html = eq.to_html(full_html=False, include_plotlyjs=True, div_id=EQUITY_CHART_ID)
    dd_html = dd.to_html(full_html=False, include_plotlyjs=False, div_id=DRAWDOWN_CHART_ID)
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>quant-agent daily report {report.day}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
        "margin-bottom:1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
        "</style></head><body>",
        f"<h1>Daily report {report.day}</h1>",
        eq_html,
        dd_html,
    ]
    for title, headers, rows in _sections(report):
        parts.append(f"<h2>{html.escape(title)}</h2>")
        parts.append(_table(headers, rows) if rows else "<p>none</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def render_markdown(report: DailyReport) -> str:
    lines = [f"# Daily report {report.day}", ""]
    for title, headers, rows in _sections(report):
        lines += [f"## {title}", ""]
        if not rows:
            lines += ["none", ""]
            continue
        lines.append("| " + " | ".join(headers) + " |")
        lines.append("|" + "---|" * len(headers))
        lines += ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in rows]
        lines.append("")
    return "\n".join(lines)


def write_report(report: DailyReport, out: Path, fmt: str = "html") -> Path:
    """Write ``report`` to ``out`` (a file, or a folder that gets ``report-DAY.fmt``)."""
    if out.suffix.lower() not in {".html", ".md"}:
        out = out / f"report-{report.day.isoformat()}.{fmt}"
    out.parent.mkdir(parents=True, exist_ok=True)
    text = render_html(report) if fmt == "html" else render_markdown(report)
    out.write_text(text, encoding="utf-8")
    return out


def write_pngs(report: DailyReport, folder: Path) -> list[Path]:
    """Write the two charts as PNG files with kaleido (needs a Chrome/Chromium on PATH,
    e.g. Debian's ``chromium``; no download, works offline)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"equity-{report.day}.png", folder / f"drawdown-{report.day}.png"]
    for figure, path in zip(figures(report), paths, strict=True):
        figure.write_image(str(path), width=1000, height=420)
    return paths


def summary_text(report: DailyReport) -> str:
    m = report.metrics
    return (
        f"Equity {m.equity:,.2f}; today {m.pnl_today:+,.2f}, week {m.pnl_week:+,.2f}, "
        f"month {m.pnl_month:+,.2f}; total return {_fmt(m.total_return)}; "
        f"max drawdown {_fmt(m.max_drawdown)}; trades today {len(report.trades)}; "
        f"open positions {len(report.positions)}; risk events {len(report.risk_events)}"
    )


def run_after_close_report(
    tracker: LivePerformanceTracker,
    day: date,
    out_dir: Path,
    fmt: str = "html",
    alerts: AlertManager | None = None,
) -> Path:
    """Write ``day``'s report into ``out_dir`` and, with ``alerts`` (unless their
    ``send_daily_report`` is off), send its summary.

    The runner calls this once per session after the close (issue 5). Never raises for a
    delivery problem: alerts are queued and delivered off the loop.
    """
    report = build_report(tracker, day)
    path = write_report(report, out_dir, fmt)
    if alerts is not None and alerts.sends_daily_report:
        alerts.alert(
            Severity.INFO,
            f"{summary_text(report)}\nReport: {path}",
            event_type="daily_report",
            title=f"Daily report {day}",
        )
    return path
