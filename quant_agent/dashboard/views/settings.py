"""Settings: the effective configuration (secrets masked), risk limits and their usage, and
the controls (pause, resume, halt with a reason, scan now) with the runner's answer."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from quant_agent.config import mask_url
from quant_agent.core.enums import CommandKind
from quant_agent.dashboard import controls, queries
from quant_agent.dashboard.context import PageContext

CONTROLS = (CommandKind.PAUSE, CommandKind.RESUME, CommandKind.HALT, CommandKind.SCAN)


def render(ctx: PageContext) -> None:
    st.header("Settings")
    st.subheader("Controls")
    status = queries.trading_status(ctx.store)
    st.metric("Trading state", status.state)
    cols = st.columns(4)
    pressed: dict[str, Any] | None = None
    if cols[0].button("Pause", key="ctl_pause"):
        pressed = {"kind": CommandKind.PAUSE}
    if cols[1].button("Resume", key="ctl_resume"):
        pressed = {"kind": CommandKind.RESUME}
    if cols[3].button("Scan now", key="ctl_scan"):
        pressed = {"kind": CommandKind.SCAN}
    reason = cols[2].text_input("Halt reason", value="halted from the dashboard", key="ctl_reason")
    if cols[2].button("Halt", key="ctl_halt", type="primary"):
        pressed = {"kind": CommandKind.HALT, "payload": {"reason": reason}}
    if pressed is not None:
        kind = pressed["kind"]
        command_id = controls.send_command(ctx.store, kind, ctx.now(), pressed.get("payload"))
        st.session_state[f"cmd_{kind.value}"] = command_id
    for kind in CONTROLS:
        if f"cmd_{kind.value}" in st.session_state:
            row = queries.command(ctx.store, st.session_state[f"cmd_{kind.value}"])
            st.caption(controls.describe(row))
    st.subheader("Recent commands")
    st.dataframe(queries.commands(ctx.store, limit=10), hide_index=True, width="stretch")
    st.subheader("Risk limits and usage")
    st.dataframe(risk_usage(ctx), hide_index=True, width="stretch")
    st.subheader("Effective configuration (secrets masked)")
    st.json(displayed_config(ctx), expanded=False)


def displayed_config(ctx: PageContext) -> dict[str, Any]:
    shown = ctx.config.display()
    shown["database"]["url"] = mask_url(ctx.config.database.url)
    return shown


def risk_usage(ctx: PageContext) -> pd.DataFrame:
    trading, risk = ctx.config.trading, ctx.config.risk
    snap = queries.latest_snapshot(ctx.store)
    positions = queries.open_positions(ctx.store)
    equity = float(snap["equity"]) if snap else float(trading.initial_capital)
    cash = float(snap["cash"]) if snap else equity
    values = pd.to_numeric(positions.get("current_price"), errors="coerce") * positions.get(
        "quantity", 0) if len(positions) else pd.Series(dtype=float)  # fmt: skip
    largest = float(values.max()) / equity * 100 if len(values) and equity else 0.0
    by_sector = values.groupby(positions["sector"].fillna("?")).sum() if len(values) else values
    sector = float(by_sector.max()) / equity * 100 if len(by_sector) and equity else 0.0
    rows = [
        ("open positions", trading.max_positions, len(positions)),
        ("largest position % of equity", trading.max_position_pct, round(largest, 2)),
        ("largest sector % of equity", risk.max_sector_exposure_pct, round(sector, 2)),
        ("buying power % (minimum)", risk.min_buying_power_pct,
         round(cash / equity * 100, 2) if equity else 0.0),
        ("daily loss % (maximum)", risk.max_daily_loss_pct, None),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["limit", "value", "current"])
