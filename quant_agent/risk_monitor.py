"""The risk monitor: the pre-trade gate and the one writer of the trading state.

``check_pre_trade_risk`` is the only door to a new entry (the executor calls it inside
``execute_entry``, right before any order exists). It applies, in order, the trading state
(PAUSED or HALTED refuse every entry), then each limit as a small rule object that gets
the request, the portfolio and ``now``, and names itself when it refuses. Exits never pass
through here: they are always allowed.

Trading state: RUNNING, PAUSED (by the user), HALTED (by a breach or the user). Monitors
only tighten it; only ``resume`` loosens it. The state lives in ``system_state`` so it
survives restarts. Every refusal, breach and state change is a ``risk_events`` row (and a
``RiskBreach`` / ``TradingStateChanged`` event on the bus when one is given). Pure apart
from the store; time comes in as ``now`` or from the injected clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

import numpy as np
import pandas as pd

from quant_agent.config import RiskConfig, TradingConfig
from quant_agent.core.bus import EventBus
from quant_agent.core.clock import Clock
from quant_agent.core.enums import Severity, TradingState
from quant_agent.core.events import RiskBreach, TradingStateChanged
from quant_agent.core.money import ZERO, pct_of
from quant_agent.core.records import RiskEventRecord
from quant_agent.storage.store import Store

STATE_KEY = "trading_state"
DAY_KEY = "risk.day_start"
VAR_KEY = "risk.var"  # the latest 1-day 95 % VaR (historical and parametric)

#: Daily returns of tickers up to now (rows: days, columns: tickers), for correlation/VaR.
ReturnsProvider = Callable[[Sequence[str]], pd.DataFrame | None]


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryRequest:
    """A proposed long entry: what the trade plan wants to buy."""

    ticker: str
    quantity: int
    price: Decimal
    sector: str | None = None
    commission: Decimal = ZERO

    @property
    def notional(self) -> Decimal:
        return self.price * self.quantity


@dataclass(frozen=True, slots=True, kw_only=True)
class PortfolioView:
    """The account as the gate sees it (open positions plus entries still working)."""

    equity: Decimal
    cash: Decimal
    day_start_equity: Decimal
    positions: dict[str, Decimal] = field(default_factory=dict)  # ticker -> market value
    sectors: dict[str, str] = field(default_factory=dict)  # ticker -> sector
    pending_entries: dict[str, Decimal] = field(default_factory=dict)  # ticker -> notional

    def sector_exposure(self, sector: str) -> Decimal:
        held = sum((v for t, v in self.positions.items() if self.sectors.get(t) == sector), ZERO)
        pending = sum(
            (v for t, v in self.pending_entries.items() if self.sectors.get(t) == sector), ZERO
        )
        return held + pending


@dataclass(frozen=True, slots=True)
class RiskDecision:
    approved: bool
    rule: str | None = None
    message: str = ""


class RiskRule(Protocol):
    @property
    def name(self) -> str: ...

    def check(self, request: EntryRequest, view: PortfolioView, now: datetime) -> str | None:
        """Return why the entry must be refused, or None."""
        ...


@dataclass(frozen=True, slots=True)
class MaxPositionsRule:
    limit: int
    name: str = "max_positions"

    def check(self, request: EntryRequest, view: PortfolioView, now: datetime) -> str | None:
        count = len(set(view.positions) | set(view.pending_entries))
        if count >= self.limit:
            return f"{count} positions open or pending, max_positions is {self.limit}"
        return None


@dataclass(frozen=True, slots=True)
class MaxPositionPctRule:
    pct: float
    name: str = "max_position_pct"

    def check(self, request: EntryRequest, view: PortfolioView, now: datetime) -> str | None:
        cap = pct_of(view.equity, self.pct)
        if request.notional > cap:
            return f"entry {request.notional} is above {self.pct}% of equity ({cap})"
        return None


@dataclass(frozen=True, slots=True)
class DailyLossRule:
    pct: float
    name: str = "max_daily_loss_pct"

    def check(self, request: EntryRequest, view: PortfolioView, now: datetime) -> str | None:
        return daily_loss_problem(view, self.pct)


@dataclass(frozen=True, slots=True)
class SectorExposureRule:
    pct: float
    name: str = "max_sector_exposure_pct"

    def check(self, request: EntryRequest, view: PortfolioView, now: datetime) -> str | None:
        if request.sector is None:
            return None
        after = view.sector_exposure(request.sector) + request.notional
        cap = pct_of(view.equity, self.pct)
        if after > cap:
            return f"sector {request.sector} would hold {after}, above {self.pct}% ({cap})"
        return None


@dataclass(frozen=True, slots=True)
class CorrelationRule:
    limit: float
    returns: ReturnsProvider
    min_overlap: int = 20
    name: str = "max_correlation"

    def check(self, request: EntryRequest, view: PortfolioView, now: datetime) -> str | None:
        held = sorted((set(view.positions) | set(view.pending_entries)) - {request.ticker})
        if not held:
            return None
        frame = self.returns([request.ticker, *held])
        if frame is None or request.ticker not in frame:
            return None
        for other in held:
            if other not in frame:
                continue
            pair = frame[[request.ticker, other]].dropna()
            if len(pair) < self.min_overlap:
                continue
            corr = float(np.corrcoef(pair.iloc[:, 0], pair.iloc[:, 1])[0, 1])
            if math.isfinite(corr) and corr > self.limit:
                return f"correlation {corr:.2f} with {other} is above {self.limit}"
        return None


@dataclass(frozen=True, slots=True)
class BuyingPowerRule:
    pct: float
    name: str = "min_buying_power_pct"
    count_commission: bool = True  # False: ``risk.reserve_basis: plan``

    def check(self, request: EntryRequest, view: PortfolioView, now: datetime) -> str | None:
        committed = sum(view.pending_entries.values(), ZERO)
        commission = request.commission if self.count_commission else ZERO
        left = view.cash - committed - request.notional - commission
        reserve = pct_of(view.equity, self.pct)
        if left < reserve:
            return f"cash after the entry {left} is below the reserve {reserve} ({self.pct}%)"
        return None


def daily_loss_problem(view: PortfolioView, pct: float) -> str | None:
    """Why the day's loss (equity vs start-of-day equity) reached ``pct``%, or None."""
    loss = view.day_start_equity - view.equity
    limit = pct_of(view.day_start_equity, pct)
    if loss >= limit > ZERO:
        return f"daily loss {loss} reached {pct}% of start-of-day equity ({limit})"
    return None


