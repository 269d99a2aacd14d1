"""Row-level validation of tidy daily OHLCV bars, turning raw frames into clean ones.

Owns ``ValidationReport``, ``validate_daily_bars`` and the vectorized checks behind them:
required columns, parsable dates and numbers, duplicate (date, ticker) rows, OHLC
consistency, positive finite prices and non-negative volume. Every error names the source,
the row ("line N" for CSV files, header = line 1; "row N", 0-based, otherwise) and the
problem. Calendar coverage warnings live in ``quant_agent.market.coverage``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from quant_agent.core.enums import Exchange
from quant_agent.core.errors import DataValidationError
from quant_agent.market.coverage import coverage_warnings

REQUIRED_COLUMNS = ("date", "ticker", "open", "high", "low", "close", "volume")
PRICE_COLUMNS = ("open", "high", "low", "close")
MAX_ERROR_LINES = 1000
_MIN_DATE = np.datetime64("1800-01-01")
_MAX_DATE = np.datetime64("2200-01-01")


@dataclass(frozen=True)
class ValidationReport:
    """What a validation found. ``error_count`` counts every error, listed or not."""

    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    rows: int
    tickers: int
    first_date: date | None
    last_date: date | None
    error_count: int = 0
    source: str = ""

    def __post_init__(self) -> None:
        if self.error_count < len(self.errors):
            object.__setattr__(self, "error_count", len(self.errors))

    @property
    def ok(self) -> bool:
        """True when no error was found (warnings allowed)."""
        return self.error_count == 0

    def problems(self) -> list[str]:
        """Listed errors, plus one line saying how many were not listed."""
        extra = self.error_count - len(self.errors)
        tail = [f"... and {extra} more error(s) not listed"] if extra else []
        return [*self.errors, *tail]

    def raise_for_errors(self) -> None:
        """Raise ``DataValidationError`` when the report holds errors."""
        if not self.ok:
            raise DataValidationError(self.problems(), self.warnings)

    def summary(self) -> str:
        """One line: source, counts and date range."""
        span = f"{self.first_date} → {self.last_date}" if self.first_date else "no dates"
        return (
            f"{self.source or 'bars'}: {self.rows:,} rows, {self.tickers:,} tickers, {span}; "
            f"{self.error_count:,} error(s), {len(self.warnings):,} warning(s)"
        )


@dataclass
class ErrorLog:
    """Collects row errors cheaply: counts them all, formats at most ``cap`` of each kind.

    Rows are named from ``numbers`` (0-based position in their file) and the file's name:
    "line number+2" for CSV files, "row number" otherwise.
    """

    sources: list[str]
    source_of: np.ndarray
    numbers: np.ndarray
    cap: int = MAX_ERROR_LINES
    items: list[tuple[int, int, str]] = field(default_factory=list)
    count: int = 0

    def label(self, pos: int) -> str:
        """Name row ``pos`` as "<file>: line N" (CSV) or "<file>: row N"."""
        source = self.sources[int(self.source_of[pos])]
        number = int(self.numbers[pos])
        where = f"line {number + 2}" if source.lower().endswith(".csv") else f"row {number}"
        return f"{source}: {where}"

    def add(self, message: str, source_index: int = 0) -> None:
        """Log a file-level error (no row)."""
        self.count += 1
        self.items.append((source_index, -1, f"{self.sources[source_index]}: {message}"))

    def add_rows(self, mask: np.ndarray, describe: Callable[[int], str]) -> None:
        """Log one error per True row of ``mask``; ``describe(pos)`` says what is wrong."""
        positions = np.flatnonzero(mask)
        self.count += len(positions)
        for pos in positions[: self.cap]:
            p = int(pos)
            source = int(self.source_of[p])
            self.items.append((source, p, f"{self.label(p)}: {describe(p)}"))

    def lines(self) -> tuple[str, ...]:
        """At most ``cap`` messages, in file then row order."""
        ordered = sorted(self.items, key=lambda item: (item[0], item[1]))
        return tuple(message for _, _, message in ordered[: self.cap])

    @classmethod
    def merge(cls, logs: list[ErrorLog]) -> ErrorLog:
        """One log over the concatenation of the logs' rows, in order."""
        merged = cls(
            sources=[s for log in logs for s in log.sources],
            source_of=_concat([log.source_of + k for k, log in enumerate(logs)]),
            numbers=_concat([log.numbers for log in logs]),
        )
        offset = 0
        for k, log in enumerate(logs):
            merged.items += [(k, p + offset if p >= 0 else p, m) for _, p, m in log.items]
            merged.count += log.count
            offset += len(log.numbers)
        return merged


