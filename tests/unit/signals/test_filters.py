"""Filters: each removes exactly the expected tickers with a reason; switched off, none."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from quant_agent.config import FiltersConfig, LiveTradingConfig, SignalsConfig
from quant_agent.market.calendar import get_calendar
from quant_agent.market.earnings import EarningsDates
from quant_agent.signals.filters import (
    Candidate,
    CorrelationFilter,
    EarningsFilter,
    FilterContext,
    LiquidityFilter,
    RegimeFilter,
    apply_filters,
)
from quant_agent.signals.scan import ScanSettings, Signal, select
from quant_agent.testkit.signals import cash_account

ASOF = date(2025, 11, 20)  # a Thursday; 2025-11-27 is Thanksgiving
ALL_OFF = FiltersConfig(
    regime_filter=False, correlation_filter=False, earnings_filter=False,
    liquidity_filter=False, min_score_threshold=0,
)  # fmt: skip


def candidate(ticker: str, rank: int, score: float = 80.0, **factors: float) -> Candidate:
    values = {"close": 50.0, "dollar_volume_20": 50e6, "atr_14": 1.0, **factors}
    return Candidate(ticker=ticker, score=score, rank=rank, factors=values)


def settings(filters: FiltersConfig, signals: SignalsConfig | None = None) -> ScanSettings:
    config = LiveTradingConfig()
    return ScanSettings.from_config(
        signals or config.signals, filters, config.trade_plan, config.trading, config.risk
    )


def run(cands: list[Candidate], filters: FiltersConfig, ctx: FilterContext,
        signals: SignalsConfig | None = None) -> dict[str, str]:  # fmt: skip
    return apply_filters(cands, settings(filters, signals).filters, ctx)


CTX = FilterContext(asof=ASOF)
RISK_ON = {"close_to_sma_200": 0.05, "sma_50_slope": 0.01}


def test_min_score_drops_only_scores_below_the_threshold() -> None:
    cands = [candidate("A", 1, 70), candidate("B", 2, 60), candidate("C", 3, 59.9)]
    dropped = run(cands, ALL_OFF.model_copy(update={"min_score_threshold": 60}), CTX)
    assert dropped == {"C": "score 59.9 below min_score_threshold 60"}
    assert run(cands, ALL_OFF, CTX) == {}


def test_liquidity_drops_cheap_and_thin_tickers_and_can_be_switched_off() -> None:
    cands = [
        candidate("OK", 1),
        candidate("CHEAP", 2, close=4.99),
        candidate("THIN", 3, dollar_volume_20=4_999_999),
        candidate("NODATA", 4, dollar_volume_20=math.nan),
    ]
    dropped = run(cands, ALL_OFF.model_copy(update={"liquidity_filter": True}), CTX)
    assert set(dropped) == {"CHEAP", "THIN", "NODATA"}
    assert "price 4.99 below min_price 5" in dropped["CHEAP"]
    assert "dollar volume 4,999,999 below min_dollar_volume 5,000,000" in dropped["THIN"]
    assert run(cands, ALL_OFF, CTX) == {}


@pytest.mark.parametrize(
    ("benchmark", "why"),
    [
        ({"close_to_sma_200": -0.02, "sma_50_slope": 0.01}, "SPY 2.0% below its 200-day SMA"),
        ({"close_to_sma_200": 0.02, "sma_50_slope": -0.001}, "50-day SMA not rising"),
        (None, "no bars for the benchmark SPY"),
    ],
)
def test_regime_risk_off_drops_every_candidate(benchmark: dict | None, why: str) -> None:
    cands = [candidate("A", 1), candidate("B", 2)]
    ctx = FilterContext(asof=ASOF, benchmark_factors=benchmark)
    dropped = run(cands, ALL_OFF.model_copy(update={"regime_filter": True}), ctx)
    assert set(dropped) == {"A", "B"} and all(why in r for r in dropped.values())
    assert run(cands, ALL_OFF, ctx) == {}


def test_regime_risk_on_keeps_every_candidate() -> None:
    ctx = FilterContext(asof=ASOF, benchmark_factors=RISK_ON)
    assert RegimeFilter().drops([candidate("A", 1)], ctx) == {}


def test_earnings_drops_entries_within_the_window_counted_in_sessions() -> None:
    earnings = EarningsDates({
        "TODAY": [ASOF],
        "SOON": [date(2025, 11, 28)],  # 5 sessions ahead (Thanksgiving skipped)
        "LATER": [date(2025, 12, 1)],  # 6 sessions ahead
        "PAST": [date(2025, 11, 19)],
    })  # fmt: skip
    cands = [candidate(t, i) for i, t in enumerate(["TODAY", "SOON", "LATER", "PAST", "NONE"], 1)]
    ctx = FilterContext(asof=ASOF, earnings=earnings, calendar=get_calendar("NYSE"))
    dropped = run(cands, ALL_OFF.model_copy(update={"earnings_filter": True}), ctx)
    assert set(dropped) == {"TODAY", "SOON"}
    assert dropped["SOON"] == "earnings on 2025-11-28, 5 session(s) ahead (window 5)"
    assert run(cands, ALL_OFF, ctx) == {}


def test_earnings_filter_without_a_calendar_drops_nothing_and_says_so() -> None:
    ctx = FilterContext(asof=ASOF)
    assert EarningsFilter(5).drops([candidate("A", 1)], ctx) == {}
    assert ctx.notes == ["earnings filter on but no earnings calendar configured"]


def test_factor_minimums_keep_only_values_strictly_above() -> None:
    signals = SignalsConfig(factor_minimums={"momentum_126": 0.0, "close_to_sma_50": 1e-9})
    cands = [
        candidate("UP", 1, momentum_126=0.2, close_to_sma_50=0.01),
        candidate("FLAT", 2, momentum_126=0.0, close_to_sma_50=0.01),
        candidate("BELOW", 3, momentum_126=0.2, close_to_sma_50=0.0),
        candidate("UNKNOWN", 4, momentum_126=math.nan, close_to_sma_50=0.01),
    ]
    dropped = run(cands, ALL_OFF, CTX, signals)
    assert set(dropped) == {"FLAT", "BELOW", "UNKNOWN"}
    assert dropped["FLAT"] == "momentum_126 0 not above minimum 0"
    assert run(cands, ALL_OFF, CTX) == {}  # the default: no factor minimums


def correlated_returns() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    base, other = rng.normal(0, 0.01, 60), rng.normal(0, 0.01, 60)
    noise = lambda: rng.normal(0, 0.001, 60)  # noqa: E731
    return pd.DataFrame({
        "A": base + noise(), "B": base + noise(),  # B follows A
        "C": other + noise(), "HELD": other + noise(),  # C follows an open position
        "D": rng.normal(0, 0.01, 60),
    })  # fmt: skip


def signal(ticker: str, rank: int) -> Signal:
    return Signal(
        ticker=ticker, signal_date=ASOF, composite_score=90.0 - rank, rank=rank,
        factors={"close": 20.0, "atr_14": 0.5, "dollar_volume_20": 5e7}, factor_ranks={},
    )  # fmt: skip


def test_correlation_drops_followers_of_holdings_and_of_higher_ranked_selections() -> None:
    signals = [signal(t, i) for i, t in enumerate(["A", "B", "C", "D"], 1)]
    holdings = cash_account(open_positions=["HELD"])
    ctx = FilterContext(asof=ASOF, open_positions=("HELD",), returns=correlated_returns())
    on = settings(ALL_OFF.model_copy(update={"correlation_filter": True}))
    result = {s.ticker: s for s in select(signals, on, holdings, ctx)}
    assert {t for t, s in result.items() if s.reasons} == {"B", "C"}
    assert (
        result["B"].reasons[0].endswith("with A (higher-ranked signal) above max_correlation 0.7")
    )
    assert "with HELD (open position)" in result["C"].reasons[0]
    assert result["A"].selected and result["D"].selected

    off = {s.ticker: s for s in select(signals, settings(ALL_OFF), holdings, ctx)}
    assert off["A"].selected and off["B"].selected  # two free slots beside HELD
    assert not any("correlation" in r for s in off.values() for r in s.reasons)


def test_correlation_with_too_few_common_days_is_unknown_and_keeps_the_candidate() -> None:
    returns = correlated_returns()
    returns.loc[5:, "B"] = np.nan
    ctx = FilterContext(asof=ASOF, returns=returns)
    assert CorrelationFilter(0.7, min_overlap=30).reason("B", ["A"], ctx) is None
    assert LiquidityFilter(0, 0).drops([], ctx) == {}
