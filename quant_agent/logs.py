"""Logging setup: structlog over the standard library, secrets scrubbed from every line.

Call ``configure_logging`` once at process start with the secret values of the loaded
configuration; any log line that contains one of them shows ``***`` instead. Tracebacks
never include local variables.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog

_secrets: list[str] = []


def scrub(text: str) -> str:
    """Replace every known secret value in ``text`` with ``***``."""
    for secret in _secrets:
        text = text.replace(secret, "***")
    return text


def add_secrets(secrets: Iterable[str]) -> None:
    """Scrub these values too from now on (e.g. the parts of each alert URL)."""
    merged = set(_secrets) | {s for s in secrets if s and len(s) >= 4}
    _secrets[:] = sorted(merged, key=len, reverse=True)


class _ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Write to whatever ``sys.stderr`` is at emit time, not the one seen at set-up.

    A worker thread (alert delivery) may log after the stream it started with was closed
    or replaced (a test runner's capture, a daemonised process); the current one works.
    """

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _scrub_processor(
    _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
) -> dict[str, Any]:
    return {k: scrub(v) if isinstance(v, str) else v for k, v in event_dict.items()}


def configure_logging(level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Route structlog and stdlib logging to stderr, scrubbing ``secrets`` from each line."""
    _secrets[:] = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
    handler = _CurrentStderrHandler(sys.stderr)
    handler.addFilter(_ScrubFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _scrub_processor,
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
