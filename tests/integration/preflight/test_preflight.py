"""``quant-agent preflight``: passes on a healthy paper setup (replayed history, a fresh
backup, a webhook channel on a local receiver, the real risk tests), fails with a clear
reason when each checklist item is broken on purpose, and live mode refuses to start
without a recent pass. Database items on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from quant_agent.cli import app
from quant_agent.config import LiveTradingConfig
from quant_agent.core.clock import SimClock
from quant_agent.market.history import HistoryStore
from quant_agent.market.source import load_history
from quant_agent.preflight import (
    PreflightContext,
    PreflightReport,
    PreflightRequired,
    Status,
    load_report,
    require_recent_pass,
    run_preflight,
    save_report,
)
from quant_agent.preflight_checks import (
    check_alerts,
    check_backup,
    check_data_feed,
    check_emergency_stop,
    check_paper_history,
    check_risk_tests,
    check_small_capital,
)
from quant_agent.runner import run_replay
from quant_agent.storage import backup as bk
from quant_agent.storage.store import Store
from quant_agent.testkit.notify_servers import WebhookServer, free_port

# The demo market ends on 2024-12-31; the clock stands after the next session's close.
NOW = datetime(2025, 1, 2, 23, 0, tzinfo=UTC)
WINDOW = (date(2024, 2, 8), date(2024, 2, 14))  # 5 sessions that trade on the demo market
ONE_RISK_TEST = (
    "tests/integration/executor/test_risk_limits.py"
    "::test_var_historical_and_parametric_agree_on_normal_returns"
)


@pytest.fixture(scope="module")
def history() -> HistoryStore:
    return load_history(LiveTradingConfig().data)


def make_config(database_url: str, tmp_path: Path, **sections: dict[str, Any]) -> LiveTradingConfig:
    values: dict[str, Any] = {
        "database": {"url": database_url},
        "trading": {"initial_capital": "20000"},
        "alerts": {"retry_backoff_seconds": 0.01, "send_attempts": 1},
        "preflight": {"backup_dir": str(tmp_path / "backups"), "min_paper_days": 5,
                      "min_paper_signals": 1, "alert_timeout_seconds": 20},
    }  # fmt: skip
    for name, override in sections.items():
        values[name] = {**values.get(name, {}), **override}
    return LiveTradingConfig.model_validate(values)


def context(config: LiveTradingConfig, history: HistoryStore, **kw: Any) -> PreflightContext:
    ctx = PreflightContext(config=config, clock=SimClock(kw.pop("now", NOW)), **kw)
    ctx._history = history  # loaded once per module (the same market load_history builds)
    return ctx


@dataclass
class Healthy:
    config: LiveTradingConfig
    webhook: WebhookServer


@pytest.fixture
def healthy(database_url: str, tmp_path: Path, history: HistoryStore) -> Iterator[Healthy]:
    """A paper setup that should pass: replayed history, a fresh backup, a live webhook."""
    # The risk tests run on both databases by themselves: run them all once (SQLite case);
    # the PostgreSQL case runs one of them, so the suite stays short.
    risk = {} if database_url.startswith("sqlite") else {"risk_tests": [ONE_RISK_TEST]}
    with WebhookServer() as webhook:
        config = make_config(database_url, tmp_path, preflight=risk,
                             alerts={"urls": f"json://127.0.0.1:{webhook.port}/hook"})  # fmt: skip
        store = Store.open(database_url)
        try:
            run_replay(config, store, history, WINDOW)
        finally:
            store.close()
        folder = config.preflight.backup_dir
        bk.backup(
            database_url, bk.default_backup_path(database_url, folder, NOW - timedelta(hours=2))
        )
        yield Healthy(config, webhook)


def test_healthy_paper_setup_passes_every_item_and_is_stored(
    healthy: Healthy, history: HistoryStore
) -> None:
    report = run_preflight(context(healthy.config, history))

    assert [r.status for r in report.results] == [Status.PASS] * 7, report.as_dict()
    assert report.passed
    risk = report.results[0]
    assert risk.item == "risk limits tested" and " passed" in risk.detail
    assert healthy.webhook.requests.get(timeout=10).body["title"]
    store = Store.open(healthy.config.database.url)
    try:
        save_report(store, report)
        assert load_report(store) == report
    finally:
        store.close()


# --- each item broken on purpose ------------------------------------------------------------


def test_risk_limits_fail_when_the_tests_are_absent(tmp_path: Path, history: HistoryStore) -> None:
    config = make_config("sqlite://", tmp_path)
    result = check_risk_tests(context(config, history, checkout=tmp_path))
    assert result.status is Status.FAIL
    assert "risk tests not present" in result.detail and "test_risk_limits.py" in result.detail


def test_risk_limits_fail_when_a_risk_test_fails(tmp_path: Path, history: HistoryStore) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_limit.py").write_text(
        "def test_daily_loss_halts():\n    assert 2 + 2 == 5\n"
    )
    config = make_config("sqlite://", tmp_path, preflight={"risk_tests": ["tests/test_limit.py"]})
    result = check_risk_tests(context(config, history, checkout=tmp_path))
    assert result.status is Status.FAIL
    assert "risk tests failed" in result.detail and "1 failed" in result.detail


def test_emergency_stop_fails_when_the_runner_ignores_commands(
    tmp_path: Path, history: HistoryStore
) -> None:
    config = make_config("sqlite://", tmp_path)

    def runner_that_never_applies_commands(*args: object, **kwargs: object) -> None:
        return None

    ctx = context(config, history, replay=runner_that_never_applies_commands)
    result = check_emergency_stop(ctx)
    assert result.status is Status.FAIL
    assert (
        result.detail == "HALT not applied by the runner (command PENDING, trading state RUNNING)"
    )


def test_data_feed_fails_when_the_history_is_stale(tmp_path: Path, history: HistoryStore) -> None:
    config = make_config("sqlite://", tmp_path)
    result = check_data_feed(context(config, history, now=datetime(2025, 1, 10, 23, tzinfo=UTC)))
    assert result.status is Status.FAIL
    # 2, 3, 6, 7, 8 and 10 January 2025 (the 9th was a national day of mourning)
    assert result.detail == "stale: last session 2024-12-31, 6 NYSE session(s) behind (max 3)"


def test_data_feed_fails_when_the_files_do_not_load(tmp_path: Path) -> None:
    missing = {"source": "files", "daily_path": str(tmp_path / "none.csv")}
    config = make_config("sqlite://", tmp_path, data=missing)
    result = check_data_feed(PreflightContext(config=config, clock=SimClock(NOW)))
    assert result.status is Status.FAIL and result.detail.startswith("history does not load")


def test_emergency_stop_is_verified_on_a_demo_market_when_the_data_cannot_load(
    tmp_path: Path,
) -> None:
    config = make_config("sqlite://", tmp_path, data={"source": "questrade"})
    result = check_emergency_stop(PreflightContext(config=config, clock=SimClock(NOW)))
    assert result.status is Status.PASS and "of the demo market" in result.how


def test_data_feed_from_questrade_needs_a_quote(tmp_path: Path) -> None:
    config = make_config("sqlite://", tmp_path, data={"source": "questrade"})

    def no_quote(symbol: str) -> str:
        raise ConnectionError(f"login.questrade.com unreachable asking for {symbol}")

    failed = check_data_feed(PreflightContext(config=config, clock=SimClock(NOW),
                                              quote_probe=no_quote))  # fmt: skip
    assert failed.status is Status.FAIL
    assert (
        failed.detail == "no quote: ConnectionError: login.questrade.com unreachable asking for SPY"
    )
    passed = check_data_feed(PreflightContext(config=config, clock=SimClock(NOW),
                                              quote_probe=lambda s: f"{s} last 590.1"))  # fmt: skip
    assert passed.status is Status.PASS and "SPY last 590.1" in passed.detail


def test_alerts_fail_when_a_channel_does_not_deliver(tmp_path: Path, history: HistoryStore) -> None:
    dead = f"json://127.0.0.1:{free_port()}/hook"
    config = make_config("sqlite://", tmp_path, alerts={"urls": dead})
    result = check_alerts(context(config, history))
    assert result.status is Status.FAIL and "FAILED" in result.detail


@pytest.mark.parametrize(("mode", "expected"), [("paper", Status.WARN), ("live", Status.FAIL)])
def test_no_alert_channel_warns_on_paper_and_fails_live(
    tmp_path: Path, history: HistoryStore, mode: str, expected: Status
) -> None:
    config = make_config("sqlite://", tmp_path, trading={"mode": mode})
    result = check_alerts(context(config, history))
    assert result.status is expected and "no alert channel configured" in result.detail


def test_backup_fails_when_absent_too_old_or_unrestorable(
    database_url: str, tmp_path: Path, history: HistoryStore
) -> None:
    config = make_config(database_url, tmp_path, preflight={"max_backup_age_hours": 12})
    Store.open(database_url).close()
    absent = check_backup(context(config, history))
    assert absent.status is Status.FAIL and "no backup in" in absent.detail

    folder = config.preflight.backup_dir
    old = bk.backup(
        database_url, bk.default_backup_path(database_url, folder, NOW - timedelta(hours=13))
    )
    too_old = check_backup(context(config, history))
    assert too_old.status is Status.FAIL and "13.0 h old (max 12 h)" in too_old.detail

    broken = bk.default_backup_path(database_url, folder, NOW - timedelta(hours=1))
    broken.write_bytes(old.read_bytes()[:200])  # truncated: does not restore
    result = check_backup(context(config, history))
    assert result.status is Status.FAIL and "does not restore" in result.detail


def test_paper_history_fails_when_too_short(
    database_url: str, tmp_path: Path, history: HistoryStore
) -> None:
    config = make_config(database_url, tmp_path)
    result = check_paper_history(context(config, history))
    assert result.status is Status.FAIL
    assert result.detail == "too little paper history: 0 session(s), 0 selected signal(s)"


def test_small_capital_fails_above_the_ceiling(tmp_path: Path, history: HistoryStore) -> None:
    config = make_config("sqlite://", tmp_path, trading={"initial_capital": "100000"})
    result = check_small_capital(context(config, history))
    assert result.status is Status.FAIL
    assert result.detail == "trading.initial_capital 100000 is above the ceiling 25000"


def test_a_check_that_raises_is_that_items_failure(tmp_path: Path, history: HistoryStore) -> None:
    def exploding(ctx: PreflightContext) -> Any:
        raise RuntimeError("disk full")

    report = run_preflight(context(make_config("sqlite://", tmp_path), history), [exploding])
    assert not report.passed and report.results[0].detail == "RuntimeError: disk full"


# --- the live-start gate --------------------------------------------------------------------


def live(database_url: str, tmp_path: Path) -> LiveTradingConfig:
    return make_config(database_url, tmp_path, trading={"mode": "live"})


def stored(database_url: str, report: PreflightReport) -> None:
    store = Store.open(database_url)
    try:
        save_report(store, report)
    finally:
        store.close()


def gate(config: LiveTradingConfig, now: datetime) -> None:
    store = Store.open(config.database.url)
    try:
        require_recent_pass(config, store, now)
    finally:
        store.close()


def report_of(mode: str, at: datetime, *statuses: Status) -> PreflightReport:
    from quant_agent.preflight import CheckResult

    items = ("alerts deliver", "small-capital setting")
    results = [CheckResult(i, s, f"{i} found", "how") for i, s in zip(items, statuses, strict=True)]
    return PreflightReport(at, mode, tuple(results))


def test_live_mode_refuses_to_start_without_a_recent_pass(
    database_url: str, tmp_path: Path
) -> None:
    config = live(database_url, tmp_path)
    Store.open(database_url).close()
    with pytest.raises(PreflightRequired, match="preflight has never run"):
        gate(config, NOW)

    stored(database_url, report_of("live", NOW, Status.PASS, Status.FAIL))
    with pytest.raises(PreflightRequired, match=r"failed: small-capital setting \(small-capital"):
        gate(config, NOW)

    stored(database_url, report_of("live", NOW, Status.WARN, Status.PASS))  # a WARN fails live
    with pytest.raises(PreflightRequired, match="failed: alerts deliver"):
        gate(config, NOW)

    stored(database_url, report_of("paper", NOW, Status.PASS, Status.PASS))
    with pytest.raises(PreflightRequired, match="ran in paper mode"):
        gate(config, NOW)

    stored(database_url, report_of("live", NOW, Status.PASS, Status.PASS))
    gate(config, NOW + timedelta(hours=23))  # passed within the last day: allowed
    with pytest.raises(PreflightRequired, match="older than 24 hours"):
        gate(config, NOW + timedelta(hours=25))


def test_paper_mode_never_needs_preflight(database_url: str, tmp_path: Path) -> None:
    Store.open(database_url).close()
    gate(make_config(database_url, tmp_path), NOW)


def test_cli_run_in_live_mode_exits_naming_the_failing_items(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'live.db'}"
    stored(url, report_of("live", NOW, Status.FAIL, Status.PASS))
    result = CliRunner().invoke(app, ["run"], env={"QA_DATABASE_URL": url,
                                                   "QA_TRADING__MODE": "live"})  # fmt: skip
    assert result.exit_code == 2
    assert "live trading refused" in result.output and "alerts deliver" in result.output


def test_cli_preflight_prints_each_item_and_stores_the_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no checkout here: the risk tests are absent, among others
    url = f"sqlite:///{tmp_path / 'pf.db'}"
    env = {"QA_DATABASE_URL": url, "QA_DATA__DEMO_TICKERS": "12",
           "QA_DATA__DEMO_START": "2024-01-02"}  # fmt: skip
    (tmp_path / "qa.yaml").write_text("preflight:\n  risk_tests: [nope.py]\n")
    result = CliRunner().invoke(app, ["preflight", "--json", "--config", "qa.yaml"], env=env)
    assert result.exit_code == 1, result.output
    store = Store.open(url)
    try:
        report = load_report(store)
    finally:
        store.close()
    assert report is not None and not report.passed
    assert {r.item for r in report.results} >= {"risk limits tested", "small-capital setting"}
    assert Decimal(100000) > LiveTradingConfig().preflight.max_initial_capital
