"""Trade plans: entry, stop, target and whole-share quantity for long entries.

Owns ``PlanSettings``, ``Account``, ``TradePlan`` and ``plan_trades``. Floats from the
factor math become ``Decimal`` here, once, through ``quant_agent.core.money``; prices are
rounded to the tick, quantities floored to whole shares. Sizing never exceeds
``max_position_pct`` of equity and never spends the cash reserve
(``min_buying_power_pct`` of equity): each plan's notional (plus its commission when
``cap_includes_commission``) fits in the cash above the reserve left by the better-ranked
plans before it. A plan that rounds to zero shares is dropped with a reason. Pure.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from quant_agent.core.money import ZERO, pct_of, round_to_tick, to_decimal, whole_shares


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanSettings:
    """Every number sizing and pricing need (see the ``trade_plan`` config section)."""

    entry: Literal["last", "limit"] = "last"
    limit_offset_pct: float = 0.0
    stop: Literal["atr", "percent"] = "atr"
    atr_stop_multiple: float = 2.0
    stop_pct: float = 5.0
    target: Literal["r_multiple", "percent"] = "r_multiple"
    r_multiple: float = 2.0
    target_pct: float = 10.0
    sizing: Literal["risk", "fixed_fraction"] = "risk"
    risk_per_trade_pct: float = 1.0
    fixed_fraction_pct: float = 40.0
    max_position_pct: float = 40.0
    min_buying_power_pct: float = 20.0
    max_positions: int = 3
    commission: Decimal = Decimal("1.0")
    cap_includes_commission: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    """The account as sizing sees it: equity, free cash and the number of open positions."""

    equity: Decimal
    cash: Decimal
    open_positions: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanInput:
    """A filtered candidate's last price and ATR, best-ranked first in ``plan_trades``."""

    ticker: str
    last: float
    atr: float


@dataclass(frozen=True, slots=True, kw_only=True)
class TradePlan:
    ticker: str
    entry_type: Literal["last", "limit"]
    entry_price: Decimal
    stop_loss: Decimal
    take_profit: Decimal
    quantity: int

    @property
    def notional(self) -> Decimal:
        return self.entry_price * self.quantity

    @property
    def risk(self) -> Decimal:
        """Money lost if the stop fills at its price."""
        return (self.entry_price - self.stop_loss) * self.quantity

    def as_json(self) -> dict[str, Any]:
        return {
            "entry_type": self.entry_type,
            "entry_price": str(self.entry_price),
            "stop_loss": str(self.stop_loss),
            "take_profit": str(self.take_profit),
            "quantity": self.quantity,
            "notional": str(self.notional),
            "risk": str(self.risk),
        }


def prices(item: PlanInput, s: PlanSettings) -> tuple[Decimal, Decimal, Decimal] | str:
    """Entry, stop and target on the tick, or the reason no valid long plan exists."""
    if not (math.isfinite(item.last) and item.last > 0):
        return "no valid last price"
    last = to_decimal(item.last, field="last")
    entry = round_to_tick(last)
    if s.entry == "limit":
        entry = round_to_tick(last * (1 + to_decimal(s.limit_offset_pct) / 100))
    if s.stop == "atr":
        if not (math.isfinite(item.atr) and item.atr > 0):
            return "no ATR for an ATR stop"
        raw_stop = entry - to_decimal(item.atr, field="atr") * to_decimal(s.atr_stop_multiple)
    else:
        raw_stop = entry * (1 - to_decimal(s.stop_pct) / 100)
    if raw_stop <= ZERO:
        return f"stop {raw_stop:.4f} is not a positive price"
    stop = round_to_tick(raw_stop)
    if stop >= entry:
        return "stop rounds to the entry price (distance below one tick)"
    if s.target == "r_multiple":
        target = round_to_tick(entry + (entry - stop) * to_decimal(s.r_multiple))
    else:
        target = round_to_tick(entry * (1 + to_decimal(s.target_pct) / 100))
    if target <= entry:
        return "target rounds to the entry price"
    return entry, stop, target


Check = Callable[[str, Sequence[str]], str | None]


def plan_trades(
    items: Sequence[PlanInput], account: Account, s: PlanSettings, check: Check | None = None
) -> tuple[dict[str, TradePlan], dict[str, str]]:
    """Plan the candidates in order; return the plans and ``{ticker: reason}`` of the rest.

    ``check(ticker, planned_so_far)``, when given, may veto a candidate with a reason
    before it is sized (the correlation filter).
    """
    plans: dict[str, TradePlan] = {}
    reasons: dict[str, str] = {}
    slots = s.max_positions - account.open_positions
    cash = account.cash
    reserve = pct_of(account.equity, s.min_buying_power_pct)
    position_cap = pct_of(account.equity, s.max_position_pct)
    fee = s.commission if s.cap_includes_commission else ZERO
    for item in items:
        if slots <= 0:
            reasons[item.ticker] = f"no free position slot (max_positions {s.max_positions})"
            continue
        vetoed = check(item.ticker, list(plans)) if check is not None else None
        if vetoed is not None:
            reasons[item.ticker] = vetoed
            continue
        priced = prices(item, s)
        if isinstance(priced, str):
            reasons[item.ticker] = priced
            continue
        entry, stop, target = priced
        budget = min(position_cap, cash - reserve - fee)
        if budget <= ZERO:
            reasons[item.ticker] = "no cash above the reserve (min_buying_power_pct)"
            continue
        wanted = _sized(entry, stop, account.equity, s)
        quantity = min(wanted, whole_shares(budget / entry))
        if quantity < 1:
            reasons[item.ticker] = f"plan rounds to zero shares at {entry}"
            continue
        plans[item.ticker] = TradePlan(
            ticker=item.ticker, entry_type=s.entry, entry_price=entry,
            stop_loss=stop, take_profit=target, quantity=quantity,
        )  # fmt: skip
        cash -= entry * quantity + s.commission
        slots -= 1
    return plans, reasons


def _sized(entry: Decimal, stop: Decimal, equity: Decimal, s: PlanSettings) -> int:
    if s.sizing == "risk":
        return whole_shares(pct_of(equity, s.risk_per_trade_pct) / (entry - stop))
    return whole_shares(pct_of(equity, s.fixed_fraction_pct) / entry)
