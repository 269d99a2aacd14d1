"""Intraday bars for the backtest's intraday mode: a file in, bars by session out.

Owns reading ``ts,ticker,open,high,low,close,volume`` (Parquet or CSV; ``ts`` is the bar's
end: aware times are kept, naive ones are New York local time) into ``Bar`` objects
grouped by New York session date, in time order. The replay turns each bar into one quote
at its close and time (``realtime_data.ReplayFeed``), so the exits of a session with
intraday bars follow its intraday path instead of the daily bar's open/low/high/close.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from quant_agent.core.ids import Ticker
from quant_agent.core.market import Bar
from quant_agent.core.money import to_decimal

NEW_YORK = ZoneInfo("America/New_York")
COLUMNS = ["ts", "ticker", "open", "high", "low", "close", "volume"]


def load_intraday(path: Path) -> dict[date, list[Bar]]:
    """The bars of ``path`` by session (see the module docstring)."""
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: intraday bars need columns {COLUMNS}; missing {missing}")
    ts = pd.to_datetime(frame["ts"])
    ts = ts.dt.tz_localize(NEW_YORK) if ts.dt.tz is None else ts
    frame = frame.assign(ts=ts.dt.tz_convert("UTC")).sort_values(["ts", "ticker"], kind="stable")
    sessions: dict[date, list[Bar]] = {}
    for row in frame.itertuples(index=False):
        at = row.ts.to_pydatetime()
        day = at.astimezone(NEW_YORK).date()
        sessions.setdefault(day, []).append(Bar(
            ticker=Ticker(str(row.ticker)), session=day, open=to_decimal(row.open),
            high=to_decimal(row.high), low=to_decimal(row.low), close=to_decimal(row.close),
            volume=int(row.volume), ts_event=at,
        ))  # fmt: skip
    return sessions
