"""Exceptions, grouped by what the operator (or the calling code) must do about them.

- ``TransientError``: retry with backoff; nothing is known to be wrong yet.
- ``RejectedError``: the request was refused as it stands; fix the input, do not retry.
- ``OperationalError``: the system can no longer trade safely; halt new entries and alert.
- ``ConfigError``: refuse to start until the configuration is fixed.
- ``DataError``: a piece of input data (file, quote, API reply) is unusable; reject it, log
  it, keep running.
"""

from __future__ import annotations

from collections.abc import Sequence


class QuantAgentError(Exception):
    """Base of every error raised on purpose by quant-agent."""


class TransientError(QuantAgentError):
    """A temporary failure (timeout, 429, 5xx, lost connection): retry with backoff."""


class TransientBrokerError(TransientError):
    """The broker did not answer cleanly; the request may or may not have taken effect."""


class RejectedError(QuantAgentError):
    """A request refused as it stands: retrying the same thing gives the same answer."""


class OrderValidationError(RejectedError):
    """An order failed validation before it left the process; nothing was sent."""


class OperationalError(QuantAgentError):
    """The system can no longer trade safely: halt new entries and alert the trader."""


class IllegalTransitionError(OperationalError):
    """An aggregate was asked to move to a state its transition table forbids (a bug)."""


class StorageError(OperationalError):
    """The database refused or lost a write; state on disk may lag state in memory."""


class ConfigError(QuantAgentError):
    """The configuration is invalid: refuse to start. ``problems`` lists one line per field."""

    def __init__(self, problems: Sequence[str], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        head = f"invalid configuration in {source}" if source else "invalid configuration"
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))


class DataError(QuantAgentError):
    """Input data is unusable: reject it, log it, keep the loop running."""


class InvalidQuoteError(DataError):
    """A quote is malformed, crossed, non-positive, non-finite or stale."""


class DataValidationError(DataError):
    """A data file failed validation. ``problems`` lists each error with file, row and cause."""

    def __init__(self, problems: Sequence[str], warnings: Sequence[str] = ()) -> None:
        self.problems = list(problems)
        self.warnings = list(warnings)
        shown = self.problems[:20]
        more = len(self.problems) - len(shown)
        text = "\n".join(f"  - {p}" for p in shown)
        if more:
            text += f"\n  ... and {more} more"
        super().__init__(f"{len(self.problems)} data error(s):\n{text}")
