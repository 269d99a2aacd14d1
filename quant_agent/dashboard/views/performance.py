"""Performance: the tracker's metrics, equity vs the benchmark, drawdown, monthly returns and
P&L by exit reason (plotly)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from quant_agent.dashboard import queries
from quant_agent.dashboard.context import PageContext, asof, money, pct


def render(ctx: PageContext) -> None:
    st.header("Performance")
    snap = queries.latest_snapshot(ctx.store)
    if snap is None:
        st.info("no equity snapshot yet")
        return
    tracker = ctx.tracker
    m = tracker.calculate_metrics(now=asof(ctx, snap))
    rows = [
        ("Equity", money(m.equity)), ("Total return", pct(m.total_return)),
        ("Sharpe", f"{m.sharpe:.2f}"), ("Sortino", f"{m.sortino:.2f}"),
        ("Max drawdown", pct(m.max_drawdown)), ("Win rate", pct(m.win_rate_all)),
        ("Profit factor", f"{m.profit_factor:.2f}"), ("Expectancy", money(m.expectancy)),
        ("Trades", str(m.trades_all)), ("P&L this month", money(m.pnl_month)),
    ]  # fmt: skip
    cols = st.columns(5)
    for i, (label, value) in enumerate(rows):
        cols[i % 5].metric(label, value)
    daily = tracker.get_equity_curve("daily")["equity"]
    st.plotly_chart(equity_figure(daily, tracker.benchmark), width="stretch")
    st.plotly_chart(drawdown_figure(daily), width="stretch")
    try:
        b = tracker.compare_to_benchmark()
        st.caption(f"vs benchmark over {b.sessions} sessions: strategy {pct(b.strategy_return)}, "
                   f"benchmark {pct(b.benchmark_return)}, beta {b.beta:.2f}")  # fmt: skip
    except ValueError as exc:
        st.caption(f"no benchmark comparison: {exc}")
    st.subheader("Monthly returns (%)")
    st.dataframe(monthly_table(tracker.monthly_returns()), width="stretch")
    by_reason = tracker.pnl_by_exit_reason()
    fig = go.Figure(go.Bar(x=list(by_reason.index), y=list(by_reason.values)))
    fig.update_layout(title="P&L by exit reason", height=300)
    st.plotly_chart(fig, width="stretch")


def equity_figure(daily: pd.Series, benchmark: pd.Series | None) -> go.Figure:
    fig = go.Figure()
    if len(daily):
        fig.add_trace(go.Scatter(x=daily.index, y=daily / daily.iloc[0], name="strategy"))
        if benchmark is not None:
            bench = benchmark[(benchmark.index >= daily.index[0]) &
                              (benchmark.index <= daily.index[-1])]  # fmt: skip
            if len(bench):
                fig.add_trace(go.Scatter(x=bench.index, y=bench / bench.iloc[0], name="SPY"))
    fig.update_layout(title="Equity vs benchmark (growth of 1)", height=350)
    return fig


def drawdown_figure(daily: pd.Series) -> go.Figure:
    drawdown = daily / daily.cummax() - 1.0 if len(daily) else daily
    fig = go.Figure(go.Scatter(x=drawdown.index, y=drawdown * 100, fill="tozeroy",
                               name="drawdown"))  # fmt: skip
    fig.update_layout(title="Drawdown (%)", height=250)
    return fig


def monthly_table(monthly: pd.Series) -> pd.DataFrame:
    """Years as rows, months 1..12 as columns, returns in percent."""
    if monthly.empty:
        return pd.DataFrame()
    frame = pd.DataFrame({"year": [p.year for p in monthly.index],
                          "month": [p.month for p in monthly.index],
                          "ret": monthly.to_numpy() * 100})  # fmt: skip
    return frame.pivot(index="year", columns="month", values="ret").round(2)
