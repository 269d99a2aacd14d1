"""The seven machine-checkable items of the seed's risk management checklist.

Each check takes a ``PreflightContext`` and returns one ``CheckResult`` saying what it found
and how it looked. They read the configured database and data, but write only to temporary
databases of their own (the emergency-stop runner, the restored backup), so running
preflight never changes the trading state.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from quant_agent.config import DatabaseConfig, DataConfig
from quant_agent.core.enums import CommandKind, CommandStatus
from quant_agent.core.errors import ConfigError, DataValidationError
from quant_agent.core.records import CommandRecord
from quant_agent.market.calendar import get_calendar
from quant_agent.market.history import HistoryStore
from quant_agent.market.source import load_history
from quant_agent.preflight import Check, CheckResult, PreflightContext, QuoteProbe, Status
from quant_agent.storage import backup as bk
from quant_agent.storage import migrate, tables
from quant_agent.storage.engine import make_engine, normalize_url
from quant_agent.storage.store import Store

NEW_YORK = ZoneInfo("America/New_York")


def find_checkout(ctx: PreflightContext) -> Path:
    """The folder holding ``tests/``: the context's, else the package's checkout, else cwd."""
    if ctx.checkout is not None:
        return ctx.checkout
    package_root = Path(__file__).resolve().parents[1]
    return package_root if (package_root / "tests").is_dir() else Path.cwd()


def check_risk_tests(ctx: PreflightContext) -> CheckResult:
    item = "risk limits tested"
    root = find_checkout(ctx)
    targets = list(ctx.config.preflight.risk_tests)  # files, or pytest node ids (file::test)
    how = f"pytest {' '.join(targets)} in {root}"
    missing = [t.partition("::")[0] for t in targets if not (root / t.partition("::")[0]).exists()]
    if missing or not targets:
        return CheckResult(item, Status.FAIL, f"risk tests not present: {', '.join(missing)} "
                           "(run preflight from a git checkout with its tests)", how)  # fmt: skip
    python = ctx.python or sys.executable
    if ctx.python is None and importlib.util.find_spec("pytest") is None:
        return CheckResult(item, Status.FAIL, "pytest is not installed (pip install "
                           "-e '.[dev]' in the checkout)", how)  # fmt: skip
    argv = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--rootdir={root}"]
    if (root / "pyproject.toml").is_file():
        argv.append(f"-c={root / 'pyproject.toml'}")
    done = subprocess.run([*argv, *targets], cwd=root, capture_output=True,
                          text=True, timeout=900, check=False)  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    summary = lines[-1].strip("= ") if lines else done.stderr.strip()[-300:]
    if done.returncode != 0:
        return CheckResult(item, Status.FAIL, f"risk tests failed (exit {done.returncode}): "
                           f"{summary}", how)  # fmt: skip
    return CheckResult(item, Status.PASS, summary, how)


def check_emergency_stop(ctx: PreflightContext) -> CheckResult:
    item = "emergency stop verified"
    history, source = _stop_history(ctx)
    last = history.last_date.date()
    how = ("HALT then RESUME through the commands table, applied by a paper runner replaying "
           f"{last} of the {source} on a temporary SQLite database")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="qa-preflight-") as folder:
        url = f"sqlite:///{Path(folder) / 'stop.db'}"
        config = ctx.config.model_copy(update={"database": DatabaseConfig(url=url)})
        store = Store.open(url)
        try:
            problem = _halt_then_resume(ctx, config, store, history, (last, last))
        finally:
            store.close()
    if problem:
        return CheckResult(item, Status.FAIL, problem, how)
    return CheckResult(item, Status.PASS, "HALT applied (state HALTED, no order sent), "
                       "RESUME applied (state RUNNING)", how)  # fmt: skip


def _stop_history(ctx: PreflightContext) -> tuple[HistoryStore, str]:
    """The configured history, or a small demo market when it cannot be loaded here (the
    halt path does not depend on the data; the data feed item reports that problem)."""
    try:
        return ctx.history(), f"{ctx.config.data.source} data"
    except (ConfigError, DataValidationError, OSError):
        demo = DataConfig(demo_tickers=12, demo_start=date(2024, 1, 2), demo_end=date(2024, 12, 31))
        return load_history(demo), "demo market"


def _halt_then_resume(ctx: PreflightContext, config: object, store: Store,
                      history: HistoryStore, window: tuple[date, date]) -> str | None:  # fmt: skip
    halt = _queue(ctx, store, CommandKind.HALT, {"reason": "preflight emergency stop check"})
    ctx.replay(config, store, history, window)
    status, state, orders = _outcome(store, halt)
    if status is not CommandStatus.APPLIED or state != "HALTED":
        return f"HALT not applied by the runner (command {status}, trading state {state})"
    if orders:
        return f"{orders} order(s) sent while HALTED"
    resume = _queue(ctx, store, CommandKind.RESUME, {})
    ctx.replay(config, store, history, window)
    status, state, _ = _outcome(store, resume)
    if status is not CommandStatus.APPLIED or state != "RUNNING":
        return f"RESUME not applied by the runner (command {status}, trading state {state})"
    return None


def _queue(ctx: PreflightContext, store: Store, kind: CommandKind, payload: dict[str, object]
           ) -> int:  # fmt: skip
    with store.unit_of_work() as uow:
        record = CommandRecord(kind=kind, created_at=ctx.clock.now(), payload=payload,
                               created_by="preflight")  # fmt: skip
        return uow.commands.add(record)


def _outcome(store: Store, command_id: int) -> tuple[CommandStatus | None, str, int]:
    with store.unit_of_work() as uow:
        command = uow.commands.get(command_id)
        state = (uow.system_state.get("trading_state") or {"state": "RUNNING"})["state"]
        orders = uow.orders.count()
    return (command.status if command else None), str(state), orders


def check_data_feed(ctx: PreflightContext) -> CheckResult:
    item = "data feed reachable and fresh"
    data = ctx.config.data
    if data.source == "questrade":
        return _check_quote(ctx, item)
    limit = ctx.config.preflight.max_data_age_sessions
    how = (f"loaded data.source={data.source}; NYSE sessions closed since its last bar vs "
           f"preflight.max_data_age_sessions={limit}")  # fmt: skip
    try:
        history = ctx.history()
    except (ConfigError, DataValidationError, OSError) as exc:
        return CheckResult(item, Status.FAIL, f"history does not load: {exc}", how)
    last = history.last_date.date()
    behind = sessions_since(last, ctx)
    detail = f"last session {last}, {behind} NYSE session(s) behind"
    if behind > limit:
        return CheckResult(item, Status.FAIL, f"stale: {detail} (max {limit})", how)
    return CheckResult(item, Status.PASS, detail, how)


def sessions_since(last: date, ctx: PreflightContext) -> int:
    """NYSE sessions that closed after ``last`` and by the clock's now."""
    now = ctx.clock.now()
    today = now.astimezone(NEW_YORK).date()
    if today <= last:
        return 0
    calendar = get_calendar("NYSE")
    days = calendar.trading_days(last + timedelta(days=1), today)
    closed = [d for d in days if calendar.session_close(d) <= now]
    return len(closed)


