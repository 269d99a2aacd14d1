"""The trading universe: which tickers exist, their sector, and the exchange they list on.

Owns ``load_universe`` (a CSV or Parquet file of ticker, sector and optional exchange).
When a row gives no exchange it is derived from the symbol by
``quant_agent.market.calendar.exchange_for_ticker`` (``.TO``/``.VN`` → TSX, else NYSE).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from quant_agent.core.enums import Exchange
from quant_agent.core.errors import DataValidationError
from quant_agent.market.calendar import exchange_for_ticker

UNIVERSE_COLUMNS = ("ticker", "sector", "exchange")
_MAX_LISTED = 1000


def exchanges_for_tickers(tickers: Iterable[str]) -> dict[str, Exchange]:
    """Map each (non-empty) ticker to the exchange implied by its symbol."""
    return {ticker: exchange_for_ticker(ticker) for ticker in tickers if ticker.strip()}


def exchange_map(universe: pd.DataFrame) -> dict[str, Exchange]:
    """Ticker → exchange from a loaded universe frame (rows with a known exchange only)."""
    known = {member.value for member in Exchange}
    pairs = zip(universe["ticker"].tolist(), universe["exchange"].tolist(), strict=True)
    return {ticker: Exchange(value) for ticker, value in pairs if ticker and value in known}


def load_universe(path: Path | str) -> pd.DataFrame:
    """Read a universe file into a frame ``ticker, sector, exchange`` (+ any extra columns).

    Raises ``DataValidationError`` listing every problem (file, line and cause).
    """
    frame, problems = read_universe(path)
    if problems:
        raise DataValidationError(problems)
    return frame


def read_universe(path: Path | str) -> tuple[pd.DataFrame, list[str]]:
    """Read and check a universe file; return the clean frame and the problems found."""
    source = str(path)
    path = Path(path)
    if not path.is_file():
        return _empty_universe(), [f"{source}: no such file"]
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            raw = pd.read_csv(
                path, dtype=str, encoding="utf-8-sig", keep_default_na=False, skipinitialspace=True
            )
        elif suffix in {".parquet", ".pq"}:
            raw = pd.read_parquet(path)
        else:
            return _empty_universe(), [f"{source}: unsupported file type {suffix!r}"]
    except (OSError, ValueError) as exc:
        return _empty_universe(), [f"{source}: cannot read file: {exc}"]
    return check_universe(raw, source)


def check_universe(raw: pd.DataFrame, source: str) -> tuple[pd.DataFrame, list[str]]:
    """Check a raw universe frame; return the clean frame (sorted by ticker) and problems.

    Rows are named "line N" (1-based, header = line 1) for CSV sources, else "row N".
    """
    raw = raw.rename(columns=lambda name: str(name).strip().lower())
    missing = [col for col in ("ticker", "sector") if col not in raw.columns]
    if missing:
        names = ", ".join(map(str, raw.columns))
        problems = [f"{source}: missing required column {c!r} (found: {names})" for c in missing]
        return _empty_universe(), problems
    csv = source.lower().endswith(".csv")
    labels = [f"{source}: line {i + 2}" if csv else f"{source}: row {i}" for i in range(len(raw))]
    tickers = _clean_text(raw["ticker"])
    sectors = _clean_text(raw["sector"])
    found: list[tuple[int, str]] = []
    first_seen: dict[str, int] = {}
    for i, (ticker, sector) in enumerate(zip(tickers, sectors, strict=True)):
        if not ticker:
            found.append((i, "empty ticker"))
        elif ticker in first_seen:
            first = labels[first_seen[ticker]].rsplit(": ", 1)[-1]
            found.append((i, f"duplicate ticker {ticker!r} (first at {first})"))
        first_seen.setdefault(ticker, i)
        if not sector:
            found.append((i, f"blank sector for {ticker!r}"))
    exchanges = _exchanges(raw, tickers, found)
    frame = raw.drop(columns=list(UNIVERSE_COLUMNS), errors="ignore")
    frame.insert(0, "exchange", exchanges)
    frame.insert(0, "sector", sectors)
    frame.insert(0, "ticker", tickers)
    frame = frame.sort_values("ticker", kind="stable").reset_index(drop=True)
    found.sort(key=lambda item: item[0])
    problems = [f"{labels[row]}: {what}" for row, what in found]
    return frame, _capped(problems)


def _exchanges(raw: pd.DataFrame, tickers: list[str], found: list[tuple[int, str]]) -> list[str]:
    """Exchange per row: the ``exchange`` column when present and filled, else the suffix rule."""
    given = _clean_text(raw["exchange"]) if "exchange" in raw.columns else [""] * len(tickers)
    known = {member.value for member in Exchange}
    out: list[str] = []
    for i, (ticker, value) in enumerate(zip(tickers, given, strict=True)):
        if not value:
            derived = exchange_for_ticker(ticker) if ticker else Exchange.NYSE
            out.append(derived.value)
        elif value.upper() in known:
            out.append(value.upper())
        else:
            expected = ", ".join(sorted(known))
            found.append(
                (i, f"unknown exchange {value!r} for {ticker!r} (expected one of {expected})")
            )
            out.append(value)
    return out


def _clean_text(column: pd.Series) -> list[str]:
    """Column values as stripped strings, with missing values as ''."""
    return ["" if pd.isna(value) else str(value).strip() for value in column.tolist()]


def _capped(problems: list[str]) -> list[str]:
    if len(problems) <= _MAX_LISTED:
        return problems
    extra = len(problems) - _MAX_LISTED
    return [*problems[:_MAX_LISTED], f"... and {extra} more problem(s) not listed"]


def _empty_universe() -> pd.DataFrame:
    return pd.DataFrame({col: pd.Series(dtype=str) for col in UNIVERSE_COLUMNS})
