"""Reading daily-bar files: one CSV/Parquet file or a folder of them, validated and sorted.

Owns ``load_daily_bars`` / ``read_daily_bars`` and the file-level rules: which files a
folder contributes, how a CSV is read (blank lines skipped but counted, so errors name the
true line), and the (ticker, date) sort order every consumer relies on. Row checks live in
``quant_agent.market.validation``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from quant_agent.core.enums import Exchange
from quant_agent.market.validation import (
    ErrorLog,
    ParsedBars,
    ValidationReport,
    build_report,
    empty_bars,
    flag_duplicates,
    parse_bars,
    sort_bars,
    ticker_codes,
)

__all__ = ["load_daily_bars", "read_daily_bars", "sort_bars", "ticker_codes"]

BAR_SUFFIXES = (".csv", ".parquet", ".pq")


def load_daily_bars(
    path: Path | str, exchanges: Mapping[str, Exchange] | None = None
) -> pd.DataFrame:
    """Load daily bars from a CSV/Parquet file or a folder of them (files concatenated).

    Returns columns ``date`` (naive datetime64[ns] session date), ``ticker`` (str),
    ``open, high, low, close`` (float64) and ``volume`` (int64, or float64 if fractional),
    sorted by (ticker, date). Column names are case-insensitive; extra columns are dropped.
    Raises ``DataValidationError`` listing every error (file, row, problem).
    """
    report, bars = read_daily_bars(path, exchanges)
    report.raise_for_errors()
    return bars


def read_daily_bars(
    path: Path | str, exchanges: Mapping[str, Exchange] | None = None
) -> tuple[ValidationReport, pd.DataFrame]:
    """Read and validate without raising: the report, and the bars (sorted) when it is ok."""
    source = str(path)
    files, problems = _bar_files(Path(path))
    parsed: list[ParsedBars] = []
    for file in files:
        try:
            raw = _read_file(file)
        except (OSError, ValueError, pa.ArrowException) as exc:
            problems.append(f"{file}: cannot read file: {exc}")
            continue
        parsed.append(parse_bars(raw, str(file)))
    if problems:
        return _failed(source, problems), empty_bars()
    merged = parsed[0] if len(parsed) == 1 else _merge(parsed)
    flag_duplicates(merged)
    report = build_report(merged, source, exchanges)
    if not report.ok:
        return report, merged.frame
    return report, sort_bars(merged.frame)


def _bar_files(path: Path) -> tuple[list[Path], list[str]]:
    """The bar files at ``path`` (itself, or the CSV/Parquet files inside a folder)."""
    if path.is_dir():
        files = sorted(
            p
            for p in path.iterdir()
            if p.is_file() and p.suffix.lower() in BAR_SUFFIXES and not p.name.startswith(".")
        )
        if not files:
            return [], [f"{path}: no .csv or .parquet files in folder"]
        return files, []
    if not path.exists():
        return [], [f"{path}: no such file or folder"]
    if path.suffix.lower() not in BAR_SUFFIXES:
        return [], [f"{path}: unsupported file type {path.suffix!r} (expected .csv or .parquet)"]
    return [path], []


def _read_file(path: Path) -> pd.DataFrame:
    """Raw frame of one file; its index is the 0-based data row (CSV blank lines skipped)."""
    if path.suffix.lower() == ".csv":
        raw = pd.read_csv(
            path,
            encoding="utf-8-sig",
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            skipinitialspace=True,
        )
        return raw[raw.notna().any(axis=1)] if len(raw) else raw
    return pq.read_table(path).to_pandas(date_as_object=False)


def _merge(parsed: list[ParsedBars]) -> ParsedBars:
    frame = pd.concat([p.frame for p in parsed], ignore_index=True)
    valid = np.concatenate([p.valid_key for p in parsed])
    return ParsedBars(frame, valid, ErrorLog.merge([p.log for p in parsed]))


def _failed(source: str, problems: list[str]) -> ValidationReport:
    return ValidationReport(
        errors=tuple(problems),
        warnings=(),
        rows=0,
        tickers=0,
        first_date=None,
        last_date=None,
        source=source,
    )
