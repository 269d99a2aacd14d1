"""LivePerformanceTracker: metrics equal an independent implementation; NY calendar windows."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quant_agent import analytics
from quant_agent.config import PerformanceConfig
from quant_agent.core.clock import SimClock
from quant_agent.core.enums import ExitReason
from quant_agent.core.ids import Ticker
from quant_agent.core.records import EquitySnapshot, TradeRecord
from quant_agent.live_performance import LivePerformanceTracker, benchmark_closes
from quant_agent.market.calendar import get_calendar
from quant_agent.market.history import HistoryStore
from quant_agent.storage.store import Store

CAL = get_calendar("NYSE")
SESSIONS = CAL.trading_days(date(2024, 2, 1), date(2024, 4, 5))
RF = 0.03
TOL = 1e-9


def equity_values(n: int) -> list[float]:
    rng = np.random.default_rng(7)
    values = 100_000.0 * np.cumprod(1.0 + rng.normal(0.0005, 0.01, n))
    return [round(float(v), 2) for v in values]


EQUITY = equity_values(len(SESSIONS))


def snapshot(ts: datetime, equity: float, kind: str = "daily") -> EquitySnapshot:
    eq = Decimal(str(round(equity, 2)))
    return EquitySnapshot(ts=ts, kind=kind, equity=eq, cash=eq * Decimal("0.6"),
                          positions_value=eq * Decimal("0.4"), realized_pnl=Decimal(0),
                          unrealized_pnl=Decimal(0))  # fmt: skip


def trade(exit_day: date, pnl: str, ticker: str = "AAPL") -> TradeRecord:
    return TradeRecord(
        ticker=Ticker(ticker), entry_date=exit_day - timedelta(days=3), exit_date=exit_day,
        entry_price=Decimal("100"), exit_price=Decimal("101"), quantity=10, pnl=Decimal(pnl),
        pnl_pct=0.01, hold_days=3, commission=Decimal("2"), exit_reason=ExitReason.TAKE_PROFIT,
        created_at=datetime.combine(exit_day, datetime.min.time(), tzinfo=UTC),
    )  # fmt: skip


TRADES = [
    trade(date(2024, 2, 29), "300"),
    trade(date(2024, 3, 1), "-120"),
    trade(date(2024, 3, 25), "-80"),
    trade(date(2024, 3, 27), "150"),
    trade(date(2024, 3, 28), "200"),  # last session of March: 29 March is Good Friday
    trade(date(2024, 4, 1), "100"),
    trade(date(2024, 4, 1), "-50"),
]


@pytest.fixture
def tracker(store: Store) -> LivePerformanceTracker:
    with store.unit_of_work() as uow:
        for day, equity in zip(SESSIONS, EQUITY, strict=True):
            close = CAL.session_close(day)
            # an earlier intraday snapshot the daily curve must not pick
            uow.equity.add(snapshot(close - timedelta(hours=2), equity * 0.97, "intraday"))
            uow.equity.add(snapshot(close, equity))
        for record in TRADES:
            uow.trades.add(record)
    clock = SimClock(CAL.session_close(SESSIONS[-1]))
    return LivePerformanceTracker(store, clock, CAL, PerformanceConfig(risk_free_rate=RF),
                                  initial_capital=Decimal("100000"))  # fmt: skip


def reference(equity: list[float]) -> dict[str, float]:
    """An independent implementation, in plain Python, of the documented conventions."""
    returns = [b / a - 1 for a, b in zip(equity, equity[1:], strict=False)]
    rf = (1 + RF) ** (1 / 252) - 1
    excess = [r - rf for r in returns]
    mean = sum(excess) / len(excess)
    downside = math.sqrt(sum(min(x, 0.0) ** 2 for x in excess) / len(excess))
    peak, worst = equity[0], 0.0
    for value in equity:
        peak = max(peak, value)
        worst = min(worst, value / peak - 1)
    return {
        "sharpe": mean / statistics.stdev(excess) * math.sqrt(252),
        "sortino": mean / downside * math.sqrt(252),
        "max_drawdown": worst,
        "total_return": equity[-1] / 100_000.0 - 1,
    }


def test_metrics_equal_an_independent_implementation(tracker: LivePerformanceTracker) -> None:
    end = SESSIONS.index(date(2024, 4, 1))
    m = tracker.calculate_metrics(CAL.session_close(date(2024, 4, 1)))
    expected = reference(EQUITY[: end + 1])
    for name, value in expected.items():
        assert getattr(m, name) == pytest.approx(value, abs=TOL, rel=0), name
    pnls = [float(x.pnl) for x in TRADES]
    wins, losses = [p for p in pnls if p > 0], [p for p in pnls if p < 0]
    assert m.win_rate_all == pytest.approx(len(wins) / len(pnls), abs=TOL)
    assert m.average_win == pytest.approx(sum(wins) / len(wins), abs=TOL)
    assert m.average_loss == pytest.approx(sum(losses) / len(losses), abs=TOL)
    assert m.profit_factor == pytest.approx(sum(wins) / -sum(losses), abs=TOL)
    assert m.expectancy == pytest.approx(sum(pnls) / len(pnls), abs=TOL)
    e = EQUITY[end]
    assert m.equity == pytest.approx(e, abs=1e-6)
    assert m.exposure == pytest.approx(0.4, abs=TOL) and m.cash == pytest.approx(0.6 * e)
    # 1 April: today = week = month, all measured from the close of 28 March.
    assert m.pnl_today == m.pnl_week == m.pnl_month == pytest.approx(e - EQUITY[end - 1])


def test_pnl_windows_use_the_last_close_before_the_ny_week_and_month(
    tracker: LivePerformanceTracker,
) -> None:
    m = tracker.calculate_metrics(CAL.session_close(date(2024, 3, 28)))
    at = {d: EQUITY[i] for i, d in enumerate(SESSIONS)}
    assert m.pnl_today == pytest.approx(at[date(2024, 3, 28)] - at[date(2024, 3, 27)])
    assert m.pnl_week == pytest.approx(at[date(2024, 3, 28)] - at[date(2024, 3, 22)])
    assert m.pnl_month == pytest.approx(at[date(2024, 3, 28)] - at[date(2024, 2, 29)])


def test_win_rate_windows_follow_ny_trading_days_across_a_month_boundary(
    tracker: LivePerformanceTracker,
) -> None:
    # Saturday 30 March: the session is Thursday 28 March (Good Friday is closed).
    sat = tracker.calculate_metrics(datetime(2024, 3, 30, 16, 0, tzinfo=UTC))
    assert sat.session == date(2024, 3, 28)
    assert sat.win_rate_today == 1.0  # 28 March: one winner
    assert sat.win_rate_week == pytest.approx(2 / 3)  # 25, 27, 28 March
    assert sat.win_rate_month == pytest.approx(2 / 4)  # 1, 25, 27, 28 March
    assert sat.trades_all == 5  # April's trades are in the future
    # 00:30 UTC on 1 April is 20:30 on Sunday 31 March in New York: still March.
    assert tracker.periods(datetime(2024, 4, 1, 0, 30, tzinfo=UTC)).month_start == date(2024, 3, 1)
    mon = tracker.calculate_metrics(datetime(2024, 4, 1, 20, 0, tzinfo=UTC))
    assert (mon.session, mon.win_rate_today, mon.win_rate_week, mon.win_rate_month) == (
        date(2024, 4, 1), 0.5, 0.5, 0.5)  # fmt: skip
    assert mon.win_rate_all == pytest.approx(4 / 7)


def test_drawdown_of_a_hand_made_curve_is_exact() -> None:
    dd = analytics.max_drawdown([100.0, 120.0, 90.0, 110.0, 130.0, 125.0, 60.0, 65.0])
    assert (dd.max_drawdown, dd.peak, dd.trough, dd.recovery, dd.duration) == (
        60.0 / 130.0 - 1.0, 4, 6, None, 3)  # fmt: skip
    first = analytics.max_drawdown([100.0, 120.0, 90.0, 110.0, 130.0])
    assert (first.max_drawdown, first.peak, first.trough, first.recovery, first.duration) == (
        -0.25, 1, 2, 4, 3)  # fmt: skip


def test_daily_curve_takes_the_last_snapshot_of_each_session(
    tracker: LivePerformanceTracker,
) -> None:
    daily = tracker.get_equity_curve("daily")
    assert [ts.date() for ts in daily.index] == SESSIONS
    assert daily["equity"].tolist() == pytest.approx(EQUITY)
    assert len(tracker.get_equity_curve("intraday")) == 2 * len(SESSIONS)


@pytest.mark.shared_data
def test_spy_comparison_on_the_real_series_gives_the_hand_computed_returns(
    store: Store, shared_data: Path
) -> None:
    bars = pd.read_parquet(shared_data / "daily_ohlcv.parquet", filters=[("ticker", "=", "SPY")])
    spy = benchmark_closes(HistoryStore(bars), "SPY")
    days = CAL.trading_days(date(2024, 1, 2), date(2024, 6, 28))
    equity = [100_000.0 * (1 + 0.001 * i) for i in range(len(days))]
    with store.unit_of_work() as uow:
        for day, value in zip(days, equity, strict=True):
            uow.equity.add(snapshot(CAL.session_close(day), value))
    tracker = LivePerformanceTracker(store, SimClock(CAL.session_close(days[-1])), CAL,
                                     PerformanceConfig(), benchmark=spy)  # fmt: skip
    result = tracker.compare_to_benchmark(date(2024, 1, 2), date(2024, 6, 28))
    raw = bars.assign(date=pd.to_datetime(bars["date"])).set_index("date")["close"]
    spy_total = raw[pd.Timestamp("2024-06-28")] / raw[pd.Timestamp("2024-01-02")] - 1
    strategy_total = equity[-1] / equity[0] - 1
    assert result.sessions == len(days)
    assert result.benchmark_return == pytest.approx(spy_total, abs=1e-12)
    assert result.strategy_return == pytest.approx(strategy_total, abs=1e-12)
    assert result.excess_return == pytest.approx(strategy_total - spy_total, abs=1e-12)
    s = np.diff(equity) / np.array(equity[:-1])
    b = raw.loc["2024-01-02":"2024-06-28"].pct_change().dropna().to_numpy()
    assert result.beta == pytest.approx(np.polyfit(b, s, 1)[0], abs=1e-9)
    assert result.correlation == pytest.approx(np.corrcoef(s, b)[0, 1], abs=1e-9)


def test_an_empty_store_gives_the_initial_capital_and_undefined_ratios(store: Store) -> None:
    clock = SimClock(CAL.session_close(date(2024, 3, 28)))
    tracker = LivePerformanceTracker(store, clock, CAL, PerformanceConfig(),
                                     initial_capital=Decimal("50000"))  # fmt: skip
    m = tracker.calculate_metrics()
    assert (m.equity, m.pnl_today, m.total_return, m.trades_all) == (50_000.0, 0.0, 0.0, 0)
    assert math.isnan(m.sharpe) and math.isnan(m.win_rate_all) and m.max_drawdown == 0.0


def test_update_daily_pnl_stores_a_snapshot_and_returns_the_days_pnl(store: Store) -> None:
    clock = SimClock(CAL.session_close(date(2024, 3, 27)))
    tracker = LivePerformanceTracker(store, clock, CAL, PerformanceConfig(),
                                     initial_capital=Decimal("100000"))  # fmt: skip
    money = {"cash": Decimal(0), "positions_value": Decimal(0),
             "realized_pnl": Decimal(0), "unrealized_pnl": Decimal(0)}  # fmt: skip
    assert tracker.update_daily_pnl(Decimal("101000"), kind="daily", **money) == 1000.0
    clock.set(datetime(2024, 3, 28, 15, 0, tzinfo=UTC))
    assert tracker.update_daily_pnl(Decimal("100500"), **money) == -500.0
    assert len(tracker.get_equity_curve("intraday")) == 2


def test_monthly_returns_and_pnl_by_exit_reason(tracker: LivePerformanceTracker) -> None:
    at = dict(zip(SESSIONS, EQUITY, strict=True))
    months = tracker.monthly_returns()
    assert [str(p) for p in months.index] == ["2024-02", "2024-03", "2024-04"]
    assert months.iloc[0] == pytest.approx(at[date(2024, 2, 29)] / EQUITY[0] - 1, abs=TOL)
    assert months.iloc[1] == pytest.approx(at[date(2024, 3, 28)] / at[date(2024, 2, 29)] - 1)
    assert tracker.pnl_by_exit_reason().to_dict() == {"TAKE_PROFIT": 500.0}
