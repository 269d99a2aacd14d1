"""Benchmark of the dashboard's heaviest pages, rendered with Streamlit's AppTest.

Run: ``.venv/bin/python bench/bench_dashboard.py``. A SQLite database in a temporary folder
holds 10,000 closed trades and 2 years (504 sessions) of equity snapshots: one intraday
snapshot per hour of each session plus the close, 4,032 rows. Cases: the time of one
script run showing the Trades page, and the Performance page (metrics, equity vs the
benchmark, drawdown, monthly returns, P&L by exit reason), median and max of 5 runs after a
warm-up, each
"cold" (the first render after the runner wrote a snapshot: every read redone) and "warm"
(an auto-refresh with unchanged data, served from the version's memo). Target under 1 s.

Prints numbers, asserts nothing.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import insert  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from quant_agent.dashboard import APP_PATH  # noqa: E402
from quant_agent.market.calendar import get_calendar  # noqa: E402
from quant_agent.storage import tables as t  # noqa: E402
from quant_agent.storage.store import Store  # noqa: E402

TRADES = 10_000
REASONS = ["STOP_LOSS", "TAKE_PROFIT", "MAX_HOLD", "MANUAL", "SIGNAL_REVERSAL"]
RUNS = 5


def _seed(url: str) -> tuple[int, int]:
    rng = random.Random(7)
    calendar = get_calendar("NYSE")
    days = calendar.trading_days(date(2023, 1, 3), date(2025, 1, 10))[:504]
    snaps: list[dict[str, Any]] = []
    equity = 100_000.0
    for day in days:
        close = calendar.session_close(day)
        for hour in range(7):
            equity *= 1 + rng.gauss(0.0003, 0.003)
            ts = close - timedelta(hours=6, minutes=30) + timedelta(hours=hour)
            snaps.append(_snapshot(ts, "intraday", equity))
        snaps.append(_snapshot(close, "daily", equity))
    trades = []
    for i in range(TRADES):
        exit_day = days[rng.randrange(5, len(days))]
        entry = Decimal(rng.randint(2000, 40000)) / 100
        pnl = Decimal(rng.randint(-90000, 120000)) / 100
        trades.append({
            "ticker": f"T{i % 300:03d}", "entry_date": exit_day - timedelta(days=3),
            "exit_date": exit_day, "entry_price": entry, "exit_price": entry + pnl / 100,
            "quantity": 100, "pnl": pnl, "pnl_pct": float(pnl / (entry * 100)), "hold_days": 3,
            "commission": Decimal(2), "exit_reason": REASONS[i % len(REASONS)],
            "created_at": datetime(2025, 1, 1, tzinfo=UTC),
        })  # fmt: skip
    store = Store.open(url)
    with store.unit_of_work() as uow:
        uow.connection.execute(insert(t.equity_snapshots), snaps)
        uow.connection.execute(insert(t.live_trades), trades)
    store.close()
    return len(trades), len(snaps)


def _snapshot(ts: datetime, kind: str, equity: float) -> dict[str, Any]:
    value = Decimal(f"{equity:.2f}")
    return {"ts": ts, "kind": kind, "equity": value, "cash": value / 2,
            "positions_value": value / 2, "realized_pnl": Decimal(0),
            "unrealized_pnl": Decimal(0)}  # fmt: skip


def _time_page(page: str, url: str) -> tuple[list[float], list[float]]:
    """(cold, warm): cold runs follow a new snapshot (a new data version, nothing memoized);
    warm runs are the auto-refresh with unchanged data."""
    at = AppTest.from_file(str(APP_PATH), default_timeout=120)
    at.run()
    at.sidebar.radio(key="page").set_value(page).run()  # warm-up (imports, caches)
    assert not at.exception, [e.value for e in at.exception]
    cold, warm = [], []
    store = Store.open(url)
    for i in range(RUNS):
        with store.unit_of_work() as uow:  # the runner writes a snapshot: a new version
            ts = datetime(2025, 6, 1, 14, tzinfo=UTC) + timedelta(minutes=i + 10 * len(page))
            uow.connection.execute(insert(t.equity_snapshots), [_snapshot(ts, "intraday", 1e5)])
        start = time.perf_counter()
        at.run()
        cold.append(time.perf_counter() - start)
        start = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - start)
    store.close()
    assert not at.exception, [e.value for e in at.exception]
    return cold, warm


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        trades, snaps = _seed(url)
        os.environ.update(QA_DATABASE_URL=url, QA_DASHBOARD_REFRESH_SECONDS="0")
        os.chdir(folder)  # embedded defaults
        print(f"dashboard pages with {trades:,} trades and {snaps:,} equity snapshots "
              f"(2 years), AppTest script run, {RUNS} runs:")  # fmt: skip
        for page in ("Trades", "Performance"):
            for label, runs in zip(("cold", "warm"), _time_page(page, url), strict=True):
                print(f"  {page:<12} {label}: median {statistics.median(runs) * 1000:7.1f} ms"
                      f"   max {max(runs) * 1000:7.1f} ms   (target < 1000 ms)")  # fmt: skip


if __name__ == "__main__":
    main()
