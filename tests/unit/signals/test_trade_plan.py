"""Trade plans: prices on the tick, stop < entry < target, sizing inside every cap."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_agent.core.money import is_on_tick, pct_of
from quant_agent.signals.trade_plan import Account, PlanInput, PlanSettings, plan_trades


def account(equity: str = "100000", cash: str | None = None, open_positions: int = 0) -> Account:
    return Account(equity=Decimal(equity), cash=Decimal(cash or equity),
                   open_positions=open_positions)  # fmt: skip


def test_atr_stop_and_r_multiple_target_with_risk_sizing() -> None:
    plans, reasons = plan_trades(
        [PlanInput(ticker="A", last=50.004, atr=1.25)], account(), PlanSettings()
    )
    plan = plans["A"]
    assert (plan.entry_price, plan.stop_loss, plan.take_profit) == (
        Decimal("50.00"), Decimal("47.50"), Decimal("55.00"),
    )  # fmt: skip
    assert plan.quantity == 400  # 1 % of 100,000 = 1,000 at risk / 2.50 per share
    assert plan.risk == Decimal("1000.00") and reasons == {}


def test_fixed_percentages_round_half_up_to_the_cent_like_the_reference() -> None:
    s = PlanSettings(stop="percent", stop_pct=5, target="percent", target_pct=10,
                     sizing="fixed_fraction", fixed_fraction_pct=40)  # fmt: skip
    plan = plan_trades([PlanInput(ticker="A", last=12.35, atr=0)], account(), s)[0]["A"]
    # 1235 * 95 = 117325 -> 1173.25 -> 11.73; 1235 * 110 = 135850 -> 13.59 (half up)
    assert (plan.stop_loss, plan.take_profit) == (Decimal("11.73"), Decimal("13.59"))
    assert plan.quantity == 3238  # floor(40,000 / 12.35)


def test_limit_entry_is_offset_from_the_last_price() -> None:
    s = PlanSettings(entry="limit", limit_offset_pct=-0.5)
    plan = plan_trades([PlanInput(ticker="A", last=100.0, atr=2.0)], account(), s)[0]["A"]
    assert plan.entry_type == "limit" and plan.entry_price == Decimal("99.50")
    assert plan.stop_loss == Decimal("95.50")


def test_a_plan_that_rounds_to_zero_shares_is_dropped_with_a_reason() -> None:
    plans, reasons = plan_trades(
        [PlanInput(ticker="BIG", last=5000.0, atr=10.0)], account("1000"), PlanSettings()
    )
    assert plans == {} and reasons == {"BIG": "plan rounds to zero shares at 5000.00"}


def test_slots_and_the_cash_reserve_run_out_in_rank_order() -> None:
    s = PlanSettings(sizing="fixed_fraction", fixed_fraction_pct=30, max_positions=3,
                     cap_includes_commission=False)  # fmt: skip
    items = [PlanInput(ticker=t, last=10.0, atr=0.5) for t in ("A", "B", "C", "D")]
    plans, reasons = plan_trades(items, account(open_positions=0), s)
    # A and B take 30,000 (+1 commission each); C gets 39,998 - 20,000 reserve = 19,998
    assert [plans[t].quantity for t in ("A", "B", "C")] == [3000, 3000, 1999]
    assert reasons == {"D": "no free position slot (max_positions 3)"}


def test_no_cash_above_the_reserve_means_no_plan() -> None:
    _, reasons = plan_trades(
        [PlanInput(ticker="A", last=10.0, atr=0.5)], account("100000", cash="20000"),
        PlanSettings(),
    )  # fmt: skip
    assert reasons == {"A": "no cash above the reserve (min_buying_power_pct)"}


def test_a_stop_closer_than_one_tick_is_refused() -> None:
    _, reasons = plan_trades([PlanInput(ticker="A", last=10.0, atr=0.001)], account(),
                             PlanSettings())  # fmt: skip
    assert reasons["A"].startswith("stop rounds to the entry price")


prices = st.floats(0.5, 3000, allow_nan=False)
plan_settings = st.builds(
    PlanSettings,
    stop=st.sampled_from(["atr", "percent"]),
    atr_stop_multiple=st.floats(0.5, 5),
    stop_pct=st.floats(0.5, 30),
    target=st.sampled_from(["r_multiple", "percent"]),
    r_multiple=st.floats(0.5, 5),
    target_pct=st.floats(0.5, 50),
    sizing=st.sampled_from(["risk", "fixed_fraction"]),
    risk_per_trade_pct=st.floats(0.1, 10),
    fixed_fraction_pct=st.floats(1, 100),
    max_position_pct=st.floats(1, 100),
    min_buying_power_pct=st.floats(0, 90),
    max_positions=st.integers(1, 6),
    commission=st.sampled_from([Decimal("0"), Decimal("1.0"), Decimal("4.95")]),
    cap_includes_commission=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(
    equity=st.integers(1_000, 5_000_000),
    cash_share=st.floats(0, 1),
    items=st.lists(st.tuples(prices, st.floats(0.0, 0.2)), min_size=1, max_size=6),
    s=plan_settings,
)
def test_sizing_never_exceeds_the_position_cap_nor_spends_the_reserve(
    equity: int, cash_share: float, items: list[tuple[float, float]], s: PlanSettings
) -> None:
    cash = (Decimal(equity) * Decimal(str(round(cash_share, 4)))).quantize(Decimal("0.01"))
    acct = Account(equity=Decimal(equity), cash=cash, open_positions=0)
    inputs = [PlanInput(ticker=f"T{i}", last=p, atr=p * a) for i, (p, a) in enumerate(items)]

    plans, reasons = plan_trades(inputs, acct, s)

    assert set(plans) | set(reasons) == {i.ticker for i in inputs}
    assert len(plans) <= s.max_positions
    spent = Decimal(0)
    fee = s.commission if s.cap_includes_commission else Decimal(0)
    for item in inputs:  # in rank order, like the sizing
        plan = plans.get(item.ticker)
        if plan is None:
            continue
        assert plan.quantity >= 1
        assert plan.stop_loss < plan.entry_price < plan.take_profit
        assert all(is_on_tick(p) for p in (plan.entry_price, plan.stop_loss, plan.take_profit))
        assert plan.notional <= pct_of(acct.equity, s.max_position_pct)
        assert spent + plan.notional + fee <= acct.cash - pct_of(
            acct.equity, s.min_buying_power_pct
        )
        spent += plan.notional + s.commission


@pytest.mark.parametrize("offset", [0.0, 1.0])
def test_long_plans_keep_stop_below_entry_below_target(offset: float) -> None:
    s = PlanSettings(entry="limit", limit_offset_pct=offset)
    plan = plan_trades([PlanInput(ticker="A", last=0.9, atr=0.01)], account(), s)[0]["A"]
    assert plan.stop_loss < plan.entry_price < plan.take_profit