def _concat(arrays: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class ParsedBars:
    """A raw frame after parsing: typed columns, per-row validity and the error log."""

    frame: pd.DataFrame
    valid_key: np.ndarray
    log: ErrorLog


def validate_daily_bars(
    df: pd.DataFrame, source: str, exchanges: Mapping[str, Exchange] | None = None
) -> ValidationReport:
    """Validate a frame of daily bars; errors and warnings name ``source`` and the row.

    Rows are named from ``df.index`` (the 0-based position in the file): "line index+2" when
    ``source`` ends with ``.csv``, else "row index". ``exchanges`` overrides the exchange a
    ticker's sessions are checked against (default: ``.TO``/``.VN`` → TSX, else NYSE).
    """
    parsed = parse_bars(df, source)
    flag_duplicates(parsed)
    return build_report(parsed, source, exchanges)


def build_report(
    parsed: ParsedBars, source: str, exchanges: Mapping[str, Exchange] | None
) -> ValidationReport:
    """Summarise a parsed (and duplicate-checked) frame, adding calendar coverage warnings."""
    frame = parsed.frame
    good = frame if parsed.valid_key.all() else frame[parsed.valid_key]
    warnings: list[str] = []
    if len(good):
        good = sort_bars(good, drop_duplicates=True)
        warnings = coverage_warnings(good, source, exchanges)
    dates = good["date"] if len(good) else pd.Series(dtype="datetime64[ns]")
    return ValidationReport(
        errors=parsed.log.lines(),
        warnings=tuple(warnings),
        rows=len(frame),
        tickers=int(good["ticker"].nunique()) if len(good) else 0,
        first_date=dates.min().date() if len(dates) else None,
        last_date=dates.max().date() if len(dates) else None,
        error_count=parsed.log.count,
        source=source,
    )


def parse_bars(df: pd.DataFrame, source: str) -> ParsedBars:
    """Type the columns of a raw frame and log every row-level error except duplicates."""
    raw = df.rename(columns=lambda name: str(name).strip().lower())
    index = df.index.to_numpy()
    numbers = index if np.issubdtype(index.dtype, np.integer) else np.arange(len(df))
    log = ErrorLog([source], np.zeros(len(df), dtype=np.int64), numbers.astype(np.int64))
    if raw.columns.duplicated().any():
        dups = sorted(set(raw.columns[raw.columns.duplicated()]))
        log.add(f"duplicate column(s) {', '.join(map(repr, dups))} (names are case-insensitive)")
    missing = [col for col in REQUIRED_COLUMNS if col not in raw.columns]
    for col in missing:
        log.add(f"missing required column {col!r} (found: {', '.join(map(str, df.columns))})")
    if log.count:
        empty = ErrorLog([source], np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        empty.items, empty.count = log.items, log.count
        return ParsedBars(empty_bars(), np.zeros(0, dtype=bool), empty)
    raw = raw.loc[:, ~raw.columns.duplicated()]
    dates, date_ok = _parse_dates(raw["date"], log)
    tickers, ticker_ok = _parse_tickers(raw["ticker"], log)
    context = _Context(dates, raw["date"], tickers)
    values = {col: _parse_number(raw[col], col, log, context) for col in REQUIRED_COLUMNS[2:]}
    _check_prices(values, log, context)
    _check_volume(values["volume"], log, context)
    frame = pd.DataFrame(
        {"date": dates, "ticker": tickers, **values}, index=pd.RangeIndex(len(raw))
    )
    frame["volume"] = _volume_column(values["volume"])
    return ParsedBars(frame, date_ok & ticker_ok, log)


def flag_duplicates(parsed: ParsedBars) -> None:
    """Log every (date, ticker) row that repeats an earlier one, naming the first occurrence."""
    frame, log = parsed.frame, parsed.log
    rows = np.flatnonzero(parsed.valid_key)
    if len(rows) < 2:
        return
    codes = pd.factorize(frame["ticker"])[0][rows]
    days = frame["date"].to_numpy()[rows].astype("datetime64[D]").astype(np.int64)
    key = (codes.astype(np.int64) << 32) | (days - days.min())
    dup = pd.Index(key).duplicated(keep="first")
    if not dup.any():
        return
    _, first_idx, inverse = np.unique(key, return_index=True, return_inverse=True)
    first_row = rows[first_idx[inverse]]
    mask = np.zeros(len(frame), dtype=bool)
    mask[rows[dup]] = True
    lookup = dict(zip(rows[dup].tolist(), first_row[dup].tolist(), strict=True))

    def describe(p: int) -> str:
        q = lookup[p]
        first = log.label(q)
        if log.source_of[q] == log.source_of[p]:
            first = first.split(": ")[-1]
        when = pd.Timestamp(frame["date"].iat[p]).date()
        return f"duplicate row for ({when}, {frame['ticker'].iat[p]}), first at {first}"

    log.add_rows(mask, describe)


def sort_bars(bars: pd.DataFrame, drop_duplicates: bool = False) -> pd.DataFrame:
    """``bars`` sorted by (ticker, date) on a fresh RangeIndex (no copy if already sorted).

    With ``drop_duplicates`` only the first row of each (ticker, date) is kept.
    """
    if len(bars) == 0:
        return bars.reset_index(drop=True)
    codes, _ = ticker_codes(bars["ticker"])
    days = bars["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    key = (codes << 32) | (days - days.min())
    step = np.diff(key)
    if (step > 0).all() or (not drop_duplicates and (step >= 0).all()):
        return bars.reset_index(drop=True)
    order = np.argsort(key, kind="stable")
    if drop_duplicates:
        ordered = key[order]
        order = order[np.r_[True, ordered[1:] != ordered[:-1]]]
    return bars.take(order).reset_index(drop=True)


def ticker_codes(tickers: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer code per row (int64) and the sorted unique tickers the codes index."""
    codes, uniques = pd.factorize(tickers)
    names = np.asarray(uniques, dtype=object)
    order = np.argsort(names, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], [str(name) for name in names[order]]


@dataclass(frozen=True)
class _Context:
    """Names a row by ticker and date in messages."""

    dates: np.ndarray
    raw_dates: pd.Series
    tickers: pd.Series

    def __call__(self, p: int) -> str:
        when = self.dates[p]
        shown = str(when)[:10] if not np.isnat(when) else str(self.raw_dates.iat[p])
        return f"{self.tickers.iat[p] or '?'} {shown}"


def _parse_dates(raw: pd.Series, log: ErrorLog) -> tuple[np.ndarray, np.ndarray]:
    """Session dates as naive datetime64[ns] (time of day dropped); log missing/unparsable."""
    missing = raw.isna().to_numpy()
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        parsed = raw.dt.tz_localize(None)
    elif pd.api.types.is_datetime64_dtype(raw.dtype):
        parsed = raw
    elif pd.api.types.is_integer_dtype(raw.dtype):
        parsed = pd.to_datetime(raw.astype(str), format="%Y%m%d", errors="coerce")
    elif pd.api.types.is_numeric_dtype(raw.dtype):  # floats, booleans: never a date
        parsed = pd.to_datetime(raw.astype(str), format="ISO8601", errors="coerce")
    else:
        parsed = pd.to_datetime(raw, format="ISO8601", errors="coerce")
    values = parsed.to_numpy().astype("datetime64[D]")
    bad = ~missing & (np.isnat(values) | (values < _MIN_DATE) | (values >= _MAX_DATE))
    values[bad] = np.datetime64("NaT")
    log.add_rows(missing, lambda p: "missing date")
    log.add_rows(bad, lambda p: f"unparsable date {raw.iat[p]!r} (expected YYYY-MM-DD)")
    return values.astype("datetime64[ns]"), ~(missing | bad)


def _parse_tickers(raw: pd.Series, log: ErrorLog) -> tuple[pd.Series, np.ndarray]:
    """Tickers as a ``str`` Series on a RangeIndex, stripped; log blank ones."""
    text = raw.astype("str").str.strip().fillna("").reset_index(drop=True)
    blank = raw.isna().to_numpy() | (text == "").to_numpy(dtype=bool, na_value=True)
    log.add_rows(blank, lambda p: "missing ticker")
    return text, ~blank


def _parse_number(raw: pd.Series, col: str, log: ErrorLog, ctx: _Context) -> np.ndarray:
    """A numeric column as float64; log missing and unparsable cells."""
    missing = raw.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        values = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.zeros(len(raw), dtype=bool)
    else:
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.isnan(values) & ~missing
    log.add_rows(missing, lambda p: f"{ctx(p)}: missing {col}")
    log.add_rows(bad, lambda p: f"{ctx(p)}: unparsable {col} {raw.iat[p]!r}")
    return np.asarray(values, dtype=np.float64)


def _value_message(ctx: _Context, what: str, values: np.ndarray) -> Callable[[int], str]:
    """Describe row ``p`` as "<ticker date>: <what> <value>"."""
    return lambda p: f"{ctx(p)}: {what} {values[p]}"


def _check_prices(values: dict[str, np.ndarray], log: ErrorLog, ctx: _Context) -> None:
    """Log non-finite / non-positive prices, then OHLC ranges on rows whose prices are sane."""
    sane = np.ones(len(values["open"]), dtype=bool)
    for col in PRICE_COLUMNS:
        v = values[col]
        present = ~np.isnan(v)
        infinite = np.isinf(v)
        nonpos = present & ~infinite & (v <= 0)
        log.add_rows(infinite, _value_message(ctx, f"non-finite {col}", v))
        log.add_rows(nonpos, _value_message(ctx, f"non-positive {col}", v))
        sane &= present & ~infinite & ~nonpos
    o, h, lo, c = (values[col] for col in PRICE_COLUMNS)
    top = np.maximum(o, c)
    bottom = np.minimum(o, c)
    high_bad = sane & (h < top)
    low_bad = sane & (lo > bottom)

    def high_msg(p: int) -> str:
        name, ref = ("open", o[p]) if o[p] > c[p] else ("close", c[p])
        return f"{ctx(p)}: high {float(h[p])} below {name} {float(ref)}"

    def low_msg(p: int) -> str:
        name, ref = ("open", o[p]) if o[p] < c[p] else ("close", c[p])
        return f"{ctx(p)}: low {float(lo[p])} above {name} {float(ref)}"

    log.add_rows(high_bad, high_msg)
    log.add_rows(low_bad, low_msg)


def _check_volume(v: np.ndarray, log: ErrorLog, ctx: _Context) -> None:
    log.add_rows(np.isinf(v), lambda p: f"{ctx(p)}: non-finite volume {v[p]}")
    log.add_rows(v < 0, lambda p: f"{ctx(p)}: negative volume {float(v[p])}")


def _volume_column(v: np.ndarray) -> np.ndarray:
    """Volume as int64 when every value is a finite whole number, else float64."""
    finite = np.isfinite(v)
    if finite.all() and (v == np.round(v)).all() and (np.abs(v) < 2**62).all():
        return v.astype(np.int64)
    return v


def empty_bars() -> pd.DataFrame:
    """An empty frame with the tidy bar schema."""
    return pd.DataFrame(
        {
            "date": pd.Series(dtype="datetime64[ns]"),
            "ticker": pd.Series(dtype="str"),
            **{col: pd.Series(dtype=np.float64) for col in PRICE_COLUMNS},
            "volume": pd.Series(dtype=np.int64),
        }
    )
