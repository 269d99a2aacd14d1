"""The preset backtest's HTML report: the daily report's charts and tables for a fill list.

Owns the rendering of a ``PresetResult``: the equity and drawdown charts of
``daily_report.figures`` (plotly.js embedded, no CDN), metrics from ``analytics``
(total return, Sharpe, Sortino, max drawdown, trade statistics over round trips net of
commissions) and the fill list. The core backtest uses ``daily_report`` itself.
"""

from __future__ import annotations

import html
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any, cast

import pandas as pd

from quant_agent import analytics
from quant_agent.backtest_preset import PresetResult
from quant_agent.daily_report import (
    DRAWDOWN_CHART_ID,
    EQUITY_CHART_ID,
    DailyReport,
    _table,
    figures,
)


def round_trip_pnls(result: PresetResult, commission: float = 1.0) -> list[float]:
    """Net P&L of each closed round trip (entry and exit commission paid)."""
    open_: dict[str, tuple[int, int]] = {}
    pnls = []
    for f in result.fills:
        if f.side == "BUY":
            open_[f.ticker] = (f.quantity, f.price_cents)
        elif f.ticker in open_:
            qty, entry = open_.pop(f.ticker)
            pnls.append(qty * (f.price_cents - entry) / 100.0 - 2 * commission)
    return pnls


def preset_metrics(result: PresetResult) -> dict[str, Any]:
    equity = result.equity
    out: dict[str, Any] = {"trades": result.trades, "final_equity": round(result.final_equity, 2),
                           "bars": result.bars, "days": result.days}  # fmt: skip
    if len(equity) >= 2:
        returns = analytics.simple_returns(equity)
        dd = analytics.max_drawdown(equity)
        out |= {"total_return": analytics.total_return(equity),
                "sharpe": analytics.sharpe_ratio(returns),
                "sortino": analytics.sortino_ratio(returns), "max_drawdown": dd.max_drawdown,
                "max_drawdown_sessions": dd.duration}  # fmt: skip
    stats = analytics.trade_stats(round_trip_pnls(result))
    out |= {f"round_trips_{k}": v for k, v in asdict(stats).items()}
    return out


def render_preset_html(result: PresetResult, name: str) -> str:
    curve = pd.Series(result.equity, index=pd.to_datetime(result.dates), dtype=float)
    last = curve.index[-1].date() if len(curve) else date(1970, 1, 1)
    shell = DailyReport(day=last, metrics=cast(Any, None), trades=[], positions=[],
                        risk_events=[], equity=curve)  # fmt: skip
    eq, dd = figures(shell)
    first = result.dates[0] if result.dates else ""
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>quant-agent backtest {html.escape(name)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
        "margin-bottom:1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
        "</style></head><body>",
        f"<h1>Backtest {html.escape(name)} {first} .. {last}</h1>",
        eq.to_html(full_html=False, include_plotlyjs=True, div_id=EQUITY_CHART_ID),
        dd.to_html(full_html=False, include_plotlyjs=False, div_id=DRAWDOWN_CHART_ID),
        "<h2>Metrics</h2>",
        _table(["metric", "value"], [[k, v] for k, v in preset_metrics(result).items()]),
        "<h2>Fills</h2>",
        _table(
            ["date", "ticker", "side", "qty", "price", "reason"],
            [[*f.row(), f.reason] for f in result.fills],
        ),  # fmt: skip
        "</body></html>",
    ]
    return "\n".join(parts)


def write_preset_report(result: PresetResult, path: Path, name: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_preset_html(result, name), encoding="utf-8")
    return path
