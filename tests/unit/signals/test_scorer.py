"""Scorer: composite scores in [0, 100], order-independent ranks, weights that matter."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from quant_agent.signals.scorer import percentile_ranks, score

# A hand-checkable universe: A leads on momentum, C on low volatility, B in the middle.
TICKERS = ("A", "B", "C")
FACTORS = {
    "momentum_126": np.array([0.30, 0.10, -0.05]),
    "volatility_20": np.array([0.040, 0.020, 0.010]),
}


def test_percentile_ranks_map_the_cross_section_onto_0_to_1_with_shared_ties() -> None:
    ranks = percentile_ranks(np.array([3.0, np.nan, 1.0, 3.0, 2.0]))
    assert np.isnan(ranks[1])
    assert list(ranks[[2, 4, 0, 3]]) == [0.0, 1 / 3, 5 / 6, 5 / 6]


def test_momentum_weight_ranks_the_strongest_first() -> None:
    scores = score(TICKERS, FACTORS, {"momentum_126": 1.0})
    assert list(scores.composite) == [100.0, 50.0, 0.0]
    assert [TICKERS[i] for i in scores.order()] == ["A", "B", "C"]


def test_a_negative_volatility_weight_turns_the_ranking_around() -> None:
    scores = score(TICKERS, FACTORS, {"momentum_126": 1.0, "volatility_20": -3.0})
    # A: (1*1 + 3*0)/4 = 25, B: (1*0.5 + 3*0.5)/4 = 50, C: (1*0 + 3*1)/4 = 75
    assert list(scores.composite) == [25.0, 50.0, 75.0]
    assert [TICKERS[i] for i in scores.order()] == ["C", "B", "A"]


def test_a_ticker_missing_a_weighted_factor_gets_no_score() -> None:
    factors = {"momentum_126": np.array([0.3, np.nan, 0.1])}
    scores = score(TICKERS, factors, {"momentum_126": 1.0})
    assert np.isnan(scores.composite[1]) and scores.missing(1) == ["momentum_126"]
    assert [TICKERS[i] for i in scores.order()] == ["A", "C"]


def test_equal_scores_are_ordered_by_ticker() -> None:
    factors = {"momentum_126": np.array([0.1, 0.1, 0.1])}
    assert score(("Z", "M", "A"), factors, {"momentum_126": 1.0}).order() == [2, 1, 0]


def test_weights_must_name_known_factors_and_not_all_be_zero() -> None:
    with pytest.raises(ValueError, match="unknown factors"):
        score(TICKERS, FACTORS, {"momentum_999": 1.0})
    with pytest.raises(ValueError, match="non-zero"):
        score(TICKERS, FACTORS, {"momentum_126": 0.0})


values = arrays(
    np.float64, st.integers(1, 40), elements=st.floats(-1e6, 1e6) | st.just(float("nan"))
)


@settings(max_examples=150, deadline=None)
@given(values, st.floats(-5, 5).filter(lambda w: abs(w) > 1e-3), st.randoms())
def test_scores_lie_in_0_100_and_ranking_ignores_ticker_order(
    momentum: np.ndarray, weight: float, rng: object
) -> None:
    tickers = [f"T{i:03d}" for i in range(len(momentum))]
    volatility = np.roll(momentum, 1)
    weights = {"momentum_126": 1.0, "volatility_20": weight}
    base = score(tickers, {"momentum_126": momentum, "volatility_20": volatility}, weights)
    finite = base.composite[np.isfinite(base.composite)]
    assert ((finite >= 0) & (finite <= 100)).all()

    perm = list(range(len(tickers)))
    rng.shuffle(perm)  # type: ignore[attr-defined]
    shuffled = score(
        [tickers[i] for i in perm],
        {"momentum_126": momentum[perm], "volatility_20": volatility[perm]},
        weights,
    )
    ranked = [(tickers[i], base.composite[i]) for i in base.order()]
    reranked = [(shuffled.tickers[i], shuffled.composite[i]) for i in shuffled.order()]
    assert ranked == reranked
