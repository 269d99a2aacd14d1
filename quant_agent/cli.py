"""The ``quant-agent`` command line (typer). Edge code: it reads the wall clock through a
``LiveClock`` and prints with rich; everything it does is done by the package's modules.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import yaml
from rich.console import Console
from rich.table import Table

from quant_agent.config import LiveTradingConfig, load_config, mask_url
from quant_agent.core.clock import Clock, LiveClock
from quant_agent.core.errors import ConfigError, DataValidationError
from quant_agent.logs import configure_logging

if TYPE_CHECKING:
    from quant_agent.market.history import HistoryStore

app = typer.Typer(
    name="quant-agent",
    help="Automated stock trading for a Questrade account: scans, orders, risk, paper first.",
    no_args_is_help=True,
    add_completion=False,
)
config_app = typer.Typer(help="Check the configuration.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the database: schema, backup, restore.", no_args_is_help=True)
data_app = typer.Typer(help="Validate market data files.", no_args_is_help=True)
alerts_app = typer.Typer(help="Alert channels (Apprise URLs).", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(alerts_app, name="alerts")
app.add_typer(db_app, name="db")
app.add_typer(data_app, name="data")
questrade_app = typer.Typer(
    help="Questrade: store the token, check the account, show quotes, run the local server.",
    no_args_is_help=True,
)
app.add_typer(questrade_app, name="questrade")

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="YAML file (default: config/live_trading.yaml, else built-in)."
    ),
]


def _load(path: Path | None) -> LiveTradingConfig:
    try:
        config = load_config(path)
    except ConfigError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    secrets = [
        value.get_secret_value()
        for section in config.model_dump().values()
        for value in section.values()
        if hasattr(value, "get_secret_value") and value is not None
    ]
    configure_logging("INFO", secrets)
    return config


@config_app.command("check")
def config_check(
    path: Annotated[Path | None, typer.Argument(help="Config file to check.")] = None,
) -> None:
    """Print the effective configuration (secrets masked), or each error and exit 2."""
    config = _load(path)
    console.print(yaml.safe_dump(config.display(), sort_keys=False), highlight=False, end="")
    console.print("[green]configuration OK[/]")


@db_app.command("upgrade")
def db_upgrade(config_path: ConfigOption = None) -> None:
    """Create or migrate the database schema to the newest revision (idempotent)."""
    from quant_agent.storage import migrate
    from quant_agent.storage.engine import make_engine

    config = _load(config_path)
    engine = make_engine(config.database.url)
    migrate.upgrade(engine)
    console.print(
        f"database {mask_url(config.database.url)} at revision {migrate.current_revision(engine)}"
    )
    engine.dispose()


@db_app.command("backup")
def db_backup(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="File, or folder (default: preflight.backup_dir)."),
    ] = None,
    config_path: ConfigOption = None,
) -> None:
    """Back up the database (SQLite: online backup API; PostgreSQL: pg_dump, custom format)."""
    from quant_agent.storage import backup as bk

    config = _load(config_path)
    url = config.database.url
    target = out if out is not None else config.preflight.backup_dir
    if target.is_dir() or out is None:
        target = bk.default_backup_path(url, target, LiveClock().now())
    try:
        path = bk.backup(url, target)
    except bk.BackupError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    console.print(f"backup of {mask_url(url)} written to {path} ({path.stat().st_size} bytes)",
                  highlight=False)  # fmt: skip


@db_app.command("restore")
def db_restore(
    path: Annotated[Path, typer.Argument(help="A backup written by 'db backup'.")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Overwrite a non-empty database without asking.")
    ] = False,
    config_path: ConfigOption = None,
) -> None:
    """Replace the database with a backup (stop the runner first)."""
    from quant_agent.storage import backup as bk
    from quant_agent.storage import migrate
    from quant_agent.storage.engine import make_engine

    config = _load(config_path)
    url = config.database.url
    try:
        if not yes and not bk.is_empty(url):
            typer.confirm(f"replace every table of {mask_url(url)} with {path}?", abort=True)
        bk.restore(url, path)
    except bk.BackupError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    engine = make_engine(url)
    revision = migrate.current_revision(engine)
    engine.dispose()
    console.print(
        f"{mask_url(url)} restored from {path} (revision {revision}); "
        "'quant-agent db upgrade' brings an older backup's schema up to date"
    )


@app.command("preflight")
def preflight_cmd(
    config_path: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check the go-live checklist; print PASS/WARN/FAIL per item and store the result."""
    from quant_agent.preflight import PreflightContext, run_preflight, save_report
    from quant_agent.storage.store import Store

    config = _load(config_path)
    report = run_preflight(PreflightContext(config=config, clock=LiveClock()))
    store = Store.open(config.database.url)
    try:
        save_report(store, report)
    finally:
        store.close()
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict(), indent=2) + "\n")
    else:
        table = Table(title=f"quant-agent preflight ({report.mode} mode)")
        for column in ("item", "result", "found", "how it was checked"):
            table.add_column(column)
        colors = {"PASS": "green", "WARN": "yellow", "FAIL": "bold red"}
        for r in report.results:
            table.add_row(r.item, f"[{colors[r.status]}]{r.status}[/]", r.detail, r.how)
        console.print(table)
        verdict = "[green]preflight passed[/]" if report.passed else "[bold red]preflight FAILED[/]"
        console.print(verdict)
    raise typer.Exit(0 if report.passed else 1)


