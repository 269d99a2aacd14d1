"""Parity: ``quant-agent run --replay`` and ``quant-agent backtest`` over the same days of
the real data produce the same fills (date, ticker, side, quantity, price), on SQLite and
PostgreSQL for the replay's database. Both go through ``build_engine``'s core; the
backtest's own store is a per-run SQLite file. 40 real tickers (+SPY) x 2 months."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from quant_agent.backtest import core_fills
from quant_agent.cli import app

START, END = "2025-02-03", "2025-03-31"


@pytest.fixture(scope="module")
def market(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("parity")
    bars = pd.read_parquet(shared_data / "panel_2520.parquet")
    tickers = sorted(bars["ticker"].unique())
    keep = [*tickers[::12][:40], "SPY"]
    bars = bars[bars["ticker"].isin(keep) & (bars["date"] >= dt.date(2024, 1, 2))]
    path = folder / "bars.parquet"
    bars.to_parquet(path)
    return path, shared_data / "sectors.csv"


@pytest.fixture(scope="module")
def backtest_fills(market: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> list:
    folder = tmp_path_factory.mktemp("bt")
    out = folder / "fills.csv"
    result = CliRunner().invoke(app, [
        "backtest", "--start", START, "--end", END, "--data", str(market[0]),
        "--universe", str(market[1]), "--json", "--fills-out", str(out),
        "--out-dir", str(folder / "runs"),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (folder / "runs" / f"{summary['run_id']}.db").exists()
    assert Path(summary["report"]).exists()
    with out.open() as fh:
        rows = [tuple(r) for r in csv.reader(fh)][1:]
    assert summary["trades"] >= 3 and len(rows) >= 6  # a meaningful comparison
    return rows


@pytest.mark.shared_data
def test_replay_and_backtest_fill_the_same_trades(
    market: tuple[Path, Path], backtest_fills: list, database_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "live.yaml"
    config.write_text(yaml.safe_dump({
        "data": {"source": "files", "daily_path": str(market[0]),
                 "universe_path": str(market[1])},
        "database": {"url": database_url},
    }))  # fmt: skip
    result = CliRunner().invoke(app, ["run", "--replay", f"{START}:{END}", "--json",
                                      "--config", str(config)])  # fmt: skip
    assert result.exit_code == 0, result.output
    replay = core_fills(database_url)
    rows = [tuple(str(v) for v in r) for r in replay.itertuples(index=False)]
    assert rows == backtest_fills
