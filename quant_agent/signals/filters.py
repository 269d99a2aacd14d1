"""Entry filters: small rules that drop scored candidates, each saying why.

Owns ``Candidate``, ``FilterContext``, the filters (min score, factor minimums, liquidity,
regime, earnings, correlation) and ``apply_filters``. Each filter is one small class with
one method returning ``{ticker: reason}`` for the candidates it drops; filters run in the
order given, each seeing the survivors of the ones before, best-ranked first, and the
first that drops a ticker records the reason. The correlation filter is sequential: it is
asked per candidate while the scan sizes the survivors in rank order, comparing with open
positions and with the signals selected so far. Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import pandas as pd

from quant_agent.market.earnings import EarningsCalendar


class SessionCounter(Protocol):
    """The part of a market calendar the earnings filter needs."""

    def trading_days(self, start: date, end: date) -> list[date]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """A scored ticker on ``asof``: its composite score, rank (1 = best) and factor values."""

    ticker: str
    score: float
    rank: int
    factors: Mapping[str, float]


@dataclass(frozen=True, slots=True, kw_only=True)
class FilterContext:
    """What filters may look at besides the candidates."""

    asof: date
    benchmark: str = "SPY"
    benchmark_factors: Mapping[str, float] | None = None
    open_positions: tuple[str, ...] = ()
    returns: pd.DataFrame | None = None  # recent daily returns, one column per ticker
    earnings: EarningsCalendar | None = None
    calendar: SessionCounter | None = None
    notes: list[str] = field(default_factory=list)


class EntryFilter(Protocol):
    @property
    def name(self) -> str: ...

    def drops(self, candidates: Sequence[Candidate], ctx: FilterContext) -> dict[str, str]:
        """Return ``{ticker: reason}`` for each candidate this filter removes."""
        ...


@dataclass(frozen=True, slots=True)
class MinScoreFilter:
    threshold: float
    name: str = "min_score"

    def drops(self, candidates: Sequence[Candidate], ctx: FilterContext) -> dict[str, str]:
        return {
            c.ticker: f"score {c.score:.1f} below min_score_threshold {self.threshold:g}"
            for c in candidates
            if c.score < self.threshold
        }


@dataclass(frozen=True, slots=True)
class FactorMinimumsFilter:
    """Keep a candidate only if each listed factor is strictly above its minimum."""

    minimums: Mapping[str, float]
    name: str = "factor_minimums"

    def drops(self, candidates: Sequence[Candidate], ctx: FilterContext) -> dict[str, str]:
        out: dict[str, str] = {}
        for c in candidates:
            for factor, minimum in self.minimums.items():
                value = c.factors.get(factor, math.nan)
                if not value > minimum:
                    out[c.ticker] = f"{factor} {value:.6g} not above minimum {minimum:g}"
                    break
        return out


@dataclass(frozen=True, slots=True)
class LiquidityFilter:
    min_price: float
    min_dollar_volume: float
    name: str = "liquidity"

    def drops(self, candidates: Sequence[Candidate], ctx: FilterContext) -> dict[str, str]:
        out: dict[str, str] = {}
        for c in candidates:
            price = c.factors.get("close", math.nan)
            dollars = c.factors.get("dollar_volume_20", math.nan)
            if not price >= self.min_price:
                out[c.ticker] = f"liquidity: price {price:.2f} below min_price {self.min_price:g}"
            elif not dollars >= self.min_dollar_volume:
                out[c.ticker] = (
                    f"liquidity: 20-day dollar volume {dollars:,.0f} below "
                    f"min_dollar_volume {self.min_dollar_volume:,.0f}"
                )
        return out


@dataclass(frozen=True, slots=True)
class RegimeFilter:
    """Risk-on only while the benchmark is above its 200-day SMA and its 50-day SMA rises."""

    name: str = "regime"

    def drops(self, candidates: Sequence[Candidate], ctx: FilterContext) -> dict[str, str]:
        reason = regime_problem(ctx.benchmark, ctx.benchmark_factors)
        return {} if reason is None else {c.ticker: reason for c in candidates}


def regime_problem(benchmark: str, factors: Mapping[str, float] | None) -> str | None:
    """Why the market is risk-off (no new entries), or None when it is risk-on."""
    if factors is None:
        return f"regime: no bars for the benchmark {benchmark}; no new entries"
    above = factors.get("close_to_sma_200", math.nan)
    slope = factors.get("sma_50_slope", math.nan)
    if not (math.isfinite(above) and math.isfinite(slope)):
        return f"regime: {benchmark} history too short for its 200-day SMA; no new entries"
    problems = []
    if not above > 0:
        problems.append(f"{benchmark} {abs(above):.1%} below its 200-day SMA")
    if not slope > 0:
        problems.append(f"{benchmark} 50-day SMA not rising ({slope:+.2%} over 20 bars)")
    return None if not problems else "regime: risk-off (" + "; ".join(problems) + ")"


@dataclass(frozen=True, slots=True)
class EarningsFilter:
    """No entry when an earnings date falls on ``asof`` or within the next ``days`` sessions."""

    days: int
    name: str = "earnings"

    def drops(self, candidates: Sequence[Candidate], ctx: FilterContext) -> dict[str, str]:
        if ctx.earnings is None or ctx.calendar is None:
            ctx.notes.append("earnings filter on but no earnings calendar configured")
            return {}
        out: dict[str, str] = {}
        for c in candidates:
            when = ctx.earnings.next_earnings(c.ticker, ctx.asof)
            if when is None:
                continue
            ahead = len(ctx.calendar.trading_days(ctx.asof, when)) - 1
            if when == ctx.asof or ahead <= self.days:
                out[c.ticker] = (
                    f"earnings on {when.isoformat()}, {max(ahead, 0)} session(s) ahead "
                    f"(window {self.days})"
                )
        return out


@dataclass(frozen=True, slots=True)
class CorrelationFilter:
    """Drop a candidate whose daily-return correlation with an open position or with a
    higher-ranked signal already selected exceeds ``max_correlation``.

    Sequential: ``scan_day`` asks ``reason`` while it walks the ranked survivors and sizes
    them (so "already selected" means planned). Fewer than ``min_overlap`` common returns
    means unknown, which does not drop.
    """

    max_correlation: float
    min_overlap: int = 20
    name: str = "correlation"

    def drops(self, candidates: Sequence[Candidate], ctx: FilterContext) -> dict[str, str]:
        return {}  # applied during planning, see ``reason``

    def reason(self, ticker: str, selected: Sequence[str], ctx: FilterContext) -> str | None:
        """Why ``ticker`` is too correlated with a holding or a selected signal, or None."""
        returns = ctx.returns
        if returns is None or ticker not in returns.columns:
            return None
        peers = [(p, "open position") for p in ctx.open_positions if p != ticker]
        peers += [(s, "higher-ranked signal") for s in selected]
        for peer, role in peers:
            if peer not in returns.columns:
                continue
            value = pairwise_correlation(returns[ticker], returns[peer], self.min_overlap)
            if math.isfinite(value) and value > self.max_correlation:
                return (
                    f"correlation {value:.2f} with {peer} ({role}) above "
                    f"max_correlation {self.max_correlation:g}"
                )
        return None


def pairwise_correlation(a: pd.Series, b: pd.Series, min_overlap: int) -> float:
    """Pearson correlation over the days both have a value; NaN below ``min_overlap``."""
    both = a.notna().to_numpy() & b.notna().to_numpy()
    if int(both.sum()) < max(min_overlap, 2):
        return math.nan
    x, y = a.to_numpy()[both], b.to_numpy()[both]
    x, y = x - x.mean(), y - y.mean()
    denominator = math.sqrt(float((x * x).sum() * (y * y).sum()))
    return float((x * y).sum()) / denominator if denominator > 0 else math.nan


def apply_filters(
    candidates: Sequence[Candidate], filters: Sequence[EntryFilter], ctx: FilterContext
) -> dict[str, str]:
    """Run ``filters`` in order over the survivors; return ``{ticker: reason}`` of the dropped."""
    survivors = sorted(candidates, key=lambda c: c.rank)
    dropped: dict[str, str] = {}
    for rule in filters:
        if not survivors:
            break
        removed = rule.drops(survivors, ctx)
        dropped.update(removed)
        survivors = [c for c in survivors if c.ticker not in removed]
    return dropped
