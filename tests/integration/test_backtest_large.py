"""Acceptance: a backtest of 10 years x 500 tickers (synthetic market) completes with a
progress bar and writes an HTML report that opens in headless Chromium (the
momentum-top3 preset; the core path is tested for parity on a smaller real window)."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from quant_agent.cli import app
from quant_agent.daily_report import EQUITY_CHART_ID
from quant_agent.market.synthetic import generate_market

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip


def test_ten_years_of_500_tickers_with_progress_and_an_html_report(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("CI installs Debian's chromium (.ci/run)")
        pytest.skip("Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    market = generate_market(500, date(2015, 7, 1), date(2025, 6, 30), seed=7)
    data = tmp_path / "synthetic.parquet"
    market.bars.to_parquet(data)
    report = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["backtest", "--preset", "momentum-top3", "--data",
                                      str(data), "--report", str(report),
                                      "--out-dir", str(tmp_path / "runs")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2514/2514 days" in result.output  # the progress bar, finished
    assert "trades" in result.output and report.exists()
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(report.as_uri())
        page.wait_for_selector(f"#{EQUITY_CHART_ID} .main-svg", timeout=30_000)
        traces = page.locator(f"#{EQUITY_CHART_ID} .scatterlayer .trace").count()
        text = page.locator("body").inner_text()
        browser.close()
    assert errors == []
    assert traces == 1 and "momentum-top3" in text and "round_trips_win_rate" in text
