"""The core-path backtest: its own store per run id, the progress callback, results."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from quant_agent.backtest import fills_frame, run_backtest
from quant_agent.config import LiveTradingConfig
from quant_agent.market.source import load_history
from quant_agent.storage.store import Store

WINDOW = (date(2024, 2, 8), date(2024, 2, 21))


def test_a_run_has_its_own_store_progress_and_results(tmp_path: Path) -> None:
    config = LiveTradingConfig.model_validate({"data": {"demo_tickers": 30}})
    history = load_history(config.data)
    seen: list[tuple[int, int]] = []
    runs = tmp_path / "runs"
    result = run_backtest(config, history, WINDOW, out_dir=runs,
                          progress=lambda d, t: seen.append((d, t)),
                          report=tmp_path / "r.html")  # fmt: skip
    assert result.run_id == "bt-20240208-1" and result.db_path == runs / "bt-20240208-1.db"
    assert seen == [(i, result.days) for i in range(1, result.days + 1)] and result.days == 9
    assert len(result.equity) == result.days
    assert result.report is not None and "Daily report" in result.report.read_text()
    assert result.bars == 30 * 9 + 9  # 30 stocks + SPY
    store = Store.open(f"sqlite:///{result.db_path}", upgrade=False)
    try:
        assert len(fills_frame(store)) == result.summary.fills
    finally:
        store.close()
    again = run_backtest(config, history, WINDOW, out_dir=runs)
    assert again.run_id == "bt-20240208-2"  # a second run never mixes with the first
    assert [t.ticker for t in again.trades] == [t.ticker for t in result.trades]
    with pytest.raises(FileExistsError):
        run_backtest(config, history, WINDOW, out_dir=runs, run_id="bt-20240208-1")
