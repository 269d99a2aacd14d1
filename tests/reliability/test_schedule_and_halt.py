"""What traders of other systems report breaking (issue 10, item 7): the scan schedule and
the halt.

1. The 09:00 and 10:00 New York scans fire at exactly those New York times when the host
   clock runs in another zone (``TZ=Asia/Tokyo``), on both sides of the US DST changes, on
   half-days, and never on a holiday: the real runner process (``quant-agent run
   --replay``) over short replay windows, judged from the ``scan_runs`` it stored.
2. The halt (and the pause) blocks every entry path while exits still work, and
   ``quant-agent resume`` lifts it without a restart: see test_halt_paths.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from quant_agent.storage import tables as t
from quant_agent.storage.store import Store

NEW_YORK = ZoneInfo("America/New_York")
HOST_TZ = "Asia/Tokyo"  # UTC+9, no DST: a naive local time would be off by 13-14 hours
TIMEOUT = 180

# Two replay windows (one runner process each, side by side): each crosses a DST change,
# holidays on weekdays and half-days. Every weekday but the holidays must scan.
WINDOWS = ("2024-03-07:2024-03-12", "2024-10-31:2024-12-27")
HOLIDAYS = {date(2024, 11, 28), date(2024, 12, 25)}  # Thanksgiving, Christmas
HALF_DAYS = {date(2024, 11, 29), date(2024, 12, 24)}  # close at 13:00 New York
# 09:00 New York in UTC on both sides of each change (DST from 2024-03-10 to 2024-11-03).
UTC_HOUR_OF_0900 = {date(2024, 3, 8): 14, date(2024, 3, 11): 13, date(2024, 11, 1): 13,
                    date(2024, 11, 4): 14, date(2024, 11, 29): 14, date(2024, 12, 24): 14}


def start_runner(window: str, url: str, cwd: Path) -> subprocess.Popen[str]:
    """``quant-agent run --replay WINDOW`` with the host clock in Tokyo (a small market)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env |= {"TZ": HOST_TZ, "QA_DATABASE_URL": url, "QA_DATA__DEMO_TICKERS": "2"}
    command = [sys.executable, "-m", "quant_agent.cli", "run", "--replay", window, "--json"]
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def stored_scans(url: str) -> list[tuple[str, datetime]]:
    store = Store.open(url, upgrade=False)
    try:
        with store.engine.connect() as conn:
            stmt = sa.select(t.scan_runs.c.kind, t.scan_runs.c.started_at)
            return sorted((str(kind), at) for kind, at in conn.execute(stmt))
    finally:
        store.close()


def weekdays(window: str) -> list[date]:
    first, last = (date.fromisoformat(part) for part in window.split(":"))
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [day for day in days if day.weekday() < 5]


def test_scans_fire_at_new_york_times_across_dst_half_days_and_holidays_in_any_host_zone(
    tmp_path: Path,
) -> None:
    runs = {}
    for n, window in enumerate(WINDOWS):
        url = f"sqlite:///{tmp_path / f'window{n}.db'}"
        runs[window] = (url, start_runner(window, url, tmp_path))
    scanned: dict[date, list[tuple[str, datetime]]] = {}
    for window, (url, process) in runs.items():
        _, errors = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0, f"{window}: {errors[-2000:]}"
        for kind, at in stored_scans(url):
            scanned.setdefault(at.astimezone(NEW_YORK).date(), []).append((kind, at))
        trading = [day for day in weekdays(window) if day not in HOLIDAYS]
        assert sorted(d for d in scanned if str(d) >= window[:10]) == trading, window
    for day, scans in scanned.items():
        local = sorted((at.astimezone(NEW_YORK).time(), kind) for kind, at in scans)
        assert local == [(time(9), "PREMARKET"), (time(10), "MARKET")], (day, scans)
    for day, hour in UTC_HOUR_OF_0900.items():
        assert sorted(at for _, at in scanned[day]) == [
            datetime.combine(day, time(hour), tzinfo=UTC),
            datetime.combine(day, time(hour + 1), tzinfo=UTC),
        ], day  # fmt: skip
    assert HOLIDAYS.isdisjoint(scanned) and HALF_DAYS <= set(scanned)
