"""Wiring of ``quant-agent report`` and ``quant-agent alerts test``: config in, files and
notifications out. Edge code; the work is done by ``live_performance``, ``daily_report``
and ``alerts``.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pandas as pd

from quant_agent.alerts import AlertManager
from quant_agent.config import LiveTradingConfig
from quant_agent.core.clock import Clock
from quant_agent.core.errors import ConfigError
from quant_agent.daily_report import build_report, write_pngs, write_report
from quant_agent.live_performance import LivePerformanceTracker, benchmark_closes
from quant_agent.market.calendar import get_calendar
from quant_agent.storage.store import Store

log = logging.getLogger(__name__)


def load_benchmark(config: LiveTradingConfig) -> pd.Series | None:
    """The benchmark's daily closes from the configured market data, or None if absent."""
    from quant_agent.market.source import load_history

    try:
        history = load_history(config.data)
    except ConfigError as exc:
        log.warning("no benchmark for the report: %s", exc)
        return None
    ticker = config.performance.benchmark
    if ticker not in history.tickers:
        log.warning("benchmark %s is not in the market data; report without it", ticker)
        return None
    return benchmark_closes(history, ticker)


def make_tracker(
    config: LiveTradingConfig, store: Store, clock: Clock, benchmark: pd.Series | None
) -> LivePerformanceTracker:
    return LivePerformanceTracker(
        store, clock, get_calendar("NYSE"), config.performance, benchmark=benchmark,
        initial_capital=config.trading.initial_capital,
    )  # fmt: skip


def run_report(
    config: LiveTradingConfig,
    clock: Clock,
    day: date | None,
    fmt: str,
    out: Path | None,
    png: bool = False,
) -> Path:
    """Write the daily report of ``day`` (default: the latest session) and return its path;
    with ``png`` also its charts as PNG files beside it (kaleido + a local Chromium)."""
    store = Store.open(config.database.url)
    try:
        tracker = make_tracker(config, store, clock, load_benchmark(config))
        session = day or tracker.session_of(clock.now())
        if not tracker.calendar.is_trading_day(session):
            raise ValueError(f"{session} is not a NYSE session")
        report = build_report(tracker, session)
        path = write_report(report, out or config.performance.report_dir, fmt)
        if png:
            try:
                write_pngs(report, path.parent)
            except Exception as exc:  # noqa: BLE001 - kaleido/choreographer raise many types
                raise ValueError(
                    f"PNG export failed ({type(exc).__name__}: {exc}); it needs a local "
                    f"Chrome/Chromium (Debian: apt-get install chromium). HTML written: {path}"
                ) from None
        return path
    finally:
        store.close()


def send_test_alerts(config: LiveTradingConfig, clock: Clock, timeout: float = 30.0) -> list[str]:
    """Send a test alert on every configured channel; return one line per channel."""
    manager = AlertManager(config.alerts, clock)
    try:
        manager.send_test()
        manager.drain(timeout)
    finally:
        manager.close(timeout)
    return [
        f"{c.kind:8} {c.label}: {'delivered' if c.delivered else 'FAILED'}"
        for c in manager.channels
    ]
