"""The momentum-top3 preset over the real panel (477 tickers x 2,520 sessions) equals an
independent plain-Python loop of the spec fill for fill. The pinned totals are the ones
backtrader also produces with bench/backtrader_preset.py (see bench/bench_backtest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from quant_agent.backtest_preset import Market, run_preset
from quant_agent.testkit.reference_loop import reference_fills


@pytest.mark.shared_data
def test_the_preset_on_the_real_panel_equals_the_plain_loop(shared_data: Path) -> None:
    m = Market.from_parquet(shared_data / "panel_2520.parquet")
    result = run_preset(m)
    rows, final, trades = reference_fills(m.dates, m.tickers, m.open.tolist(), m.high.tolist(),
                                          m.low.tolist(), m.close.tolist())  # fmt: skip
    assert [f.row() for f in result.fills] == rows
    assert (result.trades, result.final_equity) == (trades, pytest.approx(final, abs=1e-6))
    assert result.bars == 1_202_040
    assert (result.trades, round(result.final_equity, 2), len(rows)) == (992, 486_044.06, 1981)
