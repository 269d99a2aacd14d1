"""The Streamlit script of the dashboard (``streamlit run``; ``quant-agent dashboard``).

Edge code: it reads the config like the other commands (``QA_DASHBOARD_CONFIG`` names the
YAML file, ``QA_*`` variables override), opens the same store, checks the login before any
page renders, and redraws the chosen page every ``QA_DASHBOARD_REFRESH_SECONDS`` (default 5;
0 turns it off) inside an ``st.fragment`` so the sidebar, the filters and pending
confirmations keep their state.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from quant_agent.config import DataConfig, LiveTradingConfig, PerformanceConfig, load_config
from quant_agent.core.clock import LiveClock
from quant_agent.dashboard import auth, queries
from quant_agent.dashboard.context import PageContext
from quant_agent.dashboard.memo import DataView, MemoTracker, data_version
from quant_agent.dashboard.views import PAGES
from quant_agent.market.calendar import get_calendar
from quant_agent.report_command import load_benchmark
from quant_agent.storage.store import Store

CONFIG_ENV = "QA_DASHBOARD_CONFIG"
REFRESH_ENV = "QA_DASHBOARD_REFRESH_SECONDS"


@st.cache_resource(show_spinner=False)
def _store(url: str) -> Store:
    return Store.open(url, upgrade=False)


@st.cache_resource(show_spinner=False)
def _benchmark(data_json: str, ticker: str) -> pd.Series | None:
    data = DataConfig.model_validate_json(data_json)
    return load_benchmark(
        LiveTradingConfig(data=data, performance=PerformanceConfig(benchmark=ticker))
    )


@st.cache_resource(show_spinner=False, max_entries=4)
def _view(
    url: str, version: tuple[Any, ...], _config: LiveTradingConfig, _store: Store,
    _benchmark: pd.Series | None,
) -> DataView:  # fmt: skip
    """The memoized reads of one data version, shared by every session and refresh."""
    snap = queries.latest_snapshot(_store)
    tracker = MemoTracker(
        _store, LiveClock(), get_calendar("NYSE"), _config.performance, benchmark=_benchmark,
        initial_capital=_config.trading.initial_capital, latest=snap["ts"] if snap else None,
    )  # fmt: skip
    return DataView(_store, tracker)


def _config() -> LiveTradingConfig:
    path = os.environ.get(CONFIG_ENV)
    return load_config(Path(path) if path else None)


def main() -> None:
    st.set_page_config(page_title="quant-agent", layout="wide")
    if not auth.login_gate(st, os.environ):
        st.stop()
    config = _config()
    store = _store(config.database.url)
    clock = LiveClock()
    benchmark = _benchmark(config.data.model_dump_json(), config.performance.benchmark)
    name = st.sidebar.radio("Page", list(PAGES), key="page")
    refresh = float(os.environ.get(REFRESH_ENV, "5"))
    page = PAGES[str(name)]

    @st.fragment(run_every=refresh if refresh > 0 else None)
    def live() -> None:
        view = _view(config.database.url, data_version(store), config, store, benchmark)
        page(PageContext(config=config, store=store, clock=clock, view=view))

    live()
    st.sidebar.caption(f"refreshes every {refresh:g} s" if refresh > 0 else "refresh off")


main()
