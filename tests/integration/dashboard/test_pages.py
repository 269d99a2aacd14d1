"""Every dashboard page against a database seeded by a replayed paper session (SQLite and
PostgreSQL): the numbers shown are the database's."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from quant_agent.dashboard.context import money, pct
from quant_agent.storage import tables as t
from quant_agent.storage.store import Store

from .conftest import FULL_WINDOW, Seeded, metric

Page = Callable[[Seeded, str], AppTest]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request: pytest.FixtureRequest, make_seeded: Callable[..., Seeded]) -> Seeded:
    return make_seeded(request.param, FULL_WINDOW)


def _rows(store: Store, stmt: Any) -> list[Any]:
    with store.unit_of_work() as uow:
        return list(uow.connection.execute(stmt))


def _snapshots(store: Store, kind: str | None = None) -> list[Any]:
    s = t.equity_snapshots
    stmt = select(s).order_by(s.c.ts, s.c.id)
    return _rows(store, stmt if kind is None else stmt.where(s.c.kind == kind))


def _open_positions(store: Store) -> list[Any]:
    p = t.positions
    return _rows(store, select(p).where(p.c.status == "OPEN").order_by(p.c.ticker))


def _trades(store: Store) -> list[Any]:
    return _rows(store, select(t.live_trades))


def test_overview_shows_the_state_equity_cash_todays_pnl_and_counts(
    seeded: Seeded, open_page: Page
) -> None:
    at = open_page(seeded, "Overview")
    last = _snapshots(seeded.store)[-1]
    closes = _snapshots(seeded.store, "daily")
    assert closes[-1].ts == last.ts  # the replay ends at a close
    assert metric(at, "Trading state") == "RUNNING"
    assert metric(at, "Equity") == money(last.equity)
    assert metric(at, "Cash") == money(last.cash)
    assert metric(at, "Today's P&L") == money(last.equity - closes[-2].equity)
    assert metric(at, "Open positions") == str(len(_open_positions(seeded.store)))
    assert metric(at, "Unrealized P&L") == money(last.unrealized_pnl)
    # the replay's heartbeat is in 2024: the page must call it stale
    assert any("stale heartbeat" in w.value for w in at.warning)


def test_signals_page_shows_the_latest_scan_its_signals_and_the_history(
    seeded: Seeded, open_page: Page
) -> None:
    at = open_page(seeded, "Signals")
    runs = _rows(seeded.store, select(t.scan_runs).order_by(t.scan_runs.c.id.desc()))
    latest = runs[0]
    signals = _rows(seeded.store, select(t.live_signals).where(
        t.live_signals.c.scan_run_id == latest.id))  # fmt: skip
    assert metric(at, "Kind") == latest.kind
    assert metric(at, "Universe size") == str(latest.universe_size)
    assert metric(at, "Signals") == str(latest.signal_count)
    ranked, dropped, history, changes = (d.value for d in at.dataframe)
    assert len(ranked) == len(signals)
    assert sorted(ranked["ticker"]) == sorted(s.ticker for s in signals)
    assert list(ranked["selected"]).count(True) == sum(s.selected for s in signals)
    assert any(c.startswith("f.") for c in ranked.columns)  # the factor breakdown
    assert len(dropped) == sum(1 for s in signals if s.filter_reasons)
    assert len(history) == min(20, len(runs))
    assert list(history["id"]) == [r.id for r in runs[:20]]
    assert len(changes) == len(history)


def test_positions_page_shows_each_open_position_with_its_pnl(
    seeded: Seeded, open_page: Page
) -> None:
    at = open_page(seeded, "Positions")
    rows = _open_positions(seeded.store)
    assert rows and metric(at, "Open positions") == str(len(rows))
    shown = at.dataframe[0].value
    assert list(shown["ticker"]) == [r.ticker for r in rows]
    assert list(shown["unrealized_pnl"]) == [float(r.unrealized_pnl) for r in rows]
    assert list(shown["stop_loss"]) == [float(r.stop_loss) for r in rows]
    assert all(d >= 0 for d in shown["days_held"])
    assert {b.label for b in at.button} >= {f"Close {r.ticker}" for r in rows}


def test_trades_page_shows_the_trades_and_filters_them(seeded: Seeded, open_page: Page) -> None:
    at = open_page(seeded, "Trades")
    trades = _trades(seeded.store)
    assert trades
    assert metric(at, "Trades") == str(len(trades))
    assert metric(at, "Total P&L") == money(sum(x.pnl for x in trades))
    assert len(at.dataframe[0].value) == len(trades)
    at.radio(key="t_outcome").set_value("Winners").run()
    winners = [x for x in trades if x.pnl > 0]
    assert metric(at, "Trades") == str(len(winners))
    assert metric(at, "Total P&L") == money(sum((x.pnl for x in winners), Decimal(0)))
    reason = trades[0].exit_reason
    at.radio(key="t_outcome").set_value("All").run()
    at.multiselect(key="t_reason").set_value([reason]).run()
    assert metric(at, "Trades") == str(sum(1 for x in trades if x.exit_reason == reason))
    assert at.get("download_button"), "no CSV download"


def test_performance_page_shows_the_trackers_metrics_and_charts(
    seeded: Seeded, open_page: Page
) -> None:
    at = open_page(seeded, "Performance")
    last = _snapshots(seeded.store)[-1]
    trades = _trades(seeded.store)
    closes = [float(s.equity) for s in _snapshots(seeded.store, "daily")]
    peak, worst = closes[0], 0.0
    for value in closes:
        peak = max(peak, value)
        worst = min(worst, value / peak - 1.0)
    assert metric(at, "Equity") == money(last.equity)
    assert metric(at, "Trades") == str(len(trades))
    assert metric(at, "Total return") == pct(float(last.equity) / 100_000 - 1.0)
    assert metric(at, "Max drawdown") == pct(worst)
    assert len(at.get("plotly_chart")) == 3  # equity vs SPY, drawdown, P&L by exit reason
    monthly = at.dataframe[0].value
    assert list(monthly.columns) == [2, 3] and list(monthly.index) == [2024]


def test_settings_page_masks_secrets_and_shows_limit_usage(
    seeded: Seeded, open_page: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QA_QUESTRADE__REFRESH_TOKEN", "tok-very-secret-123")
    at = open_page(seeded, "Settings")
    shown = str(at.json[0].value)
    assert "tok-very-secret-123" not in shown and "**********" in shown
    assert metric(at, "Trading state") == "RUNNING"
    usage = at.dataframe[1].value.set_index("limit")
    assert usage.loc["open positions", "current"] == len(_open_positions(seeded.store))
    count = _rows(seeded.store, select(func.count()).select_from(t.commands))[0][0]
    assert len(at.dataframe[0].value) == min(count, 10)
