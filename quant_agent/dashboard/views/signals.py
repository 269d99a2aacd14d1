"""Signals: the latest scan with ranked signals, factors and filter reasons; scan history."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from quant_agent.dashboard import queries
from quant_agent.dashboard.context import PageContext


def render(ctx: PageContext) -> None:
    st.header("Signals")
    runs = queries.scan_runs(ctx.store, limit=20)
    if runs.empty:
        st.info("no scan yet")
        return
    latest = runs.iloc[0]
    signals = queries.signals_of(ctx.store, [int(i) for i in runs["id"]])
    cols = st.columns(4)
    cols[0].metric("Latest scan", f"{latest['started_at']:%Y-%m-%d %H:%M} UTC")
    cols[1].metric("Kind", str(latest["kind"]))
    cols[2].metric("Universe size", int(latest["universe_size"]))
    cols[3].metric("Signals", int(latest["signal_count"]))
    if latest["error"]:
        st.error(f"scan {latest['id']} {latest['status']}: {latest['error']}")
    mine = signals[signals["scan_run_id"] == latest["id"]]
    st.subheader("Ranked signals")
    st.dataframe(_ranked(mine), hide_index=True, width="stretch")
    dropped = mine[mine["filter_reasons"].map(bool)]
    st.subheader(f"Dropped by filters ({len(dropped)})")
    st.dataframe(pd.DataFrame({"ticker": dropped["ticker"],
                               "reasons": dropped["filter_reasons"].map("; ".join)}),
                 hide_index=True, width="stretch")  # fmt: skip
    st.subheader("Scan history")
    st.dataframe(runs, hide_index=True, width="stretch")
    st.subheader("Changes in the selection")
    st.dataframe(queries.scan_changes(signals, runs), hide_index=True, width="stretch")


def _ranked(signals: pd.DataFrame) -> pd.DataFrame:
    base = signals[["ticker", "rank", "composite_score", "selected", "executed", "entry_price",
                    "stop_loss", "take_profit", "quantity"]].reset_index(drop=True)  # fmt: skip
    for column in ("entry_price", "stop_loss", "take_profit"):
        base[column] = pd.to_numeric(base[column], errors="coerce")
    factors = pd.json_normalize(list(signals["factors"])).add_prefix("f.")
    return pd.concat([base, factors], axis=1)
