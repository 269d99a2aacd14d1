"""The momentum-top3 reference strategy (../shared/reference-strategy.md) is configuration.

Its close-of-day decision (candidates, order, quantities; steps 2 and 3) is computed here
the straightforward way and compared with ``scan_day`` run on the preset configuration:
no code of its own, only settings of the same modules.
"""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quant_agent.config import LiveTradingConfig
from quant_agent.signals.factors import Panel, compute_factors
from quant_agent.signals.scan import Holdings, ScanSettings, scan_day
from quant_agent.signals.trade_plan import Account

PRESET = {
    "trading": {"max_positions": 3, "max_position_pct": 40, "commission_per_trade": 1.0},
    "risk": {"min_buying_power_pct": 20},
    "filters": {"regime_filter": False, "correlation_filter": False, "earnings_filter": False,
                "liquidity_filter": False, "min_score_threshold": 0},
    "signals": {"weights": {"momentum_126": 1.0},
                "factor_minimums": {"momentum_126": 0.0, "close_to_sma_50": 1e-9}},
    "trade_plan": {"stop": "percent", "stop_pct": 5, "target": "percent", "target_pct": 10,
                   "sizing": "fixed_fraction", "fixed_fraction_pct": 40,
                   "cap_includes_commission": False},
}  # fmt: skip


def reference_entries(
    close: np.ndarray, t: int, tickers: tuple[str, ...], held: list[str], cash: float,
    equity: float,
) -> list[tuple[str, int]]:  # fmt: skip
    """Steps 2 and 3 of the reference close, written as the spec reads."""
    candidates = []
    for j in range(len(tickers)):
        mom = close[t, j] / close[t - 126, j] - 1
        sma50 = close[t - 49 : t + 1, j].mean()
        if mom > 0 and close[t, j] > sma50 * (1 + 1e-9):
            candidates.append((-mom, j))
    slots, cash_avail, out = 3 - len(held), cash, []
    for _, j in sorted(candidates):
        if slots == 0:
            break
        if tickers[j] in held:
            continue
        size_value = min(0.40 * equity, cash_avail - 0.20 * equity)
        if size_value <= 0:
            break
        qty = math.floor(size_value / close[t, j])
        if qty < 1:
            continue
        out.append((tickers[j], qty))
        cash_avail -= qty * close[t, j] + 1.0
        slots -= 1
    return out


@pytest.mark.shared_data
def test_the_reference_close_decision_is_the_preset_configuration(shared_data: Path) -> None:
    bars = pd.read_parquet(shared_data / "panel_2520.parquet")
    bars["date"] = pd.to_datetime(bars["date"])
    wide = {f: bars.pivot(index="date", columns="ticker", values=f).astype(float)
            for f in ("open", "high", "low", "close", "volume")}  # fmt: skip
    panel = Panel.from_frames(wide)
    config = LiveTradingConfig.model_validate(PRESET)
    settings = ScanSettings.from_config(
        config.signals, config.filters, config.trade_plan, config.trading, config.risk
    )
    factors = compute_factors(panel, settings.benchmark)
    cases = [
        (200, [], 100_000.0, 100_000.0),
        (900, [panel.tickers[0]], 61_000.0, 101_000.0),
        (1500, [], 37_000.0, 90_000.0),  # the reserve binds at once
        (2519, [panel.tickers[5], panel.tickers[9]], 20_500.0, 100_000.0),
    ]
    seen: list[int] = []
    for t, held, cash, equity in cases:
        holdings = Holdings(
            account=Account(equity=Decimal(str(equity)), cash=Decimal(str(cash)),
                            open_positions=len(held)),
            open_positions=tuple(held),
        )  # fmt: skip
        out = scan_day(panel, settings, holdings, row=t, factors=factors)
        chosen = [(s.ticker, s.trade_plan.quantity) for s in out.signals if s.trade_plan]
        expected = reference_entries(panel.close, t, panel.tickers, held, cash, equity)
        assert chosen == expected
        seen.append(len(expected))
        for s in out.signals:
            if s.trade_plan:
                cents = int(s.trade_plan.entry_price * 100)
                assert s.trade_plan.stop_loss * 100 == (cents * 95 + 50) // 100
                assert s.trade_plan.take_profit * 100 == (cents * 110 + 50) // 100
    assert seen == [3, 2, 2, 1]  # full, held, reserve-bound (a few shares) and one-slot days
