"""LiveSignalGenerator: the scans of the live market, their change detection and storage.

Owns when a scan looks (the last completed session before the open; today's partial bar
during the session), the ``scan_runs`` lifecycle (RUNNING → SUCCEEDED | FAILED, a failure
keeping its error and no partial signals) and one ``live_signals`` row per scored ticker.
The scoring itself is ``quant_agent.signals.scan.scan_day``, the very code a backtest
runs, so a live score equals what the backtest saw on the same bars. Time comes only from
the injected clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from quant_agent.config import (
    FiltersConfig,
    RiskConfig,
    SignalsConfig,
    TradePlanConfig,
    TradingConfig,
)
from quant_agent.core.clock import Clock
from quant_agent.core.enums import RunStatus, ScanKind
from quant_agent.core.ids import Ticker
from quant_agent.core.market import Bar, Quote
from quant_agent.core.money import ZERO, to_decimal
from quant_agent.core.records import ScanRun, SignalRecord
from quant_agent.market.calendar import MarketCalendar
from quant_agent.market.earnings import EarningsCalendar
from quant_agent.market.history import HistoryStore
from quant_agent.signals.changes import ScanChanges, diff_scans
from quant_agent.signals.factors import FIELDS, Panel, compute_factors
from quant_agent.signals.filters import FilterContext
from quant_agent.signals.scan import Holdings, ScanOutput, ScanSettings, Signal, scan_day, select
from quant_agent.signals.scan import recent_returns as _recent_returns
from quant_agent.signals.trade_plan import Account
from quant_agent.storage.store import Store

NEW_YORK = ZoneInfo("America/New_York")
HoldingsProvider = Callable[[], Holdings]
StageCallback = Callable[[str], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanReport:
    """What one scan did: its stored run id, status, and (on success) its output."""

    run_id: int
    kind: ScanKind
    status: RunStatus
    asof: date | None
    output: ScanOutput | None = None
    error: str | None = None


def partial_bar(quote: Quote, session: date) -> Bar:
    """Today's bar as far as a single quote tells: open = high = low = close = last."""
    price = quote.last if quote.last is not None else quote.mid
    return Bar(
        ticker=quote.ticker, session=session, open=price, high=price, low=price,
        close=price, volume=quote.volume, ts_event=quote.ts_event,
    )  # fmt: skip


def session_bars(history: HistoryStore, session: date) -> dict[str, Bar]:
    """Every ticker's bar of ``session`` from ``history``, e.g. to replay a day's scan."""
    frames = history.panel(start=session, end=session)
    if not len(frames["close"].index):
        raise ValueError(f"the data has no bars on {session.isoformat()}")
    bars: dict[str, Bar] = {}
    for j, ticker in enumerate(frames["close"].columns):
        values = {f: float(frames[f].iat[0, j]) for f in FIELDS}
        if not math.isfinite(values["close"]):
            continue  # no bar that day
        bars[ticker] = Bar(
            ticker=Ticker(ticker), session=session, open=to_decimal(values["open"]),
            high=to_decimal(values["high"]), low=to_decimal(values["low"]),
            close=to_decimal(values["close"]), volume=int(values["volume"]),
        )  # fmt: skip
    return bars


