"""The Phase 1 scorer: cross-sectional percentile ranks of factors, weighted into 0-100.

Owns ``percentile_ranks`` and ``score``. A factor's rank on a day is its position among
the tickers that have a value that day, mapped to [0, 1] (ties share their average rank;
a single ticker ranks 0.5). A positive weight rewards high values, a negative weight low
values. The composite is ``100 * sum(|w| * rank') / sum(|w|)`` over the weighted factors,
so it lies in [0, 100]; a ticker missing any weighted factor gets no score (NaN), never a
guess. Ordering is by score descending, then ticker ascending, so it never depends on the
order tickers were given in. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

Array = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Scores:
    """Composite scores of one day, with each weighted factor's rank, per ticker."""

    tickers: tuple[str, ...]
    composite: Array  # (N,), NaN where a weighted factor is missing
    ranks: dict[str, Array]  # factor -> (N,) in [0, 1], NaN where missing

    def order(self) -> list[int]:
        """Indices of the scored tickers, best first (score desc, ticker asc)."""
        scored = [i for i in range(len(self.tickers)) if np.isfinite(self.composite[i])]
        return sorted(scored, key=lambda i: (-self.composite[i], self.tickers[i]))

    def missing(self, i: int) -> list[str]:
        """The weighted factors ticker ``i`` has no value for."""
        return [name for name, rank in self.ranks.items() if not np.isfinite(rank[i])]


def percentile_ranks(values: Array) -> Array:
    """Cross-sectional rank of each finite value in [0, 1]; NaN stays NaN."""
    finite = np.isfinite(values)
    out = np.full(values.shape, np.nan)
    count = int(finite.sum())
    if count == 1:
        out[finite] = 0.5
    elif count > 1:
        ranks = pd.Series(values[finite]).rank(method="average").to_numpy(np.float64)
        out[finite] = (ranks - 1.0) / (count - 1)
    return out


def score(
    tickers: Sequence[str], factors: Mapping[str, Array], weights: Mapping[str, float]
) -> Scores:
    """Score one day: ``factors`` maps a name to its (N,) values for ``tickers``."""
    used = {name: w for name, w in weights.items() if w != 0}
    if not used:
        raise ValueError("at least one factor weight must be non-zero")
    unknown = sorted(set(used) - set(factors))
    if unknown:
        raise ValueError(f"weights name unknown factors: {', '.join(unknown)}")
    total = sum(abs(w) for w in used.values())
    composite = np.zeros(len(tickers))
    ranks: dict[str, Array] = {}
    for name, weight in used.items():
        rank = percentile_ranks(np.asarray(factors[name], dtype=np.float64))
        ranks[name] = rank
        composite += abs(weight) * (rank if weight > 0 else 1.0 - rank)
    composite = np.clip(100.0 * composite / total, 0.0, 100.0)
    return Scores(tickers=tuple(tickers), composite=composite, ranks=ranks)