@data_app.command("check")
def data_check(
    path: Annotated[Path, typer.Argument(help="Daily bars: CSV/Parquet file or folder.")],
    universe: Annotated[
        Path | None, typer.Option("--universe", "-u", help="Universe CSV (ticker,sector).")
    ] = None,
) -> None:
    """Validate daily bars (and a universe file); print errors and warnings, exit 1 on errors."""
    from quant_agent.market.history import check_files

    report = check_files(path, universe)
    console.print(report.render(), highlight=False)
    raise typer.Exit(0 if report.ok else 1)


@app.command("calendar")
def calendar_cmd(
    day: Annotated[
        str | None, typer.Option(help="Session date YYYY-MM-DD (default: today).")
    ] = None,
    exchange: Annotated[str, typer.Option(help="NYSE or TSX.")] = "NYSE",
) -> None:
    """Show the trading session of a day and the next open and close."""
    from quant_agent.market.calendar import get_calendar

    clock: Clock = LiveClock()
    calendar = get_calendar(exchange)
    when = date.fromisoformat(day) if day else clock.now().astimezone(_ny()).date()
    _print_session(calendar, when, clock.now())


def _ny():  # noqa: ANN202 - tiny helper
    from zoneinfo import ZoneInfo

    return ZoneInfo("America/New_York")


def _print_session(calendar, day: date, now: datetime) -> None:  # noqa: ANN001
    tz = _ny()
    if calendar.is_trading_day(day):
        open_, close = calendar.session_open(day), calendar.session_close(day)
        early = " (early close)" if calendar.is_early_close(day) else ""
        console.print(
            f"{calendar.exchange} {day}: session {open_.astimezone(tz):%H:%M}-"
            f"{close.astimezone(tz):%H:%M} America/New_York{early}"
        )
    else:
        console.print(f"{calendar.exchange} {day}: closed")
    console.print(
        f"market open now: {calendar.is_market_open(now)}; "
        f"next open {calendar.next_open(now).astimezone(tz):%Y-%m-%d %H:%M %Z}; "
        f"next close {calendar.next_close(now).astimezone(tz):%Y-%m-%d %H:%M %Z}"
    )


