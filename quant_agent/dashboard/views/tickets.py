"""Tickets (assisted mode): the orders the trader still has to place, cancel or change in
Questrade, with their exact terms and bracket legs (``questrade/tickets.py`` decides which
are open). Read-only: a ticket closes when the system sees the trader's order."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from quant_agent.dashboard import queries
from quant_agent.dashboard.context import PageContext


def render(ctx: PageContext) -> None:
    st.header("Tickets")
    frame = queries.open_tickets(ctx.store)
    st.metric("Open tickets", len(frame))
    if ctx.config.broker.kind != "questrade-assisted":
        st.caption("tickets are issued in assisted mode (broker.kind: questrade-assisted)")
    if frame.empty:
        st.info("no open order ticket")
        return
    for text in frame["text"]:
        st.code(text, language=None)
    st.dataframe(table(frame), hide_index=True, width="stretch")


def table(frame: pd.DataFrame) -> pd.DataFrame:
    """The shown table: prices as floats, the legs as one line each."""
    out = frame.drop(columns=["text", "legs"]).copy()
    for column in ("limit_price", "stop_price"):
        out[column] = pd.to_numeric(out[column], errors="coerce")
    out["legs"] = [
        "; ".join(f"{g['side']} {g['quantity']} {g['order_type']} "
                  f"{g['stop_price'] or g['limit_price']}" for g in legs)
        for legs in frame["legs"]
    ]  # fmt: skip
    return out
