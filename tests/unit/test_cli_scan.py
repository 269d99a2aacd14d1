"""``quant-agent scan``: ranked table or JSON per scored ticker, stored in the database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from quant_agent.cli import app
from quant_agent.core.enums import RunStatus, ScanKind
from quant_agent.storage.store import Store

REQUIRED_FACTORS = {"momentum_126", "sma_50", "sma_200", "rsi_14", "atr_14", "volatility_20"}


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    return {
        "QA_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "QA_DATA__DEMO_TICKERS": "25",
        "QA_DATA__DEMO_START": "2023-01-03",
        "QA_FILTERS__REGIME_FILTER": "false",
        "QA_FILTERS__EARNINGS_FILTER": "false",
    }


def test_scan_json_prints_one_object_per_scored_ticker_and_stores_the_scan(
    env: dict[str, str],
) -> None:
    result = CliRunner().invoke(app, ["scan", "--json", "--asof", "2024-12-20"], env=env)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(rows) == 26  # 25 stocks + SPY, all with a year and more of history
    for row in rows:
        assert {"ticker", "composite_score", "selected", "reasons", "trade_plan", "factors"} <= set(
            row
        )
        assert REQUIRED_FACTORS <= set(row["factors"]) and 0 <= row["composite_score"] <= 100
        assert row["selected"] == (row["trade_plan"] is not None and row["reasons"] == [])
    assert [r["composite_score"] for r in rows] == sorted(
        (r["composite_score"] for r in rows), reverse=True
    )
    assert any(r["selected"] for r in rows)
    store = Store.open(env["QA_DATABASE_URL"])
    with store.unit_of_work() as uow:
        run = uow.scan_runs.latest()
        assert run.kind is ScanKind.PREMARKET and run.status is RunStatus.SUCCEEDED
        assert str(run.asof) == "2024-12-20" and len(uow.signals.for_scan(run.id)) == 26
    store.close()


def test_scan_prints_a_ranked_table(env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["scan", "--kind", "market", "--limit", "5"], env=env)
    assert result.exit_code == 0, result.output
    assert "MARKET scan #1 as of 2024-12-31" in result.output
    assert "26 scored" in result.output and "rank" in result.output


def test_scan_reads_a_data_file_and_universe(env: dict[str, str], tmp_path: Path) -> None:
    from datetime import date

    from quant_agent.market.synthetic import generate_market

    market = generate_market(n_tickers=8, start=date(2023, 1, 3), end=date(2024, 6, 28), seed=2)
    market.bars.to_csv(tmp_path / "bars.csv", index=False)
    market.universe.to_csv(tmp_path / "universe.csv", index=False)
    args = ["scan", "--json", "--data", str(tmp_path / "bars.csv"),
            "--universe", str(tmp_path / "universe.csv")]  # fmt: skip
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert {r["ticker"] for r in rows} == set(market.universe["ticker"])


def test_scan_rejects_an_unknown_kind(env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["scan", "--kind", "weekly"], env=env)
    assert result.exit_code == 2 and "premarket or market" in result.output
