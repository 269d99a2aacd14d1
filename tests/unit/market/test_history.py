"""Loading, validating and viewing daily bars: real shared data, bad files, HistoryStore."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quant_agent.core.enums import Exchange
from quant_agent.core.errors import DataValidationError
from quant_agent.market.history import (
    HistoryStore,
    ValidationReport,
    check_files,
    load_daily_bars,
    load_universe,
    read_daily_bars,
    validate_daily_bars,
)

HEADER = "date,ticker,open,high,low,close,volume\n"
GOOD_ROWS = [
    "2020-01-02,AAA,10,11,9,10.5,100",
    "2020-01-03,AAA,10.5,11,10,10.8,200",
    "2020-01-02,BBB,20,21,19,20.5,300",
    "2020-01-03,BBB,20.5,21,20,20.8,400",
]


def write_csv(
    tmp_path: Path, rows: list[str], name: str = "bars.csv", header: str = HEADER
) -> Path:
    path = tmp_path / name
    path.write_text(header + "\n".join(rows) + "\n")
    return path


def load_errors(path: Path) -> list[str]:
    with pytest.raises(DataValidationError) as info:
        load_daily_bars(path)
    return info.value.problems


# ---------------------------------------------------------------- the real shared data


@pytest.fixture(scope="module")
def shared_daily(shared_data: Path) -> tuple[ValidationReport, pd.DataFrame]:
    return read_daily_bars(shared_data / "daily_ohlcv.parquet")


@pytest.mark.shared_data
def test_shared_daily_loads_with_expected_shape(
    shared_daily: tuple[ValidationReport, pd.DataFrame],
) -> None:
    report, bars = shared_daily
    assert report.ok, report.problems()[:5]
    assert (report.rows, report.tickers) == (2_439_592, 524)
    assert (report.first_date, report.last_date) == (date(2005, 1, 3), date(2025, 7, 9))
    assert len(bars) == 2_439_592
    assert list(bars.columns) == ["date", "ticker", "open", "high", "low", "close", "volume"]
    assert bars["date"].dtype == np.dtype("datetime64[ns]")
    assert bars["volume"].dtype == np.int64
    assert all(bars[c].dtype == np.float64 for c in ("open", "high", "low", "close"))
    key = pd.MultiIndex.from_arrays([bars["ticker"], bars["date"]])
    assert key.is_monotonic_increasing


@pytest.mark.shared_data
def test_shared_daily_warns_about_known_gaps_and_zero_volume(
    shared_daily: tuple[ValidationReport, pd.DataFrame],
) -> None:
    report, _ = shared_daily
    text = "\n".join(report.warnings)
    assert "269 XNYS session(s) missing" in text
    assert "2011-02-17" in text
    assert "CHTR: 25 missing XNYS session(s)" in text
    assert "255 zero-volume day(s)" in text
    assert "2010-04-26" in text
    assert "not XNYS sessions" not in text  # README: no row on a non-session date


@pytest.mark.shared_data
def test_shared_sectors_csv_loads(
    shared_data: Path, shared_daily: tuple[ValidationReport, pd.DataFrame]
) -> None:
    universe = load_universe(shared_data / "sectors.csv")
    assert len(universe) == 524
    assert list(universe.columns[:3]) == ["ticker", "sector", "exchange"]
    assert set(universe["exchange"]) == {"NYSE"}
    assert universe.set_index("ticker").loc["SPY", "sector"] == "Broad US equity"
    assert "name" in universe.columns
    assert set(universe["ticker"]) == set(shared_daily[1]["ticker"].unique())


@pytest.mark.shared_data
def test_shared_panel_2520_loads(shared_data: Path) -> None:
    report, bars = read_daily_bars(shared_data / "panel_2520.parquet")
    assert report.ok
    assert (report.rows, report.tickers) == (1_202_040, 477)
    assert report.first_date == date(2015, 7, 1)
    assert bars.groupby("ticker").size().eq(2520).all()


@pytest.mark.shared_data
def test_shared_check_files_and_store(
    shared_data: Path, shared_daily: tuple[ValidationReport, pd.DataFrame]
) -> None:
    result = check_files(shared_data / "daily_ohlcv.parquet", shared_data / "sectors.csv")
    assert result.ok and result.exit_code == 0
    assert "result: OK" in result.render()
    store = HistoryStore(shared_daily[1], load_universe(shared_data / "sectors.csv"))
    close = store.wide("close")
    assert close.shape == (5161, 524)
    assert store.sector("AAPL") == "Information Technology"
    assert np.isnan(close.loc["2011-02-17", "ACGL"])  # one of the 210 gaps on that day
    assert close.loc["2011-02-17", "AAPL"] > 0
    assert close.loc["2025-07-09", "XLK"] == pytest.approx(128.56, abs=0.01)


# ---------------------------------------------------------------- bad CSV files


def test_duplicate_row_names_file_line_and_first_occurrence(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [*GOOD_ROWS, "2020-01-03,AAA,10.5,11,10,10.8,200"])
    (problem,) = load_errors(path)
    assert problem == (f"{path}: line 6: duplicate row for (2020-01-03, AAA), first at line 3")


def test_high_below_close_is_named(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [GOOD_ROWS[0], "2020-01-03,AAA,10.2,10.0,9.5,10.5,200"])
    (problem,) = load_errors(path)
    assert problem == f"{path}: line 3: AAA 2020-01-03: high 10.0 below close 10.5"


def test_low_above_open_is_named(tmp_path: Path) -> None:
    path = write_csv(tmp_path, ["2020-01-03,AAA,10.0,11.0,10.2,10.5,200"])
    (problem,) = load_errors(path)
    assert problem.endswith("line 2: AAA 2020-01-03: low 10.2 above open 10.0")


def test_negative_price_is_named(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [*GOOD_ROWS, "2020-01-06,AAA,10,11,-1,10.5,100"])
    (problem,) = load_errors(path)
    assert problem == f"{path}: line 6: AAA 2020-01-06: non-positive low -1.0"


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path, ["2020-01-02,AAA,10,11,9,10.5"], header="date,ticker,open,high,low,close\n"
    )
    (problem,) = load_errors(path)
    assert problem.startswith(f"{path}: missing required column 'volume'")


def test_unparsable_values_missing_values_and_negative_volume(tmp_path: Path) -> None:
    rows = [
        "2020-13-45,AAA,10,11,9,10.5,100",
        "2020-01-03,AAA,abc,11,9,10.5,100",
        "2020-01-06,AAA,10,11,9,,100",
        "2020-01-07,AAA,10,11,9,inf,100",
        "2020-01-08,AAA,10,11,9,10.5,-5",
        "2020-01-09,,10,11,9,10.5,100",
    ]
    problems = load_errors(write_csv(tmp_path, rows))
    expected = [
        "line 2: unparsable date '2020-13-45'",
        "line 3: AAA 2020-01-03: unparsable open 'abc'",
        "line 4: AAA 2020-01-06: missing close",
        "line 5: AAA 2020-01-07: non-finite close inf",
        "line 6: AAA 2020-01-08: negative volume -5.0",
        "line 7: missing ticker",
    ]
    assert len(problems) == len(expected)
    for problem, fragment in zip(problems, expected, strict=True):
        assert fragment in problem


def test_blank_lines_do_not_shift_line_numbers(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [GOOD_ROWS[0], "", "", "2020-01-03,AAA,10.2,10.0,9.5,10.5,200"])
    (problem,) = load_errors(path)
    assert ": line 5: " in problem


def test_column_names_are_case_insensitive_and_extras_ignored(tmp_path: Path) -> None:
    header = "Ticker,DATE,Open,High,Low,Close,Volume,Adj Close\n"
    rows = ["BBB,2020-01-03,20.5,21,20,20.8,400,1", "AAA,2020-01-02,10,11,9,10.5,100,1"]
    bars = load_daily_bars(write_csv(tmp_path, rows, header=header))
    assert list(bars.columns) == ["date", "ticker", "open", "high", "low", "close", "volume"]
    assert bars["ticker"].tolist() == ["AAA", "BBB"]  # sorted by (ticker, date)
    assert bars["date"].tolist() == [pd.Timestamp("2020-01-02"), pd.Timestamp("2020-01-03")]
    assert bars["volume"].dtype == np.int64


def test_compact_integer_dates_and_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "stooq.csv"
    path.write_text("\ufeff" + HEADER + "20200102,AAA,10,11,9,10.5,100\n", encoding="utf-8")
    bars = load_daily_bars(path)
    assert bars["date"].tolist() == [pd.Timestamp("2020-01-02")]


def test_parquet_rows_are_zero_based(tmp_path: Path) -> None:
    frame = pd.read_csv(write_csv(tmp_path, GOOD_ROWS))
    frame.loc[2, "high"] = 5.0
    path = tmp_path / "bars.parquet"
    frame.to_parquet(path)
    (problem,) = load_errors(path)
    assert problem == f"{path}: row 2: BBB 2020-01-02: high 5.0 below close 20.5"


def test_folder_concatenates_and_names_duplicates_across_files(tmp_path: Path) -> None:
    write_csv(tmp_path, GOOD_ROWS[:2], name="a.csv")
    write_csv(tmp_path, GOOD_ROWS[2:], name="b.csv")
    assert len(load_daily_bars(tmp_path)) == 4
    write_csv(tmp_path, [GOOD_ROWS[3], GOOD_ROWS[1]], name="c.csv")
    problems = load_errors(tmp_path)
    assert problems == [
        f"{tmp_path / 'c.csv'}: line 2: duplicate row for (2020-01-03, BBB), "
        f"first at {tmp_path / 'b.csv'}: line 3",
        f"{tmp_path / 'c.csv'}: line 3: duplicate row for (2020-01-03, AAA), "
        f"first at {tmp_path / 'a.csv'}: line 3",
    ]


def test_missing_file_and_empty_folder(tmp_path: Path) -> None:
    assert "no such file" in load_errors(tmp_path / "nope.csv")[0]
    (tmp_path / "empty").mkdir()
    assert "no .csv or .parquet files" in load_errors(tmp_path / "empty")[0]


def test_error_lines_are_capped_but_all_counted() -> None:
    n = 1500
    frame = pd.DataFrame(
        {
            "date": pd.bdate_range("2010-01-04", periods=n),
            "ticker": "AAA",
            "open": 10.0,
            "high": 9.0,
            "low": 8.0,
            "close": 9.5,
            "volume": 1,
        }
    )
    report = validate_daily_bars(frame, "x.parquet")
    assert report.error_count == n
    assert len(report.errors) == 1000
    assert report.problems()[-1] == "... and 500 more error(s) not listed"
    with pytest.raises(DataValidationError) as info:
        report.raise_for_errors()
    assert "1001 data error(s)" in str(info.value)


# ---------------------------------------------------------------- warnings


def test_calendar_and_zero_volume_warnings(tmp_path: Path) -> None:
    rows = [
        "2020-06-30,AAA,10,11,9,10.5,100",
        "2020-07-02,AAA,10,11,9,10.5,0",  # NYSE was open on 2020-07-01 (Canada Day)
        "2020-07-04,AAA,10,11,9,10.5,100",  # a Saturday
        "2020-06-30,ABC.TO,10,11,9,10.5,100",
        "2020-07-02,ABC.TO,10,11,9,10.5,100",  # TSX was closed on 2020-07-01
    ]
    report, _ = read_daily_bars(write_csv(tmp_path, rows))
    assert report.ok
    path = tmp_path / "bars.csv"
    assert report.warnings == (
        f"{path}: 1 XNYS session(s) missing inside their ticker's date range, over 1 ticker(s)",
        f"{path}: AAA: 1 missing XNYS session(s) between 2020-06-30 and 2020-07-04: 2020-07-01",
        f"{path}: AAA: 1 row(s) on dates that are not XNYS sessions: 2020-07-04",
        f"{path}: 1 zero-volume day(s) over 1 ticker(s)",
        f"{path}: AAA: 1 zero-volume day(s): 2020-07-02",
    )


def test_exchange_override_changes_the_calendar() -> None:
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2020-06-30", "2020-07-02"]),
            "ticker": ["AAA", "AAA"],
            "open": 10.0,
            "high": 11.0,
            "low": 9.0,
            "close": 10.0,
            "volume": 5,
        }
    )
    assert validate_daily_bars(frame, "f.parquet").warnings
    assert not validate_daily_bars(frame, "f.parquet", {"AAA": Exchange.TSX}).warnings


# ---------------------------------------------------------------- universe files


def test_universe_exchange_from_column_or_suffix(tmp_path: Path) -> None:
    path = tmp_path / "universe.csv"
    path.write_text(
        "Ticker,Sector,Exchange,name\n"
        "RY.TO,Financials,,Royal Bank\n"
        "AAA,Energy,,A\n"
        "BBB,Energy,tsx,B\n"
    )
    universe = load_universe(path)
    assert universe[["ticker", "exchange"]].values.tolist() == [
        ["AAA", "NYSE"],
        ["BBB", "TSX"],
        ["RY.TO", "TSX"],
    ]
    assert universe["name"].tolist() == ["A", "B", "Royal Bank"]


def test_universe_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "universe.csv"
    path.write_text(
        "ticker,sector,exchange\nAAA,Energy,NYSE\n,Energy,NYSE\nAAA,Utilities,\nCCC, ,\n"
        "DDD,Energy,LSE\n"
    )
    with pytest.raises(DataValidationError) as info:
        load_universe(path)
    assert info.value.problems == [
        f"{path}: line 3: empty ticker",
        f"{path}: line 4: duplicate ticker 'AAA' (first at line 2)",
        f"{path}: line 5: blank sector for 'CCC'",
        f"{path}: line 6: unknown exchange 'LSE' for 'DDD' (expected one of NYSE, TSX)",
    ]


def test_universe_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "universe.csv"
    path.write_text("ticker,name\nAAA,A\n")
    with pytest.raises(DataValidationError) as info:
        load_universe(path)
    assert info.value.problems == [
        f"{path}: missing required column 'sector' (found: ticker, name)"
    ]


def test_check_files_cross_checks_universe(tmp_path: Path) -> None:
    bars = write_csv(tmp_path, GOOD_ROWS)
    universe = tmp_path / "universe.csv"
    universe.write_text("ticker,sector\nAAA,Energy\nZZZ,Energy\n")
    result = check_files(bars, universe)
    assert not result.ok and result.exit_code == 1
    assert result.cross_errors == ("1 ticker(s) with bars but no universe row: BBB",)
    assert result.cross_warnings == ("1 universe ticker(s) without bars: ZZZ",)
    assert "result: FAILED (1 error(s))" in str(result)


def test_check_files_reports_bad_bars_without_raising(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [GOOD_ROWS[0], GOOD_ROWS[0]])
    result = check_files(path)
    assert not result.ok
    assert "duplicate row for (2020-01-02, AAA)" in result.render()


# ---------------------------------------------------------------- HistoryStore


@pytest.fixture
def small_store() -> HistoryStore:
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(
                ["2020-01-06", "2020-01-02", "2020-01-03", "2020-01-02", "2020-01-06"]
            ),
            "ticker": ["AAA", "AAA", "AAA", "BBB", "BBB"],
            "open": [3.0, 1.0, 2.0, 10.0, 30.0],
            "high": [3.5, 1.5, 2.5, 10.5, 30.5],
            "low": [2.5, 0.5, 1.5, 9.5, 29.5],
            "close": [3.1, 1.1, 2.1, 10.1, 30.1],
            "volume": [300, 100, 200, 1000, 3000],
        }
    )
    universe = pd.DataFrame({"ticker": ["BBB", "AAA", "CCC"], "sector": ["Energy", "Tech", "X"]})
    return HistoryStore(frame, universe)


def test_store_wide_is_float_with_nan_where_missing(small_store: HistoryStore) -> None:
    close = small_store.wide("close")
    assert close.index.tolist() == list(pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-06"]))
    assert close.columns.tolist() == ["AAA", "BBB"]
    assert (close.dtypes == np.float64).all()
    assert close["AAA"].tolist() == [1.1, 2.1, 3.1]
    assert close.loc["2020-01-02", "BBB"] == 10.1
    assert np.isnan(close.loc["2020-01-03", "BBB"])
    volume = small_store.wide("volume", tickers=["BBB"], end=date(2020, 1, 3))
    assert volume.shape == (2, 1) and volume.dtypes.iloc[0] == np.float64


def test_store_wide_selection_and_isolation(small_store: HistoryStore) -> None:
    sub = small_store.wide("open", tickers=["BBB", "AAA"], start="2020-01-03")
    assert sub.columns.tolist() == ["BBB", "AAA"]
    assert len(sub) == 2
    full = small_store.wide("open")
    full.iloc[0, 0] = -99.0
    assert small_store.wide("open").iloc[0, 0] == 1.0
    with pytest.raises(KeyError, match="ZZZ"):
        small_store.wide("open", tickers=["ZZZ"])
    with pytest.raises(ValueError, match="unknown field"):
        small_store.wide("adj_close")


def test_store_bars_and_metadata(small_store: HistoryStore) -> None:
    bbb = small_store.bars("BBB")
    assert bbb.index.name == "date"
    assert bbb.columns.tolist() == ["open", "high", "low", "close", "volume"]
    assert bbb["close"].tolist() == [10.1, 30.1]
    assert small_store.bars("AAA", start="2020-01-03", end="2020-01-03")["close"].tolist() == [2.1]
    assert small_store.tickers == ("AAA", "BBB")
    assert small_store.last_date == pd.Timestamp("2020-01-06")
    assert small_store.sector("AAA") == "Tech"
    assert small_store.exchange("AAA") is Exchange.NYSE
    assert small_store.universe["ticker"].tolist() == ["AAA", "BBB"]
    with pytest.raises(KeyError):
        small_store.bars("CCC")


def test_store_panel_and_window(small_store: HistoryStore) -> None:
    panel = small_store.panel(end="2020-01-05")
    assert set(panel) == {"open", "high", "low", "close", "volume"}
    assert all(len(frame) == 2 for frame in panel.values())
    window = small_store.window(end="2020-01-06", sessions=2)
    assert window["close"].index.tolist() == list(pd.to_datetime(["2020-01-03", "2020-01-06"]))
    assert len(small_store.window(end="2019-12-31", sessions=5)["close"]) == 0


def test_store_refuses_duplicates_and_unlisted_tickers(small_store: HistoryStore) -> None:
    frame = small_store.bars("AAA").reset_index().assign(ticker="AAA")
    with pytest.raises(DataValidationError, match="duplicate bar"):
        HistoryStore(pd.concat([frame, frame.iloc[:1]]))
    with pytest.raises(DataValidationError, match="no universe row: AAA"):
        HistoryStore(frame, pd.DataFrame({"ticker": ["BBB"], "sector": ["Energy"]}))
    default = HistoryStore(frame)
    assert default.sector("AAA") == "Unknown"


def test_store_from_files(tmp_path: Path) -> None:
    bars = write_csv(tmp_path, GOOD_ROWS)
    universe = tmp_path / "universe.csv"
    universe.write_text("ticker,sector\nAAA,Energy\nBBB,Utilities\n")
    store = HistoryStore.from_files(bars, universe)
    assert store.sector("BBB") == "Utilities"
    assert store.wide("close").shape == (2, 2)
