"""The go-live checklist (``quant-agent preflight``): run the checks, store the result, and
refuse a live start without a recent pass.

Owns the result's shape (one line per checklist item: PASS, WARN or FAIL, what was found
and how it was checked), where it is kept (``system_state`` key ``preflight.last`` with the
time it ran) and the live-start gate. The checks themselves are in ``preflight_checks``;
each receives a ``PreflightContext`` whose seams (the replay that proves the emergency
stop, the quote probe, the test command) tests replace. Never reads the wall clock: the
context carries a ``Clock``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from quant_agent.config import LiveTradingConfig
from quant_agent.core.clock import Clock
from quant_agent.market.history import HistoryStore
from quant_agent.storage.store import Store

PREFLIGHT_KEY = "preflight.last"


class Status(StrEnum):
    PASS = "PASS"
    WARN = "WARN"  # acceptable on paper, a failure in live mode
    FAIL = "FAIL"


@dataclass(frozen=True, slots=True)
class CheckResult:
    item: str
    status: Status
    detail: str  # what was found
    how: str  # how it was checked


@dataclass(frozen=True, slots=True)
class PreflightReport:
    at: datetime
    mode: str
    results: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        """No FAIL; in live mode no WARN either."""
        bad = {Status.FAIL} if self.mode == "paper" else {Status.FAIL, Status.WARN}
        return not any(r.status in bad for r in self.results)

    def failing(self) -> list[CheckResult]:
        bad = {Status.FAIL} if self.mode == "paper" else {Status.FAIL, Status.WARN}
        return [r for r in self.results if r.status in bad]

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(), "mode": self.mode, "passed": self.passed,
            "results": [{"item": r.item, "status": r.status.value, "detail": r.detail,
                         "how": r.how} for r in self.results],
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreflightReport:
        results = tuple(
            CheckResult(r["item"], Status(r["status"]), r["detail"], r["how"])
            for r in data["results"]
        )
        return cls(datetime.fromisoformat(data["at"]), str(data["mode"]), results)


Replay = Callable[..., Any]  # run_replay's signature: (config, store, history, window)
QuoteProbe = Callable[[str], str]  # symbol -> a line describing the quote; raises if none


def _default_replay(*args: Any, **kwargs: Any) -> Any:
    from quant_agent.runner import run_replay

    return run_replay(*args, **kwargs)


@dataclass(slots=True)
class PreflightContext:
    """What the checks need; the seams default to the real thing."""

    config: LiveTradingConfig
    clock: Clock
    checkout: Path | None = None  # where tests/ lives; None: found from the package
    replay: Replay = _default_replay
    quote_probe: QuoteProbe | None = None
    python: str | None = None  # interpreter running the risk tests (default: this one)
    _history: HistoryStore | None = field(default=None, repr=False)

    def history(self) -> HistoryStore:
        """The configured daily history, loaded once (raises ConfigError/DataValidationError)."""
        if self._history is None:
            from quant_agent.market.source import load_history

            self._history = load_history(self.config.data)
        return self._history


Check = Callable[[PreflightContext], CheckResult]


def run_preflight(ctx: PreflightContext, checks: Sequence[Check] | None = None) -> PreflightReport:
    """Run every check (an exception in one is that item's FAIL) and return the report."""
    from quant_agent.preflight_checks import ALL_CHECKS

    results = []
    for check in checks if checks is not None else ALL_CHECKS:
        try:
            results.append(check(ctx))
        except Exception as exc:  # noqa: BLE001 - a broken check is a failed item, not a crash
            name = getattr(check, "item", check.__name__)
            results.append(CheckResult(name, Status.FAIL, f"{type(exc).__name__}: {exc}",
                                       "the check itself raised"))  # fmt: skip
    return PreflightReport(ctx.clock.now(), ctx.config.trading.mode, tuple(results))


def save_report(store: Store, report: PreflightReport) -> None:
    with store.unit_of_work() as uow:
        uow.system_state.set(PREFLIGHT_KEY, report.as_dict(), report.at)


def load_report(store: Store) -> PreflightReport | None:
    with store.unit_of_work() as uow:
        data = uow.system_state.get(PREFLIGHT_KEY)
    return PreflightReport.from_dict(data) if data else None


class PreflightRequired(RuntimeError):
    """Live trading may not start: run ``quant-agent preflight`` and fix what it reports."""


def require_recent_pass(config: LiveTradingConfig, store: Store, now: datetime) -> None:
    """Raise ``PreflightRequired`` unless a live-mode preflight passed within
    ``preflight.valid_hours`` of ``now``; the message names the failing items."""
    if config.trading.mode != "live":
        return
    report = load_report(store)
    limit = timedelta(hours=config.preflight.valid_hours)
    fix = "run 'quant-agent preflight' with the live configuration and fix what it reports"
    if report is None:
        raise PreflightRequired(f"live trading refused: preflight has never run; {fix}")
    if not report.passed:
        names = ", ".join(f"{r.item} ({r.detail})" for r in report.failing())
        raise PreflightRequired(
            f"live trading refused: the last preflight ({report.at:%Y-%m-%d %H:%M} UTC) "
            f"failed: {names}; {fix}"
        )
    if report.mode != "live":
        raise PreflightRequired(
            f"live trading refused: the last preflight ran in {report.mode} mode; {fix}"
        )
    if now - report.at > limit:
        raise PreflightRequired(
            f"live trading refused: the last passing preflight ({report.at:%Y-%m-%d %H:%M} "
            f"UTC) is older than {config.preflight.valid_hours:g} hours; {fix}"
        )
