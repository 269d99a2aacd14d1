"""Daily price history: the in-memory store every scanner and backtest reads bars from.

Owns ``HistoryStore``: per-ticker bar frames, wide (session date × ticker) float64 frames
built once per field with a precomputed (date, ticker) index, and the sector/exchange of
each ticker. Re-exports the loading and checking API (``load_daily_bars``,
``validate_daily_bars``, ``load_universe``, ``check_files``) so callers need one import.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal, TypeAlias

import numpy as np
import pandas as pd

from quant_agent.core.enums import Exchange
from quant_agent.core.errors import DataValidationError
from quant_agent.market.calendar import exchange_for_ticker
from quant_agent.market.datacheck import DataCheckResult, check_files
from quant_agent.market.loader import load_daily_bars, read_daily_bars
from quant_agent.market.universe import exchange_map, load_universe
from quant_agent.market.validation import (
    REQUIRED_COLUMNS,
    ValidationReport,
    sort_bars,
    ticker_codes,
    validate_daily_bars,
)

__all__ = [
    "FIELDS",
    "DataCheckResult",
    "HistoryStore",
    "ValidationReport",
    "check_files",
    "load_daily_bars",
    "load_universe",
    "read_daily_bars",
    "validate_daily_bars",
]

FIELDS = ("open", "high", "low", "close", "volume")
UNKNOWN_SECTOR = "Unknown"

DateLike: TypeAlias = date | str | pd.Timestamp


class HistoryStore:
    """Validated daily bars of many tickers, with fast per-ticker and wide views.

    ``bars`` is a tidy frame as returned by ``load_daily_bars`` (it is re-sorted if needed;
    duplicate (ticker, date) rows are refused). ``universe`` (ticker, sector, exchange, ...)
    must list every ticker with bars; without one, sectors are "Unknown" and exchanges
    follow the ticker suffix. Returned frames are independent of the store (copy-on-write).
    """

    def __init__(self, bars: pd.DataFrame, universe: pd.DataFrame | None = None) -> None:
        missing = [col for col in REQUIRED_COLUMNS if col not in bars.columns]
        if missing:
            raise DataValidationError([f"bars frame has no column {col!r}" for col in missing])
        frame = bars.loc[:, list(REQUIRED_COLUMNS)]
        frame["date"] = pd.to_datetime(frame["date"]).astype("datetime64[ns]")
        frame = sort_bars(frame)
        codes, tickers = ticker_codes(frame["ticker"])
        days = frame["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
        _refuse_duplicates(frame, codes, days)
        self._bars = frame
        self._codes = codes
        self._tickers = tuple(tickers)
        self._position = {ticker: i for i, ticker in enumerate(tickers)}
        self._starts = np.searchsorted(codes, np.arange(len(tickers) + 1))
        self._dates, self._date_pos = _date_index(days)
        self._wide: dict[str, pd.DataFrame] = {}
        self._universe = _store_universe(universe, tickers)
        self._sectors = dict(zip(self._universe["ticker"], self._universe["sector"], strict=True))
        self._exchanges = exchange_map(self._universe)

    @classmethod
    def from_files(
        cls, daily_path: Path | str, universe_path: Path | str | None = None
    ) -> HistoryStore:
        """Load (and validate) a bars file/folder and an optional universe file."""
        universe = load_universe(universe_path) if universe_path is not None else None
        exchanges = exchange_map(universe) if universe is not None else None
        return cls(load_daily_bars(daily_path, exchanges), universe)

    def __repr__(self) -> str:
        span = f"{self.first_date.date()}..{self.last_date.date()}" if len(self._dates) else "-"
        return f"HistoryStore({len(self._tickers)} tickers, {len(self._dates)} dates, {span})"

    @property
    def tickers(self) -> tuple[str, ...]:
        """Tickers with at least one bar, sorted."""
        return self._tickers

    @property
    def dates(self) -> pd.DatetimeIndex:
        """Every date on which any ticker has a bar, sorted and unique."""
        return self._dates

    @property
    def first_date(self) -> pd.Timestamp:
        return pd.Timestamp(self._dates[0])

    @property
    def last_date(self) -> pd.Timestamp:
        return pd.Timestamp(self._dates[-1])

    @property
    def rows(self) -> int:
        return len(self._bars)

    @property
    def universe(self) -> pd.DataFrame:
        """Universe rows (ticker, sector, exchange, extras) of the tickers with bars."""
        return self._universe.copy(deep=False)

    def sector(self, ticker: str) -> str:
        """The sector of ``ticker``; ``KeyError`` for a ticker without bars."""
        self._index_of(ticker)
        return str(self._sectors[ticker])

    def exchange(self, ticker: str) -> Exchange:
        """The exchange ``ticker`` lists on; ``KeyError`` for a ticker without bars."""
        self._index_of(ticker)
        return self._exchanges.get(ticker) or exchange_for_ticker(ticker)

    def bars(
        self, ticker: str, start: DateLike | None = None, end: DateLike | None = None
    ) -> pd.DataFrame:
        """Bars of one ticker indexed by date (``open..volume``), ``start``/``end`` inclusive."""
        i = self._index_of(ticker)
        lo, hi = int(self._starts[i]), int(self._starts[i + 1])
        dates = self._bars["date"].to_numpy()[lo:hi]
        a = lo + _bound(dates, start, "left")
        b = lo + _bound(dates, end, "right") if end is not None else hi
        rows = self._bars.iloc[a:b]
        return rows.drop(columns="ticker").set_index("date")

    def wide(
        self,
        field: str,
        tickers: list[str] | tuple[str, ...] | None = None,
        start: DateLike | None = None,
        end: DateLike | None = None,
    ) -> pd.DataFrame:
        """Date × ticker float64 frame of ``field`` (NaN where a ticker has no bar)."""
        lo = _bound(self._dates, start, "left")
        hi = _bound(self._dates, end, "right") if end is not None else len(self._dates)
        return self._slice(field, lo, hi, tickers)

    def panel(
        self,
        start: DateLike | None = None,
        end: DateLike | None = None,
        tickers: list[str] | tuple[str, ...] | None = None,
    ) -> dict[str, pd.DataFrame]:
        """``wide`` frames of open, high, low, close and volume over the same dates."""
        return {field: self.wide(field, tickers, start, end) for field in FIELDS}

    def window(
        self, end: DateLike, sessions: int, tickers: list[str] | tuple[str, ...] | None = None
    ) -> dict[str, pd.DataFrame]:
        """The ``panel`` of the last ``sessions`` dates on or before ``end``."""
        if sessions <= 0:
            raise ValueError(f"sessions must be positive, got {sessions}")
        hi = _bound(self._dates, end, "right")
        lo = max(0, hi - sessions)
        return {field: self._slice(field, lo, hi, tickers) for field in FIELDS}

    def _index_of(self, ticker: str) -> int:
        try:
            return self._position[ticker]
        except KeyError:
            raise KeyError(f"no bars for ticker {ticker!r}") from None

    def _slice(
        self, field: str, lo: int, hi: int, tickers: list[str] | tuple[str, ...] | None
    ) -> pd.DataFrame:
        full = self._wide_full(field)
        if tickers is None:
            return full.iloc[lo:hi]
        return full.iloc[lo:hi, [self._index_of(t) for t in tickers]]

    def _wide_full(self, field: str) -> pd.DataFrame:
        if field not in FIELDS:
            raise ValueError(f"unknown field {field!r}; expected one of {', '.join(FIELDS)}")
        cached = self._wide.get(field)
        if cached is None:
            grid = np.full((len(self._dates), len(self._tickers)), np.nan)
            grid[self._date_pos, self._codes] = self._bars[field].to_numpy(dtype=np.float64)
            columns = pd.Index(self._tickers, dtype="str", name="ticker")
            cached = pd.DataFrame(grid, index=self._dates, columns=columns)
            self._wide[field] = cached
        return cached


def _bound(
    dates: np.ndarray | pd.DatetimeIndex, when: DateLike | None, side: Literal["left", "right"]
) -> int:
    """Position of ``when`` in sorted ``dates`` (0 for None): first ≥ (left) or first > (right)."""
    if when is None:
        return 0
    stamp = np.datetime64(pd.Timestamp(when).normalize().asm8, "ns")
    return int(np.searchsorted(np.asarray(dates, dtype="datetime64[ns]"), stamp, side=side))


def _date_index(days: np.ndarray) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Sorted unique dates and each row's position in them (O(n): days span is small)."""
    if len(days) == 0:
        return pd.DatetimeIndex([], dtype="datetime64[ns]", name="date"), days
    first = days.min()
    present = np.zeros(int(days.max() - first) + 1, dtype=bool)
    present[days - first] = True
    position = np.cumsum(present) - 1
    unique = (np.flatnonzero(present) + first).astype("datetime64[D]").astype("datetime64[ns]")
    return pd.DatetimeIndex(unique, name="date"), position[days - first]


