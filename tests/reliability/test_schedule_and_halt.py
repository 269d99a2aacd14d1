"""What traders of other systems report breaking (issue 10, item 7): the scan schedule and
the halt.

1. The 09:00 and 10:00 New York scans fire at exactly those New York times when the host
   clock runs in another zone (``TZ=Asia/Tokyo``), on both sides of the US DST changes, on
   half-days, and never on a holiday: the real runner process (``quant-agent run
   --replay``) over short replay windows, judged from the ``scan_runs`` it stored.
2. The halt (and the pause) blocks every entry path -- the scheduled scans, the on-demand
   scans (the ``SCAN`` command of the dashboard, ``quant-agent scan``) and a signal handed to
   the executor by hand (the only manual door: no command opens a position) -- while exits
   still work (stop, target, ``quant-agent close``), and ``quant-agent resume`` lifts it
   through the commands table without a restart.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from quant_agent.cli import app
from quant_agent.config import DataConfig, LiveTradingConfig
from quant_agent.core.enums import CommandKind, CommandStatus, ExitReason, ScanKind, TradingState
from quant_agent.core.market import Quote
from quant_agent.dashboard.controls import send_command
from quant_agent.market.history import HistoryStore
from quant_agent.market.source import load_history
from quant_agent.runner import Runner
from quant_agent.signals.scan import Signal
from quant_agent.storage import tables as t
from quant_agent.storage.store import Store
from quant_agent.testkit.executor import planned_signal
from quant_agent.testkit.quotes import quote

NEW_YORK = ZoneInfo("America/New_York")
HOST_TZ = "Asia/Tokyo"  # UTC+9, no DST: a naive local time would be off by 13-14 hours
TIMEOUT = 180

# Two replay windows (one runner process each, side by side): each crosses a DST change; the
# second also Thanksgiving, its half-day, Christmas Eve (a half-day) and Christmas. Every
# weekday but the holidays must scan.
WINDOWS = ("2024-03-07:2024-03-12", "2024-10-31:2024-12-27")
HOLIDAYS = {date(2024, 11, 28), date(2024, 12, 25)}  # Thanksgiving, Christmas
HALF_DAYS = {date(2024, 11, 29), date(2024, 12, 24)}  # close at 13:00 New York
# 09:00 New York in UTC on both sides of each change (DST from 2024-03-10 to 2024-11-03).
UTC_HOUR_OF_0900 = {
    date(2024, 3, 8): 14,
    date(2024, 3, 11): 13,
    date(2024, 11, 1): 13,
    date(2024, 11, 4): 14,
    date(2024, 11, 29): 14,
    date(2024, 12, 24): 14,
}


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
    try:
        for window, (url, process) in runs.items():
            _, errors = process.communicate(timeout=TIMEOUT)
            assert process.returncode == 0, f"{window}: {errors[-2000:]}"
            days = {at.astimezone(NEW_YORK).date() for _, at in stored_scans(url)}
            assert sorted(days) == [d for d in weekdays(window) if d not in HOLIDAYS], window
            for kind, at in stored_scans(url):
                scanned.setdefault(at.astimezone(NEW_YORK).date(), []).append((kind, at))
    finally:
        for _, process in runs.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    for day, scans in scanned.items():
        local = sorted((at.astimezone(NEW_YORK).time(), kind) for kind, at in scans)
        assert local == [(time(9), "PREMARKET"), (time(10), "MARKET")], (day, scans)
    for day, hour in UTC_HOUR_OF_0900.items():
        assert sorted(at for _, at in scanned[day]) == [
            datetime.combine(day, time(hour), tzinfo=UTC),
            datetime.combine(day, time(hour + 1), tzinfo=UTC),
        ], day  # fmt: skip
    assert HOLIDAYS.isdisjoint(scanned) and HALF_DAYS <= set(scanned)


# --- the halt ---------------------------------------------------------------------------------

DEMO_TICKERS = "12"
DAY0, DAY = date(2024, 2, 7), date(2024, 2, 8)  # the demo market's risk-on weeks
OPEN0 = datetime(2024, 2, 7, 14, 30, tzinfo=UTC)
PREMARKET = datetime(2024, 2, 8, 14, 0, tzinfo=UTC)  # 09:00 New York (EST)
OPEN = datetime(2024, 2, 8, 14, 30, tzinfo=UTC)
HELD = ("STOPX", "TGTX", "MANX")  # scripted positions: each leaves by another exit
STOPPED = {"halt": TradingState.HALTED, "pause": TradingState.PAUSED}


def cli(url: str, *args: str) -> str:
    """An operator's command, as typed (``quant-agent halt``, ``resume``, ``close``, ``scan``)."""
    env = {"QA_DATABASE_URL": url, "QA_DATA__DEMO_TICKERS": DEMO_TICKERS}
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def counted(store: Store, stmt: sa.Select[tuple[int]]) -> int:
    with store.unit_of_work() as uow:
        return int(uow.connection.execute(stmt).scalar_one())


def entries(store: Store) -> int:
    return counted(store, sa.select(sa.func.count()).where(t.orders.c.role == "ENTRY"))


def refused(store: Store) -> int:
    """Entries the risk gate refused because trading is halted or paused."""
    r = t.risk_events
    return counted(store, sa.select(sa.func.count()).where(
        r.c.event_type == "ENTRY_REJECTED", r.c.rule == "trading_state"))  # fmt: skip


def play(runner: Runner, *quotes: Quote) -> None:
    """The runner's quote step, one quote at a time at its own instant."""
    for q in quotes:
        runner.engine.clock.set(max(q.ts_event, runner.engine.clock.now()))
        runner.on_quotes([q])


