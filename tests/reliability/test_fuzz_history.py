"""Fuzzing CSV history: a valid daily-bar file with cells replaced by junk, rows dropped or
repeated, header columns renamed, moved or removed, blank lines, raw bytes and truncation.
``load_daily_bars`` either returns a clean frame (every row sound: positive finite prices,
high/low around open and close, volume >= 0, one row per ticker and day, sorted) or raises
``DataValidationError`` whose every problem names the file (and the line, when it is about
one); nothing half-loaded is ever returned, and no other exception escapes.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import example, given
from hypothesis import strategies as st

from quant_agent.core.errors import DataValidationError
from quant_agent.market.loader import load_daily_bars

from .budget import fuzz_settings

HEADER = ["date", "ticker", "open", "high", "low", "close", "volume"]
DAYS = ["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08"]
ROWS = [[day, ticker, "10.0", "11.0", "9.5", "10.5", "120000"]
        for ticker in ("AAA", "BBB") for day in DAYS]  # fmt: skip
WORK = Path(tempfile.mkdtemp(prefix="qa-fuzz-history-"))

junk_cell = st.one_of(
    st.sampled_from(["", " ", "abc", "-1", "0", "nan", "NaN", "inf", "-inf", "1e400", "1,5",
                     "0x10", "2024-02-30", "20240304", "3000-01-01", "1799-12-31", '"', "''",
                     "\x00", "12.5", "9", "99999999999999999999", "-0", "AAA", "2024-03-04"]),
    st.text(max_size=8),
)  # fmt: skip
edit = st.one_of(
    st.tuples(st.just("cell"), st.integers(0, len(ROWS) - 1), st.integers(0, 6), junk_cell),
    st.tuples(st.just("drop_row"), st.integers(0, len(ROWS) - 1)),
    st.tuples(st.just("repeat_row"), st.integers(0, len(ROWS) - 1)),
    st.tuples(st.just("header"), st.integers(0, 6), st.sampled_from(["", "Date", "CLOSE", "px",
              "open", "extra"])),  # fmt: skip
    st.tuples(st.just("drop_column"), st.integers(0, 6)),
    st.tuples(st.just("blank_line"), st.integers(0, len(ROWS))),
)  # fmt: skip
byte_edit = st.one_of(
    st.tuples(st.just("bytes"), st.integers(0, 400), st.binary(min_size=1, max_size=4)),
    st.tuples(st.just("truncate"), st.integers(0, 400)),
    st.tuples(st.just("bom")),
)


def _text(edits: list[tuple[Any, ...]]) -> str:
    header, rows = list(HEADER), [list(r) for r in ROWS]
    blanks: list[int] = []
    for e in edits:
        kind = e[0]
        if kind == "cell" and int(e[1]) < len(rows):
            rows[e[1]][min(e[2], len(rows[e[1]]) - 1)] = str(e[3])
        elif kind == "drop_row" and int(e[1]) < len(rows):
            del rows[e[1]]
        elif kind == "repeat_row" and int(e[1]) < len(rows):
            rows.append(list(rows[e[1]]))
        elif kind == "header" and int(e[1]) < len(header):
            header[e[1]] = str(e[2])
        elif kind == "drop_column" and int(e[1]) < len(header):
            del header[e[1]]
            for row in rows:
                del row[min(int(e[1]), len(row) - 1)]
        elif kind == "blank_line":
            blanks.append(int(e[1]))
    lines = [",".join(header)] + [",".join(r) for r in rows]
    for at in sorted(blanks, reverse=True):
        lines.insert(min(at + 1, len(lines)), "")
    return "\n".join(lines) + "\n"


def _apply_bytes(raw: bytes, edits: list[tuple[Any, ...]]) -> bytes:
    for e in edits:
        at = min(int(e[1]), len(raw)) if len(e) > 1 else 0
        if e[0] == "bytes":
            raw = raw[:at] + e[2] + raw[at:]
        elif e[0] == "truncate":
            raw = raw[:at]
        else:
            raw = b"\xef\xbb\xbf" + raw
    return raw


def _assert_clean(bars: pd.DataFrame) -> None:
    assert list(bars.columns) == HEADER
    prices = bars[["open", "high", "low", "close"]].to_numpy(dtype=float)
    assert np.isfinite(prices).all() and (prices > 0).all()
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    assert (bars["volume"] >= 0).all() and bars["date"].notna().all()
    assert (bars["ticker"].str.len() > 0).all()
    assert not bars.duplicated(["ticker", "date"]).any()
    assert bars.equals(bars.sort_values(["ticker", "date"], kind="stable").reset_index(drop=True))


@fuzz_settings()
@given(edits=st.lists(edit, max_size=4), raw_edits=st.lists(byte_edit, max_size=2))
# Found by the soak: a numeric column renamed to "date" (pandas warned, and the warning is
# an error for quant_agent code) must be an "unparsable date" per line.
@example(edits=[("header", 0, "open"), ("header", 2, "Date")], raw_edits=[])
def test_a_damaged_csv_loads_clean_or_fails_naming_file_and_line(
    edits: list[tuple[Any, ...]], raw_edits: list[tuple[Any, ...]]
) -> None:
    path = WORK / "bars.csv"
    raw = _apply_bytes(_text(edits).encode("utf-8", "surrogatepass"), raw_edits)
    path.write_bytes(raw)
    try:
        bars = load_daily_bars(path)
    except DataValidationError as exc:
        assert exc.problems
        lines = len(re.split(rb"\r\n|\r|\n", raw))  # a lone CR ends a line too
        for problem in exc.problems:
            if problem.startswith("... and "):
                continue
            assert problem.startswith(str(path)), problem
            for number in re.findall(r": line (\d+)", problem):
                assert 2 <= int(number) <= lines, (problem, lines)
        return
    _assert_clean(bars)
