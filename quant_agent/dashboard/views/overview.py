"""Overview: trading state, runner heartbeat and feed, equity, today's P&L, risk events."""

from __future__ import annotations

import streamlit as st

from quant_agent.dashboard import queries
from quant_agent.dashboard.context import HEARTBEAT_STALE_SECONDS, PageContext, asof, money


def render(ctx: PageContext) -> None:
    st.header("Overview")
    status = queries.trading_status(ctx.store)
    snap = queries.latest_snapshot(ctx.store)
    open_count = len(queries.open_positions(ctx.store))
    state_col, feed_col, beat_col = st.columns(3)
    state_col.metric("Trading state", status.state)
    if status.state == "HALTED":
        st.error(f"HALTED: {status.reason or 'no reason recorded'}")
    elif status.state == "PAUSED":
        st.warning(f"PAUSED: {status.reason or 'no reason recorded'}")
    cursor = f"{status.cursor_at:%Y-%m-%d %H:%M:%S} UTC" if status.cursor_at else "no data yet"
    feed_col.metric("Feed: last market step", cursor)
    if status.heartbeat_at is None:
        beat_col.metric("Runner heartbeat", "never")
        st.warning("the runner has never written a heartbeat: is it running?")
    else:
        age = (ctx.now() - status.heartbeat_at).total_seconds()
        beat_col.metric("Runner heartbeat", f"{age:,.0f} s ago")
        if age > HEARTBEAT_STALE_SECONDS:
            st.warning(f"stale heartbeat: the runner last wrote {age:,.0f} s ago "
                       f"(at {status.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC)")  # fmt: skip
    _money_row(ctx, snap, open_count)
    st.subheader("Latest risk events and alerts")
    events = queries.risk_events(ctx.store, limit=10)
    if events.empty:
        st.caption("no risk events")
    else:
        st.dataframe(events, hide_index=True, width="stretch")


def _money_row(ctx: PageContext, snap: dict[str, object] | None, open_count: int) -> None:
    equity, cash, pnl = st.columns(3), None, None
    if snap is None:
        st.info("no equity snapshot yet: the runner writes one every few minutes of market time")
        equity[0].metric("Open positions", open_count)
        return
    metrics = ctx.tracker.calculate_metrics(now=asof(ctx, snap))
    cash, pnl = snap["cash"], metrics.pnl_today
    equity[0].metric("Equity", money(snap["equity"]))
    equity[1].metric("Cash", money(cash))
    equity[2].metric("Today's P&L", money(pnl))
    more = st.columns(3)
    more[0].metric("Open positions", open_count)
    more[1].metric("Unrealized P&L", money(snap["unrealized_pnl"]))
    more[2].metric("Realized P&L", money(snap["realized_pnl"]))
    st.caption(f"as of {asof(ctx, snap):%Y-%m-%d %H:%M} UTC")