@cache
def demo_history() -> HistoryStore:
    return load_history(DataConfig(demo_tickers=int(DEMO_TICKERS)))


def new_signal(ticker: str) -> Signal:
    return planned_signal(ticker, DAY0, "100.00", "95.00", "110.00", 10)


@pytest.mark.parametrize("stop", sorted(STOPPED))
def test_halt_blocks_every_entry_path_while_exits_work_and_resume_lifts_it_without_restart(
    store: Store, database_url: str, stop: str
) -> None:
    config = LiveTradingConfig.model_validate({"trading": {"max_positions": 6}})
    runner = Runner(config, store, demo_history(), (DAY0, DAY))
    engine, executor = runner.engine, runner.engine.executor
    engine.clock.set(OPEN0)
    executor.start()
    assert all(executor.process_signal(new_signal(t)).action == "entered" for t in HELD)
    play(runner, *(quote(ticker, "99.90", "100.00", ts=OPEN0) for ticker in HELD))
    assert {p.ticker for p in engine.positions.get_active_positions()} == set(HELD)
    entered = entries(store)

    cli(database_url, stop)  # quant-agent halt | pause, applied by the loop after a step
    runner.apply_commands()
    assert engine.risk.state is STOPPED[stop]

    # Entry paths. The scheduled 09:00 scan (the timeline's scan step) wants entries: refused.
    engine.clock.set(PREMARKET)
    report = runner.run_scan(ScanKind.PREMARKET)
    assert report.output is not None
    wanted = sum(1 for s in report.output.signals if s.selected)
    assert wanted >= 1 and refused(store) == wanted
    # The dashboard's on-demand scan (a SCAN row in the commands table): refused again.
    send_command(store, CommandKind.SCAN, engine.clock.now())
    runner.apply_commands()
    assert refused(store) == 2 * wanted
    # quant-agent scan scores and stores a scan; it never places an order.
    cli(database_url, "scan", "--kind", "premarket", "--asof", DAY0.isoformat())
    # By hand: a signal handed straight to the executor. No command kind opens a position.
    outcome = executor.process_signal(new_signal("NEWX"))
    assert (outcome.action, outcome.reason.split(":")[0]) == ("rejected", "trading_state")
    assert {k.value for k in CommandKind} == {"PAUSE", "RESUME", "HALT", "CLOSE_POSITION",
                                              "SCAN"}  # fmt: skip
    assert entries(store) == entered and refused(store) == 2 * wanted + 1

    # Exits still work: the stop, the target, and quant-agent close.
    play(runner, quote("STOPX", "94.00", "94.10", ts=OPEN),
         quote("TGTX", "111.00", "111.10", ts=OPEN))  # fmt: skip
    cli(database_url, "close", "MANX")
    runner.apply_commands()
    play(runner, quote("MANX", "102.00", "102.10", ts=OPEN + timedelta(minutes=1)))
    with store.unit_of_work() as uow:
        exits = {str(trade.ticker): trade.exit_reason for trade in uow.trades.list()}
    assert exits == {"STOPX": ExitReason.STOP_LOSS, "TGTX": ExitReason.TAKE_PROFIT,
                     "MANX": ExitReason.MANUAL}  # fmt: skip
    assert engine.risk.state is STOPPED[stop] and entries(store) == entered

    # quant-agent resume, applied by the same running runner: entries open again.
    cli(database_url, "resume")
    runner.apply_commands()
    assert engine.risk.state is TradingState.RUNNING
    assert executor.process_signal(new_signal("NEWX")).action == "entered"
    assert entries(store) == entered + 1 and refused(store) == 2 * wanted + 1
    with store.unit_of_work() as uow:
        commands = [(c.kind.value, c.status) for c in uow.commands.list()]
    assert commands == [(kind, CommandStatus.APPLIED)
                        for kind in (stop.upper(), "SCAN", "CLOSE_POSITION", "RESUME")]  # fmt: skip


def test_the_running_loop_scans_while_halted_without_entering_and_applies_resume(
    store: Store, database_url: str
) -> None:
    """``Runner.run`` over a replayed session: halted before it starts, the 09:00 scan's
    entries are refused; ``quant-agent resume`` typed while the loop runs (right after that
    scan step) is applied at the next step, and the 10:00 scan enters."""
    cli(database_url, "halt", "--reason", "before the open")

    def operator(point: str) -> None:  # the loop calls this at each crash point
        if point == "event" and runner.engine.clock.now() == PREMARKET and not resumed:
            resumed.append(cli(database_url, "resume"))

    resumed: list[str] = []
    runner = Runner(LiveTradingConfig(), store, demo_history(), (DAY, DAY), crash=operator)
    summary = asyncio.run(runner.run())
    assert summary.scans == 2 and summary.trading_state == "RUNNING" and resumed
    r, o = t.risk_events, t.orders
    with store.unit_of_work() as uow:
        refusals = [row.ts for row in uow.connection.execute(sa.select(r.c.ts).where(
            r.c.event_type == "ENTRY_REJECTED", r.c.rule == "trading_state"))]  # fmt: skip
        placed = [row.created_at for row in uow.connection.execute(
            sa.select(o.c.created_at).where(o.c.role == "ENTRY"))]  # fmt: skip
        commands = [(c.kind.value, c.status, c.applied_at) for c in uow.commands.list()]
    assert refusals and set(refusals) == {PREMARKET}
    assert placed and min(placed) >= PREMARKET + timedelta(hours=1)  # the 10:00 scan
    assert [(kind, status) for kind, status, _ in commands] == [
        ("HALT", CommandStatus.APPLIED), ("RESUME", CommandStatus.APPLIED)]  # fmt: skip
    assert PREMARKET < commands[1][2] < PREMARKET + timedelta(hours=1)