class LiveSignalGenerator:
    """Runs premarket and market-hours scans and stores them (see the module docstring)."""

    def __init__(
        self,
        *,
        clock: Clock,
        history: HistoryStore,
        store: Store,
        calendar: MarketCalendar,
        signals: SignalsConfig,
        filters: FiltersConfig,
        trade_plan: TradePlanConfig,
        trading: TradingConfig,
        risk: RiskConfig,
        earnings: EarningsCalendar | None = None,
        universe: Sequence[str] | None = None,
        holdings: HoldingsProvider | None = None,
        on_stage: StageCallback | None = None,
    ) -> None:
        self._clock = clock
        self._history = history
        self._store = store
        self._calendar = calendar
        self._signals_cfg = signals
        self._settings = ScanSettings.from_config(signals, filters, trade_plan, trading, risk)
        self._earnings = earnings
        self._universe = tuple(universe) if universe is not None else history.tickers
        self._trading = trading
        self._holdings = holdings or self._holdings_from_store
        self._on_stage = on_stage or (lambda stage: None)
        self._partials: dict[str, Bar] = {}
        self._last: tuple[int, ScanOutput] | None = None

    # ------------------------------------------------------------------ scans

    def run_premarket_scan(self, asof: date | None = None) -> ScanReport:
        """Score the last completed session (or ``asof``) and store the scan."""
        day = self._last_data_session(asof or self.last_completed_session())
        return self._run(ScanKind.PREMARKET, day, lambda: self._score(self._panel(day)))

    def run_market_hours_scan(
        self, bars: Mapping[str, Bar] | None = None, session: date | None = None
    ) -> ScanReport:
        """Score today with the latest quotes (or ``bars``) folded in as today's partial bar.

        ``session`` replays another day instead of the clock's today (``bars`` must be of it).
        """
        for bar in (bars or {}).values():
            self.update_bar(bar)
        today = session or self._today()
        return self._run(ScanKind.MARKET, today, lambda: self._score(self._live_panel(today)))

    def calculate_realtime_factors(self, ticker: str) -> dict[str, float | None]:
        """Factors of ``ticker`` now: history plus today's partial bar when one is known."""
        tickers = [ticker]
        if self._settings.benchmark in self._history.tickers and ticker != self._settings.benchmark:
            tickers.append(self._settings.benchmark)
        today = self._today()
        if ticker in self._partials and self._partials[ticker].session == today:
            panel = self._live_panel(today, tickers)
        else:
            panel = self._panel(self.last_completed_session(), tickers)
        factors = compute_factors(panel, self._settings.benchmark)
        return {name: _finite(values[-1, 0]) for name, values in factors.items()}

    def apply_live_filters(self, signals: Sequence[Signal]) -> list[Signal]:
        """Re-run the filters and sizing on ``signals`` against the current holdings."""
        if not signals:
            return []
        asof = signals[0].signal_date
        holdings = self._holdings()
        panel = self._panel(asof)
        row = len(panel.dates) - 1
        bench = next((s.factors for s in signals if s.ticker == self._settings.benchmark), None)
        ctx = FilterContext(
            asof=asof, benchmark=self._settings.benchmark,
            benchmark_factors=self._benchmark_factors(asof, bench),
            open_positions=holdings.open_positions, earnings=self._earnings,
            calendar=self._calendar,
            returns=_recent_returns(panel, row, self._settings, [s.ticker for s in signals],
                                    holdings),
        )  # fmt: skip
        return select(signals, self._settings, holdings, ctx)

    def compare_with_previous_scan(self) -> ScanChanges:
        """New, dropped and re-scored tickers of the latest scan against the one before it."""
        if self._last is None:
            raise LookupError("no scan has run in this process yet")
        run_id, output = self._last
        current = {s.ticker: (s.composite_score, s.selected) for s in output.signals}
        with self._store.unit_of_work() as uow:
            earlier = [
                r for r in uow.scan_runs.list(status=RunStatus.SUCCEEDED)
                if r.id is not None and r.id < run_id
            ]  # fmt: skip
            if not earlier:
                return diff_scans({}, current, self._signals_cfg.change_threshold)
            previous_id = max(r.id for r in earlier if r.id is not None)
            rows = uow.signals.for_scan(previous_id)
        previous = {str(r.ticker): (r.composite_score, r.selected) for r in rows}
        return diff_scans(previous, current, self._signals_cfg.change_threshold, previous_id)

    def save_signals_to_db(self, run_id: int, output: ScanOutput) -> None:
        """Store every signal of ``output`` and mark run ``run_id`` SUCCEEDED, atomically."""
        now = self._clock.now()
        records = [_record(run_id, signal, now) for signal in output.signals]
        with self._store.unit_of_work() as uow:
            uow.signals.add_many(records)
            uow.scan_runs.finish(
                run_id, status=RunStatus.SUCCEEDED, finished_at=now, signal_count=len(records)
            )
        self._last = (run_id, output)

    # ------------------------------------------------------------------ live bars

    def update_quote(self, quote: Quote) -> None:
        """Fold a quote into today's partial bar of its ticker (high/low/last/volume)."""
        session = quote.ts_event.astimezone(NEW_YORK).date()
        price = quote.last if quote.last is not None else quote.mid
        seen = self._partials.get(quote.ticker)
        if seen is None or seen.session != session:
            self._partials[quote.ticker] = partial_bar(quote, session)
            return
        self._partials[quote.ticker] = Bar(
            ticker=seen.ticker, session=session, open=seen.open, high=max(seen.high, price),
            low=min(seen.low, price), close=price, volume=max(seen.volume, quote.volume),
            ts_event=quote.ts_event,
        )  # fmt: skip

    def update_bar(self, bar: Bar) -> None:
        """Set today's partial bar of a ticker (e.g. from the feed's running OHLCV)."""
        self._partials[bar.ticker] = bar

    # ------------------------------------------------------------------ helpers

    def last_completed_session(self) -> date:
        """The last session closed at the clock's now, capped at the history's last date."""
        closed = self._calendar.previous_close(self._clock.now()).astimezone(NEW_YORK).date()
        last_data: date = self._history.last_date.date()
        return min(closed, last_data)

    def _last_data_session(self, day: date) -> date:
        """The last date of the history on or before ``day`` (``day`` itself if it has bars)."""
        dates = self._history.dates
        i = int(dates.searchsorted(pd.Timestamp(day), side="right")) - 1
        if i < 0:
            raise ValueError(f"no history on or before {day.isoformat()}")
        found: date = dates[i].date()
        return found

    def _today(self) -> date:
        today = self._clock.now().astimezone(NEW_YORK).date()
        if not self._calendar.is_trading_day(today):
            raise ValueError(f"{today.isoformat()} is not a trading session: no market scan")
        return today

    def _panel(self, day: date, tickers: Sequence[str] | None = None) -> Panel:
        frames = self._history.panel(end=day, tickers=list(tickers or self._universe))
        panel = Panel.from_frames(frames)
        if not len(panel.dates):
            raise ValueError(f"no history on or before {day.isoformat()}")
        return panel

    def _live_panel(self, today: date, tickers: Sequence[str] | None = None) -> Panel:
        before = self._calendar.previous_trading_day(today)
        panel = self._panel(before, tickers)
        rows = {f: np.full(len(panel.tickers), np.nan) for f in FIELDS}
        for i, ticker in enumerate(panel.tickers):
            bar = self._partials.get(ticker)
            if bar is not None and bar.session == today:
                for f in FIELDS:
                    rows[f][i] = float(getattr(bar, f))
        return panel.with_row(pd.Timestamp(today), rows)

    def _score(self, panel: Panel) -> ScanOutput:
        self._on_stage("factors")
        factors = compute_factors(panel, self._settings.benchmark)
        self._on_stage("scores, filters and plans")
        return scan_day(
            panel, self._settings, self._holdings(), factors=factors,
            earnings=self._earnings, calendar=self._calendar,
        )  # fmt: skip

    def _benchmark_factors(
        self, asof: date, known: Mapping[str, float | None] | None
    ) -> dict[str, float] | None:
        if known is None:
            if self._settings.benchmark not in self._history.tickers:
                return None
            panel = self._panel(asof, [self._settings.benchmark])
            factors = compute_factors(panel, self._settings.benchmark)
            known = {name: _finite(values[-1, 0]) for name, values in factors.items()}
        return {k: math.nan if v is None else float(v) for k, v in known.items()}

    def _run(self, kind: ScanKind, asof: date, compute: Callable[[], ScanOutput]) -> ScanReport:
        started = self._clock.now()
        params: dict[str, Any] = {"weights": dict(self._settings.weights)}
        run = ScanRun(kind=kind, status=RunStatus.RUNNING, started_at=started, asof=asof,
                      universe_size=len(self._universe), params=params)  # fmt: skip
        with self._store.unit_of_work() as uow:
            run_id = uow.scan_runs.add(run)
        try:
            output = compute()
            self._on_stage("saving")
            self.save_signals_to_db(run_id, output)
        except Exception as exc:  # noqa: BLE001 - any failure is recorded on the run
            error = f"{type(exc).__name__}: {exc}"
            with self._store.unit_of_work() as uow:
                uow.scan_runs.finish(
                    run_id, status=RunStatus.FAILED, finished_at=self._clock.now(), error=error
                )
            return ScanReport(run_id=run_id, kind=kind, status=RunStatus.FAILED, asof=asof,
                              error=error)  # fmt: skip
        return ScanReport(run_id=run_id, kind=kind, status=RunStatus.SUCCEEDED, asof=output.asof,
                          output=output)  # fmt: skip

    def _holdings_from_store(self) -> Holdings:
        with self._store.unit_of_work() as uow:
            positions = uow.positions.list_open()
        invested = sum((p.cost_basis for p in positions), ZERO)
        capital = self._trading.initial_capital
        return Holdings(
            account=Account(equity=capital, cash=capital - invested,
                            open_positions=len(positions)),
            open_positions=tuple(sorted(str(p.ticker) for p in positions)),
        )  # fmt: skip


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _record(run_id: int, signal: Signal, now: datetime) -> SignalRecord:
    plan = signal.trade_plan
    return SignalRecord(
        scan_run_id=run_id, ticker=Ticker(signal.ticker), signal_date=signal.signal_date,
        generated_at=now, composite_score=signal.composite_score, rank=signal.rank,
        selected=signal.selected,
        entry_price=plan.entry_price if plan else None,
        stop_loss=plan.stop_loss if plan else None,
        take_profit=plan.take_profit if plan else None,
        quantity=plan.quantity if plan else None,
        factors={"values": signal.factors, "ranks": signal.factor_ranks},
        filter_reasons=list(signal.reasons),
        trade_plan=plan.as_json() if plan else None,
    )  # fmt: skip
