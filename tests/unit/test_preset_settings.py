"""The settings that let the live core express momentum-top3 (see docs/BACKTEST.md):
fill-anchored brackets, the plan-basis reserve gate and the market-hours scan off."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest

from quant_agent.bracket_anchor import fill_anchored
from quant_agent.config import LiveTradingConfig, ScheduleConfig, TradePlanConfig
from quant_agent.core.enums import OrderRole, OrderType, Side
from quant_agent.core.ids import ClientOrderId, Ticker
from quant_agent.core.order import Order
from quant_agent.risk_monitor import BuyingPowerRule, EntryRequest, PortfolioView
from quant_agent.scheduler import scan_times_on

NOW = datetime(2024, 3, 4, 15, tzinfo=UTC)


def child(role: OrderRole, *, stop: str | None = None, limit: str | None = None) -> Order:
    kind = OrderType.STOP if role is OrderRole.STOP_LOSS else OrderType.LIMIT
    return Order(client_order_id=ClientOrderId("c"), ticker=Ticker("X"), side=Side.SELL,
                 order_type=kind, quantity=10, created_at=NOW, role=role,
                 stop_price=None if stop is None else D(stop),
                 limit_price=None if limit is None else D(limit))  # fmt: skip


@pytest.mark.parametrize(
    ("fill", "stop", "target"),
    [("130.00", "123.50", "143.00"), ("10.50", "9.98", "11.55"), ("22.01", "20.91", "24.21")],
)
def test_fill_anchored_children_are_priced_half_up_from_the_fill(
    fill: str, stop: str, target: str
) -> None:
    plan = TradePlanConfig(stop="percent", stop_pct=5, target="percent", target_pct=10,
                           anchor="fill")  # fmt: skip
    reprice = fill_anchored(plan)
    assert reprice is not None
    cents = int(D(fill) * 100)
    assert D(stop) * 100 == (cents * 95 + 50) // 100  # the reference's integer rule
    assert reprice(D(fill), child(OrderRole.STOP_LOSS, stop="1.00")) == (None, D(stop))
    assert reprice(D(fill), child(OrderRole.TAKE_PROFIT, limit="999")) == (D(target), None)


def test_signal_anchor_keeps_the_plan_and_fill_anchor_needs_percent_exits() -> None:
    assert fill_anchored(TradePlanConfig()) is None
    with pytest.raises(ValueError, match="percent"):
        fill_anchored(TradePlanConfig(anchor="fill"))  # ATR stop


def test_plan_basis_reserve_leaves_out_the_new_entrys_commission() -> None:
    view = PortfolioView(equity=D(100_000), cash=D(100_000), day_start_equity=D(100_000),
                         pending_entries={"A": D("39911")})  # fmt: skip
    # 100,000 - 39,911 - 40,089 = 20,000: exactly the 20 % reserve before the commission
    request = EntryRequest(ticker="B", quantity=1, price=D(40_089), commission=D(1))
    assert BuyingPowerRule(20.0, count_commission=False).check(request, view, NOW) is None
    assert "reserve" in (BuyingPowerRule(20.0).check(request, view, NOW) or "")


def test_market_hours_scan_can_be_off() -> None:
    schedule = ScheduleConfig(market_hours_scan="off")  # type: ignore[arg-type]
    assert [d.kind.value for d in scan_times_on(date(2024, 3, 4), schedule)] == ["PREMARKET"]
    dumped = LiveTradingConfig(schedule=schedule).model_dump(mode="json")["schedule"]
    assert dumped["market_hours_scan"] == "off"
    assert LiveTradingConfig.model_validate({"schedule": dumped}).schedule == schedule
