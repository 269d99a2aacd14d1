"""The ``quant-agent data check`` report: validate a bars file/folder and a universe file.

Owns ``check_files`` and ``DataCheckResult`` (printable, with an exit code); never raises on
bad data, so the CLI can print every problem at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from quant_agent.core.enums import Exchange
from quant_agent.market.loader import read_daily_bars
from quant_agent.market.universe import exchange_map, read_universe
from quant_agent.market.validation import ValidationReport


@dataclass(frozen=True)
class DataCheckResult:
    """The outcome of ``check_files``: the bars report, the universe report, cross-checks."""

    bars: ValidationReport
    universe: ValidationReport | None
    cross_errors: tuple[str, ...] = ()
    cross_warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when neither file nor the cross-checks hold an error."""
        universe_ok = self.universe is None or self.universe.ok
        return self.bars.ok and universe_ok and not self.cross_errors

    @property
    def exit_code(self) -> int:
        """0 when ok, 1 otherwise (warnings do not fail a check)."""
        return 0 if self.ok else 1

    def render(self, max_lines: int = 30) -> str:
        """Human-readable report, at most ``max_lines`` errors and warnings per section."""
        lines: list[str] = []
        reports = [("bars", self.bars), ("universe", self.universe)]
        for title, report in reports:
            if report is None:
                continue
            lines.append(f"{title}: {report.summary()}")
            lines += _section("error", report.problems(), max_lines)
            lines += _section("warning", list(report.warnings), max_lines)
        if self.universe is not None:
            lines += _section("cross-check error", list(self.cross_errors), max_lines)
            lines += _section("cross-check warning", list(self.cross_warnings), max_lines)
        errors = self.bars.error_count + len(self.cross_errors)
        errors += self.universe.error_count if self.universe else 0
        lines.append("result: OK" if self.ok else f"result: FAILED ({errors:,} error(s))")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


def check_files(daily_path: Path | str, universe_path: Path | str | None = None) -> DataCheckResult:
    """Validate a bars file/folder and optionally a universe file; never raises on bad data.

    With a universe, its exchanges drive the session checks, bar tickers missing from it
    are errors and universe tickers without bars are a warning.
    """
    universe_report: ValidationReport | None = None
    exchanges: dict[str, Exchange] | None = None
    universe: pd.DataFrame | None = None
    if universe_path is not None:
        universe, problems = read_universe(universe_path)
        universe_report = ValidationReport(
            errors=tuple(problems),
            warnings=(),
            rows=len(universe),
            tickers=int(universe["ticker"].nunique()),
            first_date=None,
            last_date=None,
            source=str(universe_path),
        )
        exchanges = exchange_map(universe)
    report, bars = read_daily_bars(daily_path, exchanges)
    cross_errors: list[str] = []
    cross_warnings: list[str] = []
    if universe is not None and report.ok and universe_report and universe_report.ok:
        bar_tickers = set(bars["ticker"].unique().tolist())
        listed = set(universe["ticker"].tolist())
        if unlisted := sorted(bar_tickers - listed):
            cross_errors.append(
                f"{len(unlisted)} ticker(s) with bars but no universe row: {_few_names(unlisted)}"
            )
        if idle := sorted(listed - bar_tickers):
            cross_warnings.append(
                f"{len(idle)} universe ticker(s) without bars: {_few_names(idle)}"
            )
    return DataCheckResult(report, universe_report, tuple(cross_errors), tuple(cross_warnings))


def _section(kind: str, items: list[str], max_lines: int) -> list[str]:
    if not items:
        return []
    shown = [f"  {kind}: {item}" for item in items[:max_lines]]
    if len(items) > max_lines:
        shown.append(f"  ... {len(items) - max_lines:,} more {kind}(s)")
    return shown


def _few_names(names: list[str], few: int = 10) -> str:
    extra = len(names) - few
    return ", ".join(names[:few]) + (f" (+{extra} more)" if extra > 0 else "")