@dataclass(frozen=True, slots=True)
class VaR:
    historical: Decimal  # 1-day loss not exceeded on 95 % of days, from past returns
    parametric: Decimal  # the same from a normal fit (mean, std) of the portfolio returns
    days: int


def calculate_var(
    values: dict[str, Decimal], returns: pd.DataFrame | None, confidence: float = 0.95,
    lookback: int = 250,
) -> VaR:  # fmt: skip
    """1-day VaR of holdings ``values`` from the last ``lookback`` daily returns."""
    tickers = [t for t in values if returns is not None and t in returns]
    if returns is None or not tickers:
        return VaR(ZERO, ZERO, 0)
    frame = returns[tickers].tail(lookback).fillna(0.0)
    weights = np.array([float(values[t]) for t in tickers])
    pnl = frame.to_numpy() @ weights
    hist = -float(np.quantile(pnl, 1 - confidence))
    z = 1.6448536269514722 if confidence == 0.95 else float(_z(confidence))
    param = -(float(pnl.mean()) - z * float(pnl.std(ddof=1))) if len(pnl) > 1 else 0.0
    return VaR(_money(hist), _money(param), len(pnl))


def _money(value: float) -> Decimal:
    return Decimal(str(round(max(value, 0.0), 2)))


def _z(confidence: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(confidence)


class RiskMonitor:
    """The pre-trade gate, portfolio monitors and the trading state (module docstring)."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        risk: RiskConfig,
        trading: TradingConfig,
        *,
        returns: ReturnsProvider = lambda tickers: None,
        bus: EventBus | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._risk = risk
        self._bus = bus
        self._returns = returns
        self.rules: tuple[RiskRule, ...] = (
            DailyLossRule(risk.max_daily_loss_pct),
            MaxPositionsRule(trading.max_positions),
            MaxPositionPctRule(trading.max_position_pct),
            SectorExposureRule(risk.max_sector_exposure_pct),
            CorrelationRule(risk.max_correlation, returns),
            BuyingPowerRule(
                risk.min_buying_power_pct, count_commission=risk.reserve_basis == "conservative"
            ),
        )
        with store.unit_of_work() as uow:
            saved = uow.system_state.get(STATE_KEY)
            day = uow.system_state.get(DAY_KEY)
        self._state = TradingState(saved["state"]) if saved else TradingState.RUNNING
        self._day: tuple[date, Decimal] | None = (
            (date.fromisoformat(day["day"]), Decimal(day["equity"])) if day else None
        )

    @property
    def state(self) -> TradingState:
        return self._state

    @property
    def entries_allowed(self) -> bool:
        return self._state is TradingState.RUNNING

    # --- the gate ----------------------------------------------------------------------

    def check_pre_trade_risk(self, request: EntryRequest, view: PortfolioView) -> RiskDecision:
        """Apply the state and every rule; record and return the first refusal."""
        now = self._clock.now()
        if self._state is not TradingState.RUNNING:
            decision = RiskDecision(False, "trading_state", f"trading is {self._state}")
            self._record("ENTRY_REJECTED", decision, request, Severity.INFO)
            return decision
        for rule in self.rules:
            problem = rule.check(request, view, now)
            if problem is not None:
                decision = RiskDecision(False, rule.name, problem)
                self._record("ENTRY_REJECTED", decision, request, Severity.WARNING)
                if isinstance(rule, DailyLossRule):
                    self._loss_breach(problem)
                return decision
        return RiskDecision(True)

    def _record(
        self, kind: str, decision: RiskDecision, request: EntryRequest, severity: Severity
    ) -> None:
        details = {"ticker": request.ticker, "quantity": request.quantity,
                   "price": str(request.price), "sector": request.sector}  # fmt: skip
        self.send_risk_alert(decision.rule or "", decision.message, severity, details, kind)

    # --- monitors ----------------------------------------------------------------------

    def start_day(self, day: date, equity: Decimal) -> bool:
        """Remember the start-of-day equity of ``day`` once; True when a new day began."""
        if self._day is not None and self._day[0] >= day:
            return False
        with self._store.unit_of_work() as uow:  # stored first: a failed write is retried
            value = {"day": day.isoformat(), "equity": str(equity)}
            uow.system_state.set(DAY_KEY, value, self._clock.now())
        self._day = (day, equity)
        return True

    @property
    def day_start_equity(self) -> Decimal | None:
        return None if self._day is None else self._day[1]

    def check_daily_loss_limit(self, view: PortfolioView) -> bool:
        """Halt (if configured) when the day's loss reached the limit; True when breached."""
        problem = daily_loss_problem(view, self._risk.max_daily_loss_pct)
        if problem is None:
            return False
        if self._state is not TradingState.HALTED:
            self.send_risk_alert("max_daily_loss_pct", problem, Severity.CRITICAL)
            self._loss_breach(problem)
        return True

    def _loss_breach(self, problem: str) -> None:
        if self._risk.halt_on_loss_limit and self._state is not TradingState.HALTED:
            self.halt_trading(f"daily loss limit: {problem}")

    def monitor_portfolio_risk(self, view: PortfolioView) -> dict[str, Any]:
        """Daily loss and VaR of the current portfolio (halts on the loss limit)."""
        breached = self.check_daily_loss_limit(view)
        var = self.calculate_var(view.positions)
        with self._store.unit_of_work() as uow:
            held = sum(view.positions.values(), ZERO)
            value = {"historical": var.historical, "parametric": var.parametric,
                     "days": var.days, "positions_value": held}  # fmt: skip
            uow.system_state.set(VAR_KEY, value, self._clock.now())
        return {"daily_loss_breached": breached, "var": var, "state": self._state}

    def calculate_var(self, values: dict[str, Decimal]) -> VaR:
        returns = self._returns(sorted(values)) if values else None
        return calculate_var(values, returns)

    # --- state -------------------------------------------------------------------------

    def halt_trading(self, reason: str) -> None:
        self._set(TradingState.HALTED, reason)

    def pause(self, reason: str = "paused by the user") -> None:
        if self._state is TradingState.RUNNING:
            self._set(TradingState.PAUSED, reason)

    def resume(self, reason: str = "resumed by the user") -> None:
        self._set(TradingState.RUNNING, reason)

    def _set(self, state: TradingState, reason: str) -> None:
        previous, now = self._state, self._clock.now()
        if previous is state:
            return
        with self._store.unit_of_work() as uow:
            uow.system_state.set(STATE_KEY, {"state": state.value, "reason": reason}, now)
            uow.risk_events.add(RiskEventRecord(
                ts=now, event_type="STATE_CHANGED", severity=Severity.WARNING, message=reason,
                trading_state=state, details={"previous": previous.value},
            ))  # fmt: skip
        self._state = state
        if self._bus is not None:
            self._bus.publish(TradingStateChanged(ts_event=now, ts_init=now, previous=previous,
                                                  current=state, reason=reason))  # fmt: skip

    def send_risk_alert(
        self, rule: str, message: str, severity: Severity = Severity.WARNING,
        details: dict[str, Any] | None = None, event_type: str = "RISK_BREACH",
    ) -> None:  # fmt: skip
        """Record a risk event and publish it as a ``RiskBreach`` (alerts subscribe)."""
        now = self._clock.now()
        with self._store.unit_of_work() as uow:
            uow.risk_events.add(RiskEventRecord(
                ts=now, event_type=event_type, severity=severity, message=message, rule=rule,
                trading_state=self._state, details=details or {},
            ))  # fmt: skip
        if self._bus is not None:
            self._bus.publish(RiskBreach(ts_event=now, ts_init=now, rule=rule, message=message,
                                         severity=severity, details=details or {}))  # fmt: skip