@app.command("run")
def run(
    config_path: ConfigOption = None,
    replay: Annotated[
        str | None,
        typer.Option(help="Replay START:END (YYYY-MM-DD:YYYY-MM-DD); default: runner.replay_*."),
    ] = None,
    speed: Annotated[
        float | None,
        typer.Option(help="Simulated seconds per real second (default: as fast as possible)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Trade a replayed market on paper from end to end and print a summary.

    The window defaults to the config's runner.replay_start..replay_end over the configured
    data (the built-in demo market unless data.source says otherwise). A replay that was
    interrupted (crash, SIGKILL, Ctrl-C) resumes where it stopped when run again with the
    same database. SIGINT/SIGTERM stop it gracefully after the current step.
    """
    import os

    from quant_agent.crashpoints import crash_hook
    from quant_agent.runner import run_replay
    from quant_agent.session import start_session
    from quant_agent.storage.store import Store

    config = _load(config_path)
    from quant_agent.live_session import is_live

    live = replay is None and is_live(config)
    try:
        window = _window(replay, config)
        history = _history(config)
    except (ConfigError, DataValidationError, ValueError) as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    _require_preflight(config)  # live mode: a passing preflight within preflight.valid_hours
    session = start_session(config, LiveClock(), history)  # migrations, heartbeat
    store = Store.open(config.database.url)
    try:
        if live:  # data.source questrade or a Questrade broker: the live clock, until stopped
            import asyncio

            from quant_agent.live_session import run_live

            summary = asyncio.run(run_live(config, store, history, LiveClock()))
        else:
            summary = run_replay(config, store, history, window, speed=speed,
                                 crash=crash_hook(os.environ))  # fmt: skip
    finally:
        store.close()
    if as_json:
        payload = {**summary.as_dict(), "session": session.as_dict()}
        sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
        return
    _print_status(session)
    table = Table(title="quant-agent paper replay", show_header=False)
    for key, value in summary.as_dict().items():
        table.add_row(key.replace("_", " "), str(value))
    console.print(table)


def _history(config: LiveTradingConfig) -> HistoryStore:
    """The configured history; from Questrade's candles when ``data.source: questrade``."""
    from quant_agent.market.source import load_history

    if config.data.source != "questrade":
        return load_history(config.data)
    from quant_agent.questrade.errors import QuestradeError
    from quant_agent.questrade.history import candles_loader

    try:
        return load_history(config.data, candles_loader(config, LiveClock()))
    except QuestradeError as exc:
        raise ConfigError([f"data.source questrade: {exc}"]) from None


def _require_preflight(config: LiveTradingConfig) -> None:
    from quant_agent.preflight import PreflightRequired, require_recent_pass
    from quant_agent.storage.store import Store

    if config.trading.mode != "live":
        return
    store = Store.open(config.database.url)
    try:
        require_recent_pass(config, store, LiveClock().now())
    except PreflightRequired as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        store.close()


def _print_status(status) -> None:  # noqa: ANN001
    table = Table(title="quant-agent paper session", show_header=False)
    for key, value in status.as_dict().items():
        if key != "leaders":
            table.add_row(key.replace("_", " "), str(value))
    console.print(table)
    leaders = Table(title=f"126-day momentum leaders as of {status.last_session}")
    for column in ("ticker", "sector", "close", "momentum 126d"):
        leaders.add_column(column)
    for row in status.leaders:
        leaders.add_row(
            row["ticker"], row["sector"], f"{row['close']:.2f}", f"{row['momentum']:+.1%}"
        )
    console.print(leaders)


def _window(replay: str | None, config: LiveTradingConfig) -> tuple[date, date]:
    if replay is None:
        return config.runner.replay_start, config.runner.replay_end
    start, sep, end = replay.partition(":")
    if not sep:
        raise ValueError(f"--replay expects START:END, got {replay!r}")
    window = date.fromisoformat(start), date.fromisoformat(end)
    if window[1] < window[0]:
        raise ValueError(f"--replay end {end} is before start {start}")
    return window


def _command(kind: str, payload: dict[str, object], config_path: Path | None) -> None:
    from quant_agent.core.enums import CommandKind
    from quant_agent.core.records import CommandRecord
    from quant_agent.storage.store import Store

    config = _load(config_path)
    store = Store.open(config.database.url)
    try:
        with store.unit_of_work() as uow:
            command_id = uow.commands.add(CommandRecord(
                kind=CommandKind(kind), created_at=LiveClock().now(), payload=payload,
            ))  # fmt: skip
    finally:
        store.close()
    console.print(f"command {command_id} {kind} queued; the runner applies it at its next step")


@app.command("pause")
def pause(config_path: ConfigOption = None) -> None:
    """Pause new entries (exits still work) until resume."""
    _command("PAUSE", {}, config_path)


@app.command("resume")
def resume(config_path: ConfigOption = None) -> None:
    """Resume new entries after a pause or a halt."""
    _command("RESUME", {}, config_path)


@app.command("halt")
def halt(
    reason: Annotated[str, typer.Option(help="Why (recorded).")] = "halted by the user",
    config_path: ConfigOption = None,
) -> None:
    """Halt new entries (survives restarts; only resume leaves it)."""
    _command("HALT", {"reason": reason}, config_path)


@app.command("close")
def close(ticker: str, config_path: ConfigOption = None) -> None:
    """Close the open position in TICKER at market (reason MANUAL)."""
    _command("CLOSE_POSITION", {"ticker": ticker.upper()}, config_path)


@app.command("status")
def status(
    config_path: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show the trading state, the replay cursor, open positions and recent trades."""
    from quant_agent.storage.store import Store

    config = _load(config_path)
    store = Store.open(config.database.url)
    try:
        with store.unit_of_work() as uow:
            state = uow.system_state.get("trading_state") or {"state": "RUNNING"}
            info = {
                "trading_state": state.get("state"), "reason": state.get("reason"),
                "cursor": uow.system_state.get("runner.cursor"),
                "positions": [
                    {"ticker": p.ticker, "quantity": p.quantity, "entry": str(p.avg_entry_price),
                     "stop": str(p.stop_loss), "target": str(p.take_profit)}
                    for p in uow.positions.list_open()
                ],
                "trades": len(uow.trades.list()),
                "pending_commands": len(uow.commands.pending_ids()),
            }  # fmt: skip
    finally:
        store.close()
    if as_json:
        sys.stdout.write(json.dumps(info, indent=2, default=str) + "\n")
        return
    table = Table(title="quant-agent status", show_header=False)
    for key, value in info.items():
        table.add_row(key.replace("_", " "), str(value))
    console.print(table)


@app.command("scan")
def scan_cmd(
    kind: Annotated[str, typer.Option(help="premarket or market.")] = "premarket",
    asof: Annotated[
        str | None, typer.Option(help="Session YYYY-MM-DD to score (default: the latest).")
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="Daily bars CSV/Parquet file or folder (source: files).")
    ] = None,
    universe: Annotated[
        Path | None, typer.Option(help="Universe CSV (ticker,sector) for --data.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    limit: Annotated[int, typer.Option(help="Rows shown in the table.")] = 30,
    config_path: ConfigOption = None,
) -> None:
    """Score the universe now, store the scan, and print the ranked signals.

    premarket scores the last completed session; market folds today's partial bar in.
    Until the live quote feed exists, market replays the --asof session's own bars (default:
    the last session of the data) as the partial bar.
    """
    from quant_agent.scan_command import ScanRequest, run_scan_command

    if kind not in {"premarket", "market"}:
        err.print(f"[bold red]error:[/] --kind must be premarket or market, got {kind!r}")
        raise typer.Exit(2)
    config = _load(config_path)
    request = ScanRequest(
        kind=kind, asof=date.fromisoformat(asof) if asof else None, data=data,
        universe=universe, as_json=as_json, limit=limit,
    )  # fmt: skip
    try:
        code = run_scan_command(config, request, LiveClock(), console, err)
    except (ConfigError, DataValidationError, ValueError) as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    raise typer.Exit(code)


DEFAULT_RUNS = Path("var/backtests")


@app.command("backtest")
def backtest_cmd(
    start: Annotated[str | None, typer.Option(help="First session YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option(help="Last session YYYY-MM-DD.")] = None,
    universe: Annotated[Path | None, typer.Option(help="Universe CSV (ticker,...).")] = None,
    data: Annotated[Path | None, typer.Option(help="Daily bars file (Parquet/CSV).")] = None,
    preset: Annotated[
        str | None, typer.Option(help="momentum-top3: the reference strategy, fill-exact.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    fills_out: Annotated[
        Path | None, typer.Option(help="Write fills as CSV date,ticker,side,quantity,price.")
    ] = None,
    report: Annotated[Path | None, typer.Option(help="Write the HTML report here.")] = None,
    out_dir: Annotated[Path, typer.Option(help="Folder of the runs' stores.")] = DEFAULT_RUNS,
    engine: Annotated[
        str, typer.Option(help="--preset only: fast (vectorised) or core (the live core).")
    ] = "fast",
    intraday: Annotated[
        Path | None, typer.Option(help="Intraday bars (ts,ticker,OHLCV): exits from them.")
    ] = None,
    config_path: ConfigOption = None,
) -> None:
    """Backtest daily bars through the live core (or the reference preset) and summarise.

    Each run gets an id and its own SQLite store under --out-dir; the HTML report defaults
    to <out-dir>/<run_id>.html. See docs/BACKTEST.md.
    """
    from quant_agent.backtest_command import BacktestRequest, run_backtest_command

    config = _load(config_path)
    try:
        request = BacktestRequest(
            start=date.fromisoformat(start) if start else None,
            end=date.fromisoformat(end) if end else None, data=data, universe=universe,
            preset=preset, as_json=as_json, fills_out=fills_out, report=report, out_dir=out_dir,
            engine=engine, intraday=intraday,
        )  # fmt: skip
        run_backtest_command(config, request, console, err)
    except (ConfigError, DataValidationError, ValueError, FileExistsError) as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None


@app.command("report")
def report_cmd(
    day: Annotated[
        str | None, typer.Option("--date", help="Session YYYY-MM-DD (default: the latest).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="html or md.")] = "html",
    out: Annotated[
        Path | None,
        typer.Option(help="File (.html/.md) or folder (default: performance.report_dir)."),
    ] = None,
    png: Annotated[
        bool, typer.Option("--png", help="Also write the charts as PNG (needs chromium).")
    ] = False,
    config_path: ConfigOption = None,
) -> None:
    """Write the daily performance report (metrics, trades, positions, risk, charts)."""
    from quant_agent.report_command import run_report

    if fmt not in {"html", "md"}:
        err.print(f"[bold red]error:[/] --format must be html or md, got {fmt!r}")
        raise typer.Exit(2)
    config = _load(config_path)
    try:
        session = date.fromisoformat(day) if day else None
        path = run_report(config, LiveClock(), session, fmt, out, png)
    except (ConfigError, ValueError) as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"report written to {path}", highlight=False)


@alerts_app.command("test")
def alerts_test(config_path: ConfigOption = None) -> None:
    """Send a test alert on every configured channel and say which arrived."""
    from quant_agent.report_command import send_test_alerts

    config = _load(config_path)
    try:
        lines = send_test_alerts(config, LiveClock())
    except ValueError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    if not lines:
        err.print("no alert channel configured (set QA_ALERT_URLS or the alerts section)")
        raise typer.Exit(1)
    for line in lines:
        console.print(line, highlight=False)
    raise typer.Exit(0 if all(line.endswith("delivered") for line in lines) else 1)


@app.command("dashboard")
def dashboard(
    host: Annotated[
        str,
        typer.Option(help="Address to bind (another than 127.0.0.1 needs QA_DASHBOARD_PASSWORD)."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8501,
    config_path: ConfigOption = None,
) -> None:
    """Start the Streamlit dashboard (reads the store; steers only through commands)."""
    import os
    import subprocess

    from quant_agent.dashboard.auth import check_bind
    from quant_agent.dashboard.launch import streamlit_argv, streamlit_env

    refused = check_bind(host, os.environ)
    if refused:
        err.print(f"[bold red]error:[/] {refused}", highlight=False)
        raise typer.Exit(2)
    _load(config_path)  # a bad config fails here, not in the browser
    console.print(f"dashboard on http://{host}:{port} (Ctrl-C stops it)")
    env = streamlit_env(host, config_path, os.environ)
    try:
        code = subprocess.call(streamlit_argv(host, port), env=env)
    except KeyboardInterrupt:
        code = 0
    raise typer.Exit(code)


# --- questrade ------------------------------------------------------------------------------


def _questrade_failed(exc: Exception) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc}", highlight=False)
    return typer.Exit(1)


@questrade_app.command("login")
def questrade_login(
    config_path: ConfigOption = None,
    verify: Annotated[
        bool, typer.Option(help="Redeem the token once to prove Questrade accepts it.")
    ] = True,
) -> None:
    """Store the first refresh token (QUESTRADE_REFRESH_TOKEN, else a hidden prompt)."""
    import asyncio
    import os

    from pydantic import SecretStr

    from quant_agent.questrade import commands
    from quant_agent.questrade.errors import QuestradeError

    config = _load(config_path)
    configured = config.questrade.refresh_token  # QA_QUESTRADE__REFRESH_TOKEN
    raw = (
        os.environ.get("QUESTRADE_REFRESH_TOKEN")
        or (configured.get_secret_value() if configured is not None else "")
        or typer.prompt("Refresh token from the Questrade API Centre", hide_input=True)
    )
    try:
        asyncio.run(
            commands.login(
                config.questrade, SecretStr(raw), LiveClock(), console.print, verify=verify
            )  # fmt: skip
        )
    except QuestradeError as exc:
        raise _questrade_failed(exc) from None


@questrade_app.command("check")
def questrade_check(
    config_path: ConfigOption = None,
    probe: Annotated[str, typer.Option(help="Symbol whose quote shows the data delay.")] = "AAPL",
) -> None:
    """Show the accounts, real-time vs delayed market data, and whether orders can be placed."""
    import asyncio

    from quant_agent.questrade import commands
    from quant_agent.questrade.errors import QuestradeError

    config = _load(config_path)
    try:
        asyncio.run(commands.check(config.questrade, LiveClock(), console.print, probe))
    except QuestradeError as exc:
        raise _questrade_failed(exc) from None


@questrade_app.command("quotes")
def questrade_quotes(
    tickers: Annotated[list[str], typer.Argument(help="Symbols, e.g. AAPL RY.TO.")],
    stream: Annotated[bool, typer.Option("--stream", help="Stream until --count quotes.")] = False,
    count: Annotated[int, typer.Option(help="Streamed quotes to print.")] = 10,
    timeout: Annotated[
        float | None, typer.Option(help="Give up streaming after this many seconds.")
    ] = None,
    config_path: ConfigOption = None,
) -> None:
    """Print snapshot quotes, or streamed quotes until --count arrived (survives drops)."""
    import asyncio

    from quant_agent.questrade import commands
    from quant_agent.questrade.errors import QuestradeError

    config = _load(config_path)
    try:
        asyncio.run(
            commands.quotes(
                config.questrade,
                tickers,
                LiveClock(),
                console.print,
                stream=stream,
                count=count,
                give_up_after=timeout,
            )  # fmt: skip
        )
    except (QuestradeError, TimeoutError) as exc:
        raise _questrade_failed(exc or TimeoutError("no quotes in time")) from None


@questrade_app.command("tickets")
def questrade_tickets(
    config_path: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Assisted mode: list the open order tickets (not yet placed, canceled or changed)."""
    from quant_agent.questrade.tickets import open_tickets, ticket_lines
    from quant_agent.storage.store import Store

    store = Store.open(_load(config_path).database.url)
    try:
        tickets = open_tickets(store)
    finally:
        store.close()
    if as_json:
        sys.stdout.write(json.dumps(tickets, indent=2, default=str) + "\n")
        return
    for line in ticket_lines(tickets) or ["no open order ticket"]:
        console.print(line, highlight=False)


@questrade_app.command("sandbox")
def questrade_sandbox(
    port: Annotated[int, typer.Option(help="Login server port (0: any free port).")] = 0,
    partner: Annotated[
        bool, typer.Option("--partner", help="Partner mode: order calls work.")
    ] = False,
) -> None:
    """Run the local Questrade on 127.0.0.1 until Ctrl-C (no account needed)."""
    import asyncio
    import contextlib

    from quant_agent.questrade import commands

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            commands.serve_sandbox(
                lambda line: console.print(line, highlight=False),
                LiveClock(),
                port=port,
                partner=partner,
            )  # fmt: skip
        )


if __name__ == "__main__":  # pragma: no cover
    app()
