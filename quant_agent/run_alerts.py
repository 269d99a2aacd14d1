"""What the runner tells the outside world: alerts, feed health and the after-close report.

Edge code owned by the runner (one per ``Runner``). It builds the ``AlertManager`` from the
configuration (``QA_ALERT_URLS`` and the seed keys; none configured: no manager, no
thread) and subscribes it to the engine's bus, so every fact the core publishes
(``PositionOpened``, ``PositionClosed``, ``RiskBreach``, ``TradingStateChanged``,
``SignalGenerated``, ...) becomes an alert by ``alert_rules``. It publishes the facts only
the runner knows: ``SystemStarted`` / ``SystemStopped``, and ``FeedStatusChanged`` when a
batch of quotes is refused whole by the staleness guard (and when quotes pass again). It
warns once per session when the day's loss nears the limit, and writes the daily report
after the close by ``runner.close_report``: ``every`` session, only the ``last`` session
of the run (the default: a fast replay would otherwise write one ~4.8 MB page per session)
or ``off``. Delivery stays on the alert worker thread; nothing here raises into the loop.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from quant_agent.alerts import AlertManager, configured_urls
from quant_agent.config import LiveTradingConfig
from quant_agent.core.bus import EventBus
from quant_agent.core.clock import Clock
from quant_agent.core.events import FeedStatusChanged, SystemStarted, SystemStopped
from quant_agent.daily_report import run_after_close_report
from quant_agent.live_performance import LivePerformanceTracker, benchmark_closes
from quant_agent.market.calendar import get_calendar
from quant_agent.market.history import HistoryStore
from quant_agent.risk_monitor import PortfolioView
from quant_agent.storage.store import Store

log = logging.getLogger(__name__)
NEW_YORK = ZoneInfo("America/New_York")


def build_alerts(config: LiveTradingConfig, clock: Clock) -> AlertManager | None:
    """An alert manager over the configured channels, or None when there is none."""
    if not configured_urls(config.alerts):
        return None
    try:
        return AlertManager(config.alerts, clock)
    except ValueError as exc:  # a bad URL: run without alerts rather than refuse to trade
        log.error("alerts disabled: %s", exc)
        return None


class RunAlerts:
    """The runner's alert manager, feed health and after-close reports."""

    def __init__(
        self, config: LiveTradingConfig, store: Store, history: HistoryStore, clock: Clock,
        bus: EventBus, *, alerts: AlertManager | None = None, feed: str = "replay",
        drain_seconds: float = 10.0,
    ) -> None:  # fmt: skip
        self._config = config
        self._store = store
        self._history = history
        self._clock = clock
        self._bus = bus
        self._feed = feed
        self._drain = drain_seconds
        self.alerts = alerts if alerts is not None else build_alerts(config, clock)
        if self.alerts is not None:
            self.alerts.subscribe(bus)
        self._feed_healthy = True
        self._stopped = False
        self._tracker: LivePerformanceTracker | None = None
        self.last_close: date | None = None
        self.reports: list[Path] = []

    # --- lifecycle ---------------------------------------------------------------------

    def started(self, mode: str, message: str) -> None:
        now = self._clock.now()
        self._bus.publish(SystemStarted(ts_event=now, ts_init=now, mode=mode, message=message))

    def stopped(self, reason: str) -> None:
        """Write the ``last`` report, publish the stop, then drain and close the alerts."""
        if self._stopped:
            return
        self._stopped = True
        if self._config.runner.close_report == "last" and self.last_close is not None:
            self._report(self.last_close)
        now = self._clock.now()
        self._bus.publish(SystemStopped(ts_event=now, ts_init=now, reason=reason))
        if self.alerts is not None:
            self.alerts.close(self._drain)  # bounded: a dead channel cannot hold the exit

    def follow(self, bus: EventBus, clock: Clock) -> None:
        """Listen to a rebuilt engine (after a database outage) instead of the old one."""
        self._bus, self._clock, self._tracker = bus, clock, None
        if self.alerts is not None:
            self.alerts.subscribe(bus)

    # --- during the run ----------------------------------------------------------------

    def quotes_checked(self, accepted: int, total: int) -> None:
        """Publish a feed status change when a whole batch is refused, or passes again."""
        if total == 0:
            return
        healthy = accepted > 0
        if healthy == self._feed_healthy:
            return
        self._feed_healthy = healthy
        now = self._clock.now()
        message = (
            f"quotes pass again ({accepted} of {total})"
            if healthy
            else f"all {total} quotes of the batch refused (stale, future or halted)"
        )
        self._bus.publish(FeedStatusChanged(ts_event=now, ts_init=now, feed=self._feed,
                                            healthy=healthy, message=message))  # fmt: skip

    def check_daily_loss(self, view: PortfolioView) -> bool:
        """Warn once per session when the day's loss nears ``risk.max_daily_loss_pct``."""
        if self.alerts is None:
            return False
        session = self._clock.now().astimezone(NEW_YORK).date()
        day_pnl = float(view.equity - view.day_start_equity)
        return self.alerts.check_daily_loss(
            session, day_pnl, float(view.day_start_equity), self._config.risk.max_daily_loss_pct
        )

    def after_close(self, day: date) -> None:
        """The session ``day`` closed: write its report now when ``close_report`` is every."""
        self.last_close = day
        if self._config.runner.close_report == "every":
            self._report(day)

    # --- reports -----------------------------------------------------------------------

    def _report(self, day: date) -> None:
        performance = self._config.performance
        try:
            path = run_after_close_report(self.tracker(), day, performance.report_dir,
                                          performance.report_format, self.alerts)  # fmt: skip
        except Exception:  # noqa: BLE001 - a report problem never stops trading
            log.exception("daily report of %s failed", day)
            return
        self.reports.append(path)

    def tracker(self) -> LivePerformanceTracker:
        if self._tracker is None:
            ticker = self._config.performance.benchmark
            bench = (benchmark_closes(self._history, ticker)
                     if ticker in self._history.tickers else None)  # fmt: skip
            self._tracker = LivePerformanceTracker(
                self._store, self._clock, get_calendar("NYSE"), self._config.performance,
                benchmark=bench, initial_capital=self._config.trading.initial_capital,
            )  # fmt: skip
        return self._tracker
