"""Each seed risk limit refuses an entry by exactly its rule (recorded in ``risk_events``)
and lets one just under the limit pass; the daily loss limit halts; the trading state
survives a restart and only resume leaves HALTED. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from quant_agent.config import LiveTradingConfig
from quant_agent.core.clock import SimClock
from quant_agent.core.enums import TradingState
from quant_agent.risk_monitor import EntryRequest, PortfolioView, RiskMonitor, calculate_var
from quant_agent.storage.store import Store

D = Decimal
NOW = datetime(2025, 3, 10, 14, 0, tzinfo=UTC)
CONFIG = LiveTradingConfig()  # seed limits: 3 positions, 40 %, 2 %, 60 %, 0.7, 20 %


def correlated(rho: float, n: int = 60) -> pd.DataFrame:
    """Returns of HELD and NEW whose sample correlation is exactly ``rho``."""
    rng = np.random.default_rng(7)
    h = rng.standard_normal(n)
    z = rng.standard_normal(n)
    h = (h - h.mean()) / h.std()
    z = z - z.mean()
    z = z - (z @ h) / (h @ h) * h
    z = z / z.std()
    return pd.DataFrame({"HELD": h * 0.01, "NEW": (rho * h + np.sqrt(1 - rho**2) * z) * 0.01})


def monitor(store: Store, rho: float = 0.0) -> RiskMonitor:
    frame = correlated(rho)
    return RiskMonitor(store, SimClock(NOW), CONFIG.risk, CONFIG.trading,
                       returns=lambda tickers: frame)  # fmt: skip


def view(**kw: object) -> PortfolioView:
    base: dict[str, object] = {"equity": D(100000), "cash": D(100000),
                               "day_start_equity": D(100000)}  # fmt: skip
    base.update(kw)
    return PortfolioView(**base)  # type: ignore[arg-type]


def entry(notional: str, sector: str = "Tech", ticker: str = "NEW") -> EntryRequest:
    return EntryRequest(ticker=ticker, quantity=1, price=D(notional), sector=sector,
                        commission=D("1"))  # fmt: skip


three = {"A": D(10000), "B": D(10000), "C": D(10000)}
sectors3 = {"A": "Energy", "B": "Health", "C": "Utilities"}
tech = {"A": D(30000), "B": D(20000)}

CASES = {
    "max_positions": (
        (entry("10000"), view(cash=D(70000), positions=three, sectors=sectors3)),
        (entry("10000"), view(cash=D(80000), positions=dict(list(three.items())[:2]),
                              sectors=sectors3)),
    ),
    "max_position_pct": ((entry("40000.01"), view()), (entry("40000"), view())),
    "max_daily_loss_pct": (
        (entry("1000"), view(equity=D(98000))),
        (entry("1000"), view(equity=D("98000.01"))),
    ),
    "max_sector_exposure_pct": (
        (entry("10000.01"), view(cash=D(50000), positions=tech,
                                 sectors={"A": "Tech", "B": "Tech"})),
        (entry("10000"), view(cash=D(50000), positions=tech, sectors={"A": "Tech", "B": "Tech"})),
    ),
    "min_buying_power_pct": ((entry("10000"), view(cash=D(30000))),
                             (entry("9999"), view(cash=D(30000)))),
}  # fmt: skip


def rules_recorded(store: Store) -> list[str | None]:
    with store.unit_of_work() as uow:
        return [r.rule for r in uow.risk_events.list(event_type="ENTRY_REJECTED")]


@pytest.mark.parametrize("rule", sorted(CASES))
def test_entry_over_the_limit_is_refused_by_exactly_that_rule(store: Store, rule: str) -> None:
    (request, portfolio), _ = CASES[rule]
    decision = monitor(store).check_pre_trade_risk(request, portfolio)
    assert (decision.approved, decision.rule) == (False, rule), decision.message
    assert rules_recorded(store) == [rule]


@pytest.mark.parametrize("rule", sorted(CASES))
def test_entry_just_under_the_limit_passes(store: Store, rule: str) -> None:
    _, (request, portfolio) = CASES[rule]
    decision = monitor(store).check_pre_trade_risk(request, portfolio)
    assert decision.approved, decision
    assert rules_recorded(store) == []


def test_correlation_above_the_limit_is_refused_and_just_under_passes(store: Store) -> None:
    held = view(cash=D(90000), positions={"HELD": D(10000)}, sectors={"HELD": "Energy"})
    refused = monitor(store, 0.701).check_pre_trade_risk(entry("1000"), held)
    assert (refused.approved, refused.rule) == (False, "max_correlation")
    passed = monitor(store, 0.699).check_pre_trade_risk(entry("1000"), held)
    assert passed.approved
    assert rules_recorded(store) == ["max_correlation"]


def test_daily_loss_limit_halts_and_halt_survives_restart_until_resume(store: Store) -> None:
    risk = monitor(store)
    assert risk.check_daily_loss_limit(view(equity=D(98000)))
    assert risk.state is TradingState.HALTED
    again = monitor(store)
    assert again.state is TradingState.HALTED
    assert not again.check_pre_trade_risk(entry("100"), view()).approved
    again.resume("operator checked the losses")
    assert monitor(store).state is TradingState.RUNNING
    assert monitor(store).check_pre_trade_risk(entry("100"), view()).approved
    with store.unit_of_work() as uow:
        changes = [(r.trading_state, r.event_type) for r in uow.risk_events.list()
                   if r.event_type == "STATE_CHANGED"]  # fmt: skip
    assert changes == [(TradingState.HALTED, "STATE_CHANGED"),
                       (TradingState.RUNNING, "STATE_CHANGED")]  # fmt: skip


def test_paused_refuses_entries_and_survives_restart(store: Store) -> None:
    monitor(store).pause("lunch")
    risk = monitor(store)
    assert risk.state is TradingState.PAUSED
    decision = risk.check_pre_trade_risk(entry("100"), view())
    assert (decision.approved, decision.rule) == (False, "trading_state")


def test_var_historical_and_parametric_agree_on_normal_returns() -> None:
    rng = np.random.default_rng(3)
    returns = pd.DataFrame({"A": rng.normal(0, 0.01, 250), "B": rng.normal(0, 0.02, 250)})
    var = calculate_var({"A": D(10000), "B": D(5000)}, returns)
    assert var.days == 250 and var.historical > 0 and var.parametric > 0
    assert abs(var.historical - var.parametric) / var.parametric < D("0.25")
    # 10k at 1 % and 5k at 2 %, independent: sigma ~ 141, so 95 % VaR ~ 233
    assert D(180) < var.parametric < D(290)
