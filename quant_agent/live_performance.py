"""LivePerformanceTracker: metrics, equity curve and benchmark comparison from the store.

A reader: it reads ``equity_snapshots``, ``live_trades``, ``positions`` and
``risk_events`` (written by the executor) and writes only what it is handed
(``update_daily_pnl`` writes one equity snapshot, ``record_closed_trade`` one trade row if
it has no id yet). Days, weeks and months are New York trading sessions: a snapshot belongs
to the last session on or before its New York date; a week starts at the first session of
its ISO week, a month at the first session of its calendar month. The math is in
``analytics.py``; trade ``pnl`` is taken as net of commission.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy import select

from quant_agent import analytics
from quant_agent.config import PerformanceConfig
from quant_agent.core.clock import Clock, ensure_utc
from quant_agent.core.records import EquitySnapshot, RiskEventRecord, TradeRecord
from quant_agent.market.calendar import MarketCalendar
from quant_agent.storage import tables as t
from quant_agent.storage.store import Store

EQUITY_COLUMNS = ("equity", "cash", "positions_value", "realized_pnl", "unrealized_pnl")


@dataclass(frozen=True, slots=True)
class PerformanceMetrics:
    """Every metric of the tracker as of one instant; ratios are fractions, nan if undefined."""

    asof: datetime
    session: date
    equity: float
    cash: float
    positions_value: float
    exposure: float  # positions value / equity
    active_positions: int
    pnl_today: float
    pnl_week: float
    pnl_month: float
    total_return: float
    win_rate_today: float
    win_rate_week: float
    win_rate_month: float
    win_rate_all: float
    trades_all: int
    average_win: float
    average_loss: float
    profit_factor: float
    expectancy: float
    sharpe: float
    sortino: float
    max_drawdown: float
    max_drawdown_duration: int  # sessions from peak to recovery (or to the last session)
    max_drawdown_peak: date | None
    max_drawdown_trough: date | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class BenchmarkComparison:
    start: date
    end: date
    sessions: int
    strategy_return: float
    benchmark_return: float
    excess_return: float
    beta: float
    correlation: float


@dataclass(frozen=True, slots=True)
class Periods:
    """The session of an instant and the first sessions of its week and month."""

    session: date
    week_start: date
    month_start: date


def benchmark_closes(history: Any, ticker: str = "SPY") -> pd.Series:
    """Daily closes of ``ticker`` from a ``HistoryStore``, indexed by session date."""
    closes = history.bars(ticker)["close"].astype(float)
    closes.index = pd.DatetimeIndex(closes.index).normalize()
    return closes


class LivePerformanceTracker:
    """Compute live performance from the store, by the New York trading calendar."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        calendar: MarketCalendar,
        config: PerformanceConfig,
        benchmark: pd.Series | None = None,
        initial_capital: Decimal | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._calendar = calendar
        self._config = config
        self._benchmark = benchmark
        self._initial = float(initial_capital) if initial_capital is not None else None

    # ------------------------------------------------------------------ periods

    def session_of(self, when: datetime) -> date:
        """The last session on or before ``when``'s New York date."""
        return self._session_of_date(ensure_utc(when).astimezone(self._calendar.tz).date())

    def _session_of_date(self, local: date) -> date:
        if self._calendar.is_trading_day(local):
            return local
        return self._calendar.previous_trading_day(local)

    def periods(self, when: datetime) -> Periods:
        session = self.session_of(when)
        monday = session - timedelta(days=session.weekday())
        week = self._calendar.trading_days(monday, session)[0]
        month = self._calendar.trading_days(session.replace(day=1), session)[0]
        return Periods(session, week, month)

    # ------------------------------------------------------------------ writes

    def update_daily_pnl(
        self,
        equity: Decimal,
        cash: Decimal,
        positions_value: Decimal,
        realized_pnl: Decimal,
        unrealized_pnl: Decimal,
        kind: Literal["intraday", "daily"] = "intraday",
    ) -> float:
        """Store an equity snapshot at the clock's time; return today's P&L."""
        now = self._clock.now()
        snapshot = EquitySnapshot(
            ts=now, kind=kind, equity=equity, cash=cash, positions_value=positions_value,
            realized_pnl=realized_pnl, unrealized_pnl=unrealized_pnl,
        )  # fmt: skip
        with self._store.unit_of_work() as uow:
            uow.equity.add(snapshot)
        return self.pnl_since_close_before(self.session_of(now), now)

    def record_closed_trade(self, trade: TradeRecord) -> TradeRecord:
        """Store ``trade`` unless it already has an id (the executor stored it)."""
        if trade.id is not None:
            return trade
        with self._store.unit_of_work() as uow:
            trade_id = uow.trades.add(trade)
        return TradeRecord(**{**_record_fields(trade), "id": trade_id})

    # ------------------------------------------------------------------ reads

    def get_equity_curve(
        self,
        kind: Literal["daily", "intraday"] = "daily",
        start: date | None = None,
        end: datetime | None = None,
    ) -> pd.DataFrame:
        """Equity snapshots as floats: every snapshot (``intraday``, indexed by UTC time) or
        the last one of each session (``daily``, indexed by session date, with ``ts``)."""
        stmt = select(t.equity_snapshots).order_by(t.equity_snapshots.c.ts)
        if end is not None:
            stmt = stmt.where(t.equity_snapshots.c.ts <= ensure_utc(end))
        with self._store.unit_of_work() as uow:
            result = uow.connection.execute(stmt)
            frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
        frame = frame.reindex(columns=["ts", "kind", *EQUITY_COLUMNS])
        for column in EQUITY_COLUMNS:
            frame[column] = frame[column].astype(float)
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
        if kind == "intraday":
            return frame.set_index("ts")
        local = frame["ts"].dt.tz_convert(self._calendar.tz).dt.tz_localize(None).dt.normalize()
        sessions = {day: pd.Timestamp(self._session_of_date(day.date())) for day in local.unique()}
        frame["session"] = pd.to_datetime(local.map(sessions))
        daily = frame.groupby("session", sort=True).last()
        daily.index.name = "session"
        if start is not None:
            daily = daily[daily.index >= pd.Timestamp(start)]
        return daily

    def equity_at_close(self, session: date, curve: pd.DataFrame | None = None) -> float:
        """Equity of the last snapshot at or before ``session``'s close (initial if none)."""
        frame = self.get_equity_curve("intraday") if curve is None else curve
        close = pd.Timestamp(self._calendar.session_close(session))
        before = frame[frame.index <= close]
        if len(before):
            return float(before["equity"].iloc[-1])
        if self._initial is not None:
            return self._initial
        return float(frame["equity"].iloc[0]) if len(frame) else math.nan

    def pnl_since_close_before(self, first_session: date, now: datetime) -> float:
        """Equity now minus equity at the close of the session before ``first_session``."""
        curve = self.get_equity_curve("intraday", end=now)
        if not len(curve):
            return 0.0
        base = self.equity_at_close(self._calendar.previous_trading_day(first_session), curve)
        return float(curve["equity"].iloc[-1]) - base

    def trades(self, until: date | None = None) -> list[TradeRecord]:
        with self._store.unit_of_work() as uow:
            found: list[TradeRecord] = uow.trades.list()
        return [x for x in found if until is None or x.exit_date <= until]

    def risk_events(self, session: date) -> list[RiskEventRecord]:
        """Risk events stamped on ``session``'s New York date."""
        tz = self._calendar.tz
        lo = datetime.combine(session, datetime.min.time(), tzinfo=tz)
        hi = lo + timedelta(days=1)
        with self._store.unit_of_work() as uow:
            events: list[RiskEventRecord] = uow.risk_events.list()
        return [e for e in events if lo <= e.ts < hi]

    def open_positions(self) -> list[Any]:
        with self._store.unit_of_work() as uow:
            return list(uow.positions.list_open())

    def calculate_metrics(self, now: datetime | None = None) -> PerformanceMetrics:
        """Compute every metric as of ``now`` (default: the clock's time)."""
        now = ensure_utc(now or self._clock.now())
        p = self.periods(now)
        intraday = self.get_equity_curve("intraday", end=now)
        daily = self.get_equity_curve("daily", end=now)
        equity_series = daily["equity"].to_numpy(dtype=float)
        last = intraday.iloc[-1] if len(intraday) else None
        equity = float(last["equity"]) if last is not None else (self._initial or math.nan)

        def since(first: date) -> float:
            if last is None:
                return 0.0
            prior = self._calendar.previous_trading_day(first)
            return equity - self.equity_at_close(prior, intraday)

        trades = self.trades(until=p.session)
        pnl = np.array([float(x.pnl) for x in trades])
        exits = np.array([x.exit_date for x in trades], dtype=object)

        def win_rate(first: date) -> float:
            mask = np.array([first <= d <= p.session for d in exits], dtype=bool)
            return analytics.trade_stats(pnl[mask] if len(pnl) else pnl).win_rate

        stats = analytics.trade_stats(pnl)
        base = self._initial if self._initial is not None else (
            float(equity_series[0]) if len(equity_series) else math.nan
        )  # fmt: skip
        returns: Any = analytics.simple_returns(equity_series) if len(equity_series) > 1 else []
        rf = self._config.risk_free_rate
        dd = analytics.max_drawdown(equity_series)
        dates = [ts.date() for ts in daily.index]
        positions_value = float(last["positions_value"]) if last is not None else 0.0
        return PerformanceMetrics(
            asof=now, session=p.session, equity=equity,
            cash=float(last["cash"]) if last is not None else equity,
            positions_value=positions_value,
            exposure=positions_value / equity if equity else math.nan,
            active_positions=len(self.open_positions()),
            pnl_today=since(p.session), pnl_week=since(p.week_start),
            pnl_month=since(p.month_start),
            total_return=equity / base - 1.0 if base else math.nan,
            win_rate_today=win_rate(p.session), win_rate_week=win_rate(p.week_start),
            win_rate_month=win_rate(p.month_start), win_rate_all=stats.win_rate,
            trades_all=stats.count, average_win=stats.average_win,
            average_loss=stats.average_loss, profit_factor=stats.profit_factor,
            expectancy=stats.expectancy,
            sharpe=analytics.sharpe_ratio(returns, rf),
            sortino=analytics.sortino_ratio(returns, rf),
            max_drawdown=dd.max_drawdown, max_drawdown_duration=dd.duration,
            max_drawdown_peak=dates[dd.peak] if dd.max_drawdown < 0 else None,
            max_drawdown_trough=dates[dd.trough] if dd.max_drawdown < 0 else None,
        )  # fmt: skip

    def compare_to_benchmark(
        self, start: date | None = None, end: date | None = None
    ) -> BenchmarkComparison:
        """Strategy vs benchmark over the sessions both have between ``start`` and ``end``."""
        if self._benchmark is None:
            raise ValueError("no benchmark series was given to the tracker")
        daily = self.get_equity_curve("daily", start=start)["equity"]
        if end is not None:
            daily = daily[daily.index <= pd.Timestamp(end)]
        joined = pd.concat([daily.rename("s"), self._benchmark.rename("b")], axis=1,
                           join="inner").dropna()  # fmt: skip
        if len(joined) < 2:
            raise ValueError("fewer than two sessions in common with the benchmark")
        s, b = joined["s"].to_numpy(float), joined["b"].to_numpy(float)
        strategy, bench = analytics.total_return(s), analytics.total_return(b)
        beta, corr = analytics.beta_and_correlation(
            analytics.simple_returns(s), analytics.simple_returns(b)
        )
        return BenchmarkComparison(
            start=joined.index[0].date(), end=joined.index[-1].date(), sessions=len(joined),
            strategy_return=strategy, benchmark_return=bench, excess_return=strategy - bench,
            beta=beta, correlation=corr,
        )  # fmt: skip

    def monthly_returns(self) -> pd.Series:
        """Return per calendar month of the session curve (first month from its first close)."""
        equity = self.get_equity_curve("daily")["equity"]
        if equity.empty:
            return pd.Series(dtype=float)
        month_end = equity.groupby(equity.index.to_period("M")).last()
        return month_end / month_end.shift(1, fill_value=equity.iloc[0]) - 1.0

    def pnl_by_exit_reason(self) -> pd.Series:
        """Total trade P&L per exit reason (for the dashboard's Performance page)."""
        pnl: dict[str, float] = {}
        for trade in self.trades():
            key = trade.exit_reason.value
            pnl[key] = pnl.get(key, 0.0) + float(trade.pnl)
        return pd.Series(pnl, dtype=float).sort_index()

    def generate_daily_report(self, day: date | None = None) -> Any:
        """Collect the data of ``day``'s report (default: the clock's session)."""
        from quant_agent.daily_report import build_report

        return build_report(self, day or self.session_of(self._clock.now()))

    @property
    def calendar(self) -> MarketCalendar:
        return self._calendar

    @property
    def benchmark(self) -> pd.Series | None:
        return self._benchmark


def _record_fields(record: Any) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__dataclass_fields__}