def _check_quote(ctx: PreflightContext, item: str) -> CheckResult:
    symbol = ctx.config.preflight.quote_symbol
    how = f"a Questrade snapshot quote of {symbol} (preflight.quote_symbol)"
    probe = ctx.quote_probe or _questrade_probe(ctx)
    try:
        line = probe(symbol)
    except Exception as exc:  # noqa: BLE001 - any failure to get a quote is the finding
        return CheckResult(item, Status.FAIL, f"no quote: {type(exc).__name__}: {exc}", how)
    return CheckResult(item, Status.PASS, f"quote arrived: {line}", how)


def _questrade_probe(ctx: PreflightContext) -> QuoteProbe:
    import asyncio

    from quant_agent.questrade import commands

    def probe(symbol: str) -> str:
        lines: list[str] = []
        asyncio.run(commands.quotes(ctx.config.questrade, [symbol], ctx.clock, lines.append))
        if not lines:
            raise LookupError(f"Questrade returned no quote for {symbol}")
        return lines[0].strip()

    return probe


def check_alerts(ctx: PreflightContext) -> CheckResult:
    from quant_agent.alerts import configured_urls
    from quant_agent.report_command import send_test_alerts

    item = "alerts deliver"
    timeout = ctx.config.preflight.alert_timeout_seconds
    how = f"a test alert on every configured channel, waiting up to {timeout:g} s"
    if not configured_urls(ctx.config.alerts):
        status = Status.FAIL if ctx.config.trading.mode == "live" else Status.WARN
        return CheckResult(item, status, "no alert channel configured (QA_ALERT_URLS or the "
                           "alerts section); required in live mode", how)  # fmt: skip
    lines = send_test_alerts(ctx.config, ctx.clock, timeout)
    failed = [line.strip() for line in lines if not line.endswith("delivered")]
    if failed:
        return CheckResult(item, Status.FAIL, "; ".join(failed), how)
    return CheckResult(item, Status.PASS, f"{len(lines)} channel(s) delivered", how)


