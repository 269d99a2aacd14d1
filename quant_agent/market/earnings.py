"""Earnings calendars: where the next earnings date of a ticker comes from.

Owns the ``EarningsCalendar`` protocol the earnings filter reads, ``EarningsDates`` (an
in-memory calendar) and ``load_earnings_csv`` (a ``ticker,date`` CSV such as
../shared/data/earnings_dates.csv; extra columns are ignored). Other sources (a broker
API) implement the same one-method protocol.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Protocol

import pandas as pd

from quant_agent.core.errors import DataValidationError


class EarningsCalendar(Protocol):
    """Answers "when does this ticker next report?"."""

    def next_earnings(self, ticker: str, on_or_after: date) -> date | None:
        """The first earnings date of ``ticker`` on or after ``on_or_after``, or None."""
        ...


class EarningsDates:
    """An earnings calendar held in memory: ticker -> dates."""

    def __init__(self, dates: Mapping[str, Iterable[date]]) -> None:
        self._dates = {ticker: sorted(set(days)) for ticker, days in dates.items()}

    def next_earnings(self, ticker: str, on_or_after: date) -> date | None:
        days = self._dates.get(ticker)
        if not days:
            return None
        i = bisect_left(days, on_or_after)
        return days[i] if i < len(days) else None

    def __len__(self) -> int:
        return sum(len(days) for days in self._dates.values())


def load_earnings_csv(path: Path | str) -> EarningsDates:
    """Read a CSV with columns ``ticker,date`` (YYYY-MM-DD) into an ``EarningsDates``."""
    file = Path(path)
    if not file.is_file():
        raise DataValidationError([f"{file}: no such earnings file"])
    frame = pd.read_csv(file, dtype=str, keep_default_na=False)
    missing = [col for col in ("ticker", "date") if col not in frame.columns]
    if missing:
        raise DataValidationError([f"{file}: missing column {col!r}" for col in missing])
    try:
        days = pd.to_datetime(frame["date"], format="%Y-%m-%d").dt.date
    except ValueError as exc:
        raise DataValidationError([f"{file}: bad date: {exc}"]) from None
    grouped: dict[str, list[date]] = {}
    for ticker, day in zip(frame["ticker"].str.strip(), days, strict=True):
        grouped.setdefault(ticker, []).append(day)
    return EarningsDates(grouped)