def _refuse_duplicates(frame: pd.DataFrame, codes: np.ndarray, days: np.ndarray) -> None:
    same = np.flatnonzero((codes[1:] == codes[:-1]) & (days[1:] == days[:-1])) + 1
    if len(same):
        shown = [
            f"duplicate bar ({frame['ticker'].iat[i]}, {frame['date'].iat[i].date()})"
            for i in same[:20]
        ]
        extra = [f"... and {len(same) - 20} more"] if len(same) > 20 else []
        raise DataValidationError(shown + extra)


def _store_universe(universe: pd.DataFrame | None, tickers: list[str]) -> pd.DataFrame:
    """Universe rows of ``tickers`` (sorted); derived ("Unknown" sector) when none is given."""
    if universe is None:
        exchanges = [exchange_for_ticker(t).value for t in tickers]
        return pd.DataFrame(
            {"ticker": tickers, "sector": UNKNOWN_SECTOR, "exchange": exchanges}
        ).astype({"ticker": "str", "sector": "str", "exchange": "str"})
    missing = [col for col in ("ticker", "sector") if col not in universe.columns]
    if missing:
        raise DataValidationError([f"universe frame has no column {col!r}" for col in missing])
    frame = universe.drop_duplicates("ticker").set_index("ticker", drop=False)
    unlisted = [t for t in tickers if t not in frame.index]
    if unlisted:
        head = ", ".join(unlisted[:10]) + (" ..." if len(unlisted) > 10 else "")
        problem = f"{len(unlisted)} ticker(s) with bars but no universe row: {head}"
        raise DataValidationError([problem])
    frame = frame.loc[list(tickers)].reset_index(drop=True)
    if "exchange" not in frame.columns:
        frame.insert(2, "exchange", [exchange_for_ticker(t).value for t in tickers])
    return frame
