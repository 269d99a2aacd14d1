"""Positions: open positions with price, unrealized P&L, stop, target, days held; close
buttons that queue a CLOSE_POSITION command after a confirmation."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from quant_agent.core.enums import CommandKind
from quant_agent.dashboard import controls, queries
from quant_agent.dashboard.context import PageContext, asof

CONFIRM_KEY = "confirm_close"


def render(ctx: PageContext) -> None:
    st.header("Positions")
    frame = queries.open_positions(ctx.store)
    st.metric("Open positions", len(frame))
    if frame.empty:
        st.info("no open position")
    else:
        st.dataframe(table(frame, ctx), hide_index=True, width="stretch")
        for ticker in frame["ticker"]:
            if st.button(f"Close {ticker}", key=f"close_{ticker}"):
                st.session_state[CONFIRM_KEY] = ticker
        _confirmation(ctx)
    for key in sorted(k for k in st.session_state if str(k).startswith("cmd_close_")):
        st.caption(controls.describe(queries.command(ctx.store, st.session_state[key])))


def table(frame: pd.DataFrame, ctx: PageContext) -> pd.DataFrame:
    """The shown table: prices as floats, unrealized P&L in % of cost, days held."""
    today = asof(ctx, queries.latest_snapshot(ctx.store)).date()
    out = pd.DataFrame({"ticker": frame["ticker"], "quantity": frame["quantity"]})
    for column in ("entry_price", "current_price", "unrealized_pnl", "stop_loss", "take_profit"):
        out[column] = pd.to_numeric(frame[column], errors="coerce")
    cost = pd.to_numeric(frame["cost_basis"], errors="coerce").abs()
    out["unrealized_pct"] = out["unrealized_pnl"] / cost.where(cost != 0) * 100
    out["days_held"] = [(today - d).days if d is not None else None for d in frame["entry_date"]]
    out["sector"] = frame["sector"]
    return out


def _confirmation(ctx: PageContext) -> None:
    ticker = st.session_state.get(CONFIRM_KEY)
    if not ticker:
        return
    st.warning(f"Close the whole {ticker} position at market (reason MANUAL)?")
    yes, no = st.columns(2)
    if yes.button(f"Confirm close {ticker}", key="confirm_close_yes", type="primary"):
        command_id = controls.send_command(ctx.store, CommandKind.CLOSE_POSITION, ctx.now(),
                                           {"ticker": ticker})  # fmt: skip
        st.session_state[f"cmd_close_{ticker}"] = command_id
        st.session_state[CONFIRM_KEY] = None
        st.success(f"close of {ticker} queued as command {command_id}")
    if no.button("Cancel", key="confirm_close_no"):
        st.session_state[CONFIRM_KEY] = None
