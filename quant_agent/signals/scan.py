"""One scan of one day: factors → scores → filters → trade plans, as plain values.

Owns ``ScanSettings`` (built from the config sections), ``Signal`` (one scored ticker) and
``scan_day``. Backtests and live scans both call ``scan_day`` on a ``Panel``; the live
generator only decides which panel (history, or history plus today's partial bar). Pure:
no I/O, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from quant_agent.config import (
    FiltersConfig,
    RiskConfig,
    SignalsConfig,
    TradePlanConfig,
    TradingConfig,
)
from quant_agent.market.earnings import EarningsCalendar
from quant_agent.signals.factors import FIELDS, Array, Panel, compute_factors, daily_returns
from quant_agent.signals.filters import (
    Candidate,
    CorrelationFilter,
    EarningsFilter,
    EntryFilter,
    FactorMinimumsFilter,
    FilterContext,
    LiquidityFilter,
    MinScoreFilter,
    RegimeFilter,
    SessionCounter,
    apply_filters,
)
from quant_agent.signals.scorer import score
from quant_agent.signals.trade_plan import Account, PlanInput, PlanSettings, TradePlan, plan_trades


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanSettings:
    weights: Mapping[str, float]
    filters: tuple[EntryFilter, ...]
    plan: PlanSettings
    benchmark: str = "SPY"
    correlation_lookback: int = 60

    @classmethod
    def from_config(
        cls,
        signals: SignalsConfig,
        filters: FiltersConfig,
        trade_plan: TradePlanConfig,
        trading: TradingConfig,
        risk: RiskConfig,
    ) -> ScanSettings:
        """Build the settings, with the switched-on filters in their fixed order."""
        rules: list[EntryFilter] = [MinScoreFilter(filters.min_score_threshold)]
        if signals.factor_minimums:
            rules.append(FactorMinimumsFilter(dict(signals.factor_minimums)))
        if filters.liquidity_filter:
            rules.append(LiquidityFilter(signals.min_price, signals.min_dollar_volume))
        if filters.regime_filter:
            rules.append(RegimeFilter())
        if filters.earnings_filter:
            rules.append(EarningsFilter(signals.earnings_window_days))
        if filters.correlation_filter:
            min_overlap = max(2, signals.correlation_lookback // 2)
            rules.append(CorrelationFilter(risk.max_correlation, min_overlap))
        plan = PlanSettings(
            **trade_plan.model_dump(exclude={"anchor"}),
            max_position_pct=trading.max_position_pct,
            min_buying_power_pct=risk.min_buying_power_pct,
            max_positions=trading.max_positions,
            commission=trading.commission_per_trade,
        )
        return cls(
            weights=dict(signals.weights), filters=tuple(rules), plan=plan,
            benchmark=signals.benchmark, correlation_lookback=signals.correlation_lookback,
        )  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class Signal:
    """One scored ticker of a scan."""

    ticker: str
    signal_date: date
    composite_score: float
    rank: int
    factors: dict[str, float | None]
    factor_ranks: dict[str, float]
    reasons: tuple[str, ...] = ()
    trade_plan: TradePlan | None = None

    @property
    def selected(self) -> bool:
        """Passed every filter and got a trade plan."""
        return self.trade_plan is not None and not self.reasons

    def as_json(self) -> dict[str, Any]:
        return {
            "ticker": self.ticker,
            "signal_date": self.signal_date.isoformat(),
            "composite_score": round(self.composite_score, 6),
            "rank": self.rank,
            "selected": self.selected,
            "reasons": list(self.reasons),
            "trade_plan": None if self.trade_plan is None else self.trade_plan.as_json(),
            "factors": self.factors,
            "factor_ranks": self.factor_ranks,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanOutput:
    asof: date
    signals: list[Signal]  # best first
    unscored: dict[str, str]  # ticker -> why it has no score
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class Holdings:
    """What the account holds when the scan runs."""

    account: Account
    open_positions: tuple[str, ...] = ()


def scan_day(
    panel: Panel,
    settings: ScanSettings,
    holdings: Holdings,
    *,
    row: int = -1,
    factors: Mapping[str, Array] | None = None,
    earnings: EarningsCalendar | None = None,
    calendar: SessionCounter | None = None,
) -> ScanOutput:
    """Score, filter and plan the session at ``row`` of ``panel`` (default: the last)."""
    all_factors = factors if factors is not None else compute_factors(panel, settings.benchmark)
    row = row % len(panel.dates)
    asof = panel.dates[row].date()
    day = {name: values[row] for name, values in all_factors.items()}
    day["close"] = panel.close[row]
    scores = score(panel.tickers, day, settings.weights)
    order = scores.order()
    signals = [
        Signal(
            ticker=panel.tickers[i], signal_date=asof, composite_score=float(scores.composite[i]),
            rank=n, factors={k: _finite(v[i]) for k, v in day.items()},
            factor_ranks={k: float(r[i]) for k, r in scores.ranks.items()},
        )
        for n, i in enumerate(order, start=1)
    ]  # fmt: skip
    ctx = FilterContext(
        asof=asof, benchmark=settings.benchmark,
        benchmark_factors=_benchmark_row(panel, day, settings.benchmark),
        open_positions=holdings.open_positions, earnings=earnings, calendar=calendar,
        returns=recent_returns(panel, row, settings, [s.ticker for s in signals], holdings),
    )  # fmt: skip
    unscored = {
        t: _why_unscored(scores.missing(i), panel.close[row, i])
        for i, t in enumerate(panel.tickers)
        if not np.isfinite(scores.composite[i])
    }
    selected = select(signals, settings, holdings, ctx)
    return ScanOutput(asof=asof, signals=selected, unscored=unscored, notes=ctx.notes)


def select(
    signals: Sequence[Signal], settings: ScanSettings, holdings: Holdings, ctx: FilterContext
) -> list[Signal]:
    """Filter and plan scored signals (best first); return them with reasons and plans."""
    candidates = [
        Candidate(ticker=s.ticker, score=s.composite_score, rank=s.rank,
                  factors={k: math.nan if v is None else v for k, v in s.factors.items()})
        for s in sorted(signals, key=lambda s: s.rank)
    ]  # fmt: skip
    held = set(holdings.open_positions)
    dropped = {c.ticker: "already held (open position)" for c in candidates if c.ticker in held}
    dropped |= apply_filters([c for c in candidates if c.ticker not in held], settings.filters, ctx)
    inputs = [
        PlanInput(ticker=c.ticker, last=c.factors["close"], atr=c.factors["atr_14"])
        for c in candidates
        if c.ticker not in dropped
    ]
    correlation = next((f for f in settings.filters if isinstance(f, CorrelationFilter)), None)
    check = None if correlation is None else (lambda t, chosen: correlation.reason(t, chosen, ctx))
    plans, unplanned = plan_trades(inputs, holdings.account, settings.plan, check)
    dropped.update(unplanned)
    return [
        replace(
            s,
            reasons=(dropped[s.ticker],) if s.ticker in dropped else (),
            trade_plan=plans.get(s.ticker),
        )  # fmt: skip
        for s in sorted(signals, key=lambda s: s.rank)
    ]


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _why_unscored(missing: Sequence[str], close: float) -> str:
    if not np.isfinite(close):
        return "no bar on the scan date"
    return "history too short for " + ", ".join(missing)


def _benchmark_row(
    panel: Panel, day: Mapping[str, Array], benchmark: str
) -> dict[str, float] | None:
    if benchmark not in panel.tickers:
        return None
    i = panel.column(benchmark)
    if not np.isfinite(day["close"][i]):
        return None
    return {name: float(values[i]) for name, values in day.items()}


def recent_returns(
    panel: Panel, row: int, settings: ScanSettings, tickers: Sequence[str],
    holdings: Holdings,
) -> pd.DataFrame | None:  # fmt: skip
    if not any(isinstance(f, CorrelationFilter) for f in settings.filters):
        return None
    """The last ``correlation_lookback`` daily returns of ``tickers`` and the holdings."""
    wanted = set(tickers) | set(holdings.open_positions)
    columns = [i for i, t in enumerate(panel.tickers) if t in wanted]
    lo = max(0, row + 1 - settings.correlation_lookback - 1)
    sub = Panel(
        dates=panel.dates[lo : row + 1], tickers=tuple(panel.tickers[i] for i in columns),
        **{f: getattr(panel, f)[lo : row + 1, columns] for f in FIELDS},
    )  # fmt: skip
    returns = daily_returns(sub)[1:]
    return pd.DataFrame(returns, columns=list(sub.tickers))
