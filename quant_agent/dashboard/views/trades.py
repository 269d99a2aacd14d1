"""Trades: closed trades with filters (ticker, exit dates, exit reason, winners/losers) and a
CSV download of what the filters keep."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from quant_agent.dashboard.context import PageContext, money

OUTCOMES = ("All", "Winners", "Losers")


def render(ctx: PageContext) -> None:
    st.header("Trades")
    frame = ctx.view.trades()
    if frame.empty:
        st.metric("Trades", 0)
        st.info("no closed trade yet")
        return
    shown = apply_filters(frame, *_filters(frame))
    pnl = shown["pnl"].map(float)
    cols = st.columns(3)
    cols[0].metric("Trades", len(shown))
    cols[1].metric("Total P&L", money(pnl.sum()))
    cols[2].metric("Win rate", f"{(pnl > 0).mean():.1%}" if len(shown) else "n/a")
    display = shown.copy()
    for column in ("entry_price", "exit_price", "pnl", "commission"):
        display[column] = display[column].map(float)
    st.dataframe(display, hide_index=True, width="stretch")
    st.download_button("Download CSV", display.to_csv(index=False).encode(),
                       file_name="trades.csv", mime="text/csv")  # fmt: skip


def _filters(frame: pd.DataFrame) -> tuple[list[str], tuple[date, date], list[str], str]:
    cols = st.columns(4)
    tickers = cols[0].multiselect("Ticker", sorted(frame["ticker"].unique()), key="t_ticker")
    first, last = min(frame["exit_date"]), max(frame["exit_date"])
    span = cols[1].date_input("Exit dates", value=(first, last), key="t_dates")
    reasons = cols[2].multiselect("Exit reason", sorted(frame["exit_reason"].unique()),
                                  key="t_reason")  # fmt: skip
    outcome = cols[3].radio("Outcome", OUTCOMES, horizontal=True, key="t_outcome")
    dates = tuple(span) if isinstance(span, tuple | list) else (span, span)
    window = (dates[0], dates[-1]) if dates else (first, last)
    return list(tickers), window, list(reasons), str(outcome)


def apply_filters(
    frame: pd.DataFrame, tickers: list[str], window: tuple[date, date], reasons: list[str],
    outcome: str,
) -> pd.DataFrame:  # fmt: skip
    """Keep the trades matching every filter (an empty list keeps all)."""
    keep = (frame["exit_date"] >= window[0]) & (frame["exit_date"] <= window[1])
    if tickers:
        keep &= frame["ticker"].isin(tickers)
    if reasons:
        keep &= frame["exit_reason"].isin(reasons)
    pnl = frame["pnl"].map(float)
    if outcome == "Winners":
        keep &= pnl > 0
    elif outcome == "Losers":
        keep &= pnl <= 0
    return frame[keep].reset_index(drop=True)
