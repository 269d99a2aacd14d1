"""Change detection between two scans: new, dropped and re-scored tickers.

Owns ``ScanChanges`` and ``diff_scans``. "New" is a ticker selected now that was not
selected by the previous scan, "dropped" one selected before and not now; "changed" lists
tickers scored by both scans whose composite score moved by more than the threshold
(score points). Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoreChange:
    ticker: str
    previous: float
    current: float

    @property
    def delta(self) -> float:
        return self.current - self.previous


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanChanges:
    previous_scan_id: int | None
    new: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    changed: list[ScoreChange] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "previous_scan_id": self.previous_scan_id,
            "new": self.new,
            "dropped": self.dropped,
            "changed": [
                {"ticker": c.ticker, "previous": c.previous, "current": c.current}
                for c in self.changed
            ],
        }


def diff_scans(
    previous: Mapping[str, tuple[float, bool]],
    current: Mapping[str, tuple[float, bool]],
    threshold: float,
    previous_scan_id: int | None = None,
) -> ScanChanges:
    """Compare two scans given as ``{ticker: (composite_score, selected)}``."""
    was = {t for t, (_, chosen) in previous.items() if chosen}
    now = {t for t, (_, chosen) in current.items() if chosen}
    changed = [
        ScoreChange(ticker=t, previous=previous[t][0], current=current[t][0])
        for t in sorted(set(previous) & set(current))
        if abs(current[t][0] - previous[t][0]) > threshold
    ]
    return ScanChanges(
        previous_scan_id=previous_scan_id,
        new=sorted(now - was),
        dropped=sorted(was - now),
        changed=changed,
    )


def signal_reversals(
    scores: Mapping[str, float], held: Iterable[str], exit_score_threshold: float
) -> list[str]:
    """Held tickers whose latest score fell below ``exit_score_threshold`` (or went unscored).

    The position manager treats them as ``SIGNAL_REVERSAL`` exit candidates.
    """
    return sorted(t for t in set(held) if not scores.get(t, float("nan")) >= exit_score_threshold)