def check_backup(ctx: PreflightContext) -> CheckResult:
    item = "database backup present and restorable"
    pf = ctx.config.preflight
    url = ctx.config.database.url
    dialect = normalize_url(url).get_backend_name()
    how = (f"newest {dialect} backup in {pf.backup_dir} (by the time in its name) vs "
           f"preflight.max_backup_age_hours={pf.max_backup_age_hours:g}, restored into a "
           "temporary database")  # fmt: skip
    found = bk.latest_backup(pf.backup_dir, dialect)
    if found is None:
        return CheckResult(item, Status.FAIL, f"no backup in {pf.backup_dir}; run "
                           "'quant-agent db backup'", how)  # fmt: skip
    age = ctx.clock.now() - found.taken_at
    hours = age.total_seconds() / 3600
    if hours > pf.max_backup_age_hours:
        old = f"{hours:.1f} h old (max {pf.max_backup_age_hours:g} h)"
        return CheckResult(item, Status.FAIL, f"newest backup {found.path.name} is {old}", how)
    try:
        with _scratch_database(url) as scratch:
            bk.restore(scratch, found.path)
            revision, orders = _describe(scratch)
    except (bk.BackupError, OSError) as exc:
        return CheckResult(item, Status.FAIL, f"{found.path.name} does not restore: {exc}", how)
    if revision is None:
        return CheckResult(item, Status.FAIL, f"{found.path.name} restored without a schema "
                           "revision (not a quant-agent database)", how)  # fmt: skip
    return CheckResult(item, Status.PASS, f"{found.path.name} ({hours:.1f} h old) restores: "
                       f"revision {revision}, {orders} order(s)", how)  # fmt: skip


@contextmanager
def _scratch_database(url: str) -> Iterator[str]:
    """An empty database of ``url``'s kind: a temporary SQLite file, or a new PostgreSQL
    database on the same server (dropped afterwards)."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory(prefix="qa-restore-") as folder:
            yield f"sqlite:///{Path(folder) / 'restored.db'}"
        return
    name = f"qa_preflight_{uuid.uuid4().hex[:12]}"
    admin = make_engine(parsed.set(database="postgres")).execution_options(
        isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield parsed.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


def _describe(url: str) -> tuple[str | None, int]:
    engine = make_engine(url)
    try:
        revision = migrate.current_revision(engine)
        with engine.connect() as conn:
            orders = conn.execute(select(func.count()).select_from(tables.orders)).scalar_one()
    finally:
        engine.dispose()
    return revision, int(orders)


def check_paper_history(ctx: PreflightContext) -> CheckResult:
    item = "paper trading history"
    pf = ctx.config.preflight
    how = ("sessions with a daily equity snapshot and selected signals in the configured "
           f"database vs preflight.min_paper_days={pf.min_paper_days}, "
           f"min_paper_signals={pf.min_paper_signals}")  # fmt: skip
    store = Store.open(ctx.config.database.url)
    try:
        with store.unit_of_work() as uow:
            snaps = _daily_sessions(uow.connection)
            signals = uow.connection.execute(
                select(func.count()).select_from(tables.live_signals)
                .where(tables.live_signals.c.selected.is_(True))
            ).scalar_one()  # fmt: skip
    finally:
        store.close()
    detail = f"{snaps} session(s), {signals} selected signal(s)"
    if snaps < pf.min_paper_days or signals < pf.min_paper_signals:
        return CheckResult(item, Status.FAIL, f"too little paper history: {detail}", how)
    return CheckResult(item, Status.PASS, detail, how)


def _daily_sessions(conn: Connection) -> int:
    table = tables.equity_snapshots
    rows = conn.execute(select(table.c.ts).where(table.c.kind == "daily"))
    return len({ts.astimezone(NEW_YORK).date() for (ts,) in rows})


def check_small_capital(ctx: PreflightContext) -> CheckResult:
    item = "small-capital setting"
    capital = ctx.config.trading.initial_capital
    ceiling = ctx.config.preflight.max_initial_capital
    how = "trading.initial_capital vs preflight.max_initial_capital (first live weeks)"
    if capital > ceiling:
        return CheckResult(item, Status.FAIL, f"trading.initial_capital {capital} is above "
                           f"the ceiling {ceiling}", how)  # fmt: skip
    return CheckResult(item, Status.PASS, f"{capital} <= {ceiling}", how)


ALL_CHECKS: tuple[Check, ...] = (
    check_risk_tests, check_emergency_stop, check_data_feed, check_alerts, check_backup,
    check_paper_history, check_small_capital,
)  # fmt: skip
