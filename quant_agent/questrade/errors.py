"""Questrade errors, typed by what the caller must do, and the ``{code, message}`` mapping.

Each class also derives from one of the core groups (``TransientError``: retry with
backoff; ``RejectedError``: do not retry as is; ``OperationalError``: halt and alert;
``DataError``: the reply is unusable), so generic handlers work without knowing Questrade.
Messages never contain a token: only the HTTP status, Questrade's code and its text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from quant_agent.core.errors import (
    DataError,
    OperationalError,
    QuantAgentError,
    RejectedError,
    TransientError,
)


class QuestradeError(QuantAgentError):
    """Base of every Questrade error; ``status`` is the HTTP status, ``code`` Questrade's."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None):
        self.status = status
        self.code = code
        self.message = message
        parts = [f"HTTP {status}" if status is not None else "", f"code {code}" if code else ""]
        head = ", ".join(p for p in parts if p)
        super().__init__(f"Questrade: {message}" + (f" ({head})" if head else ""))


class QuestradeParseError(QuestradeError, DataError):
    """A reply was not the documented JSON (malformed, wrong type, missing field)."""


class QuestradeTransientError(QuestradeError, TransientError):
    """A 5xx, a timeout or a dropped connection: a read may be retried with backoff."""


class QuestradeServerError(QuestradeTransientError):
    """Questrade's servers failed (500/502/503, codes 1007-1011 and 1021)."""


class QuestradeRateLimitError(QuestradeTransientError):
    """HTTP 429 (code 1006); ``reset_at`` is when the window resets, if the headers said."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 429,
        code: int | None = 1006,
        reset_at: datetime | None = None,
        remaining: int | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.reset_at = reset_at
        self.remaining = remaining


class QuestradeAccessTokenError(QuestradeTransientError):
    """401 with code 1017 (or 1014): the access token is invalid; refresh once and retry."""


class QuestradeLoginError(QuestradeError, OperationalError):
    """The login server refused the refresh token: a new one must be generated in the
    Questrade API Centre and stored with ``quant-agent questrade login``."""


class QuestradeRequestError(QuestradeError, RejectedError):
    """The request was refused as it stands (400/405/413, codes 1002-1005, 1012, 1013, 1015)."""


class QuestradeNotFoundError(QuestradeRequestError):
    """Unknown endpoint, account, symbol or order (codes 1001, 1018, 1019, 1020)."""


class QuestradeScopeError(QuestradeRequestError):
    """403/1016: the key lacks the scope, e.g. a personal key calling an order endpoint."""


class QuestradeOrderError(QuestradeRequestError):
    """An order-processing error (3xxx), possibly under HTTP 200; an order may still exist."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        order_id: int | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.order_id = order_id


_BY_CODE: dict[int, type[QuestradeError]] = {
    1001: QuestradeNotFoundError,
    1002: QuestradeRequestError,
    1003: QuestradeRequestError,
    1004: QuestradeRequestError,
    1005: QuestradeRequestError,
    1006: QuestradeRateLimitError,
    1007: QuestradeServerError,
    1008: QuestradeServerError,
    1009: QuestradeServerError,
    1010: QuestradeServerError,
    1011: QuestradeServerError,
    1012: QuestradeRequestError,
    1013: QuestradeRequestError,
    1014: QuestradeAccessTokenError,
    1015: QuestradeRequestError,
    1016: QuestradeScopeError,
    1017: QuestradeAccessTokenError,
    1018: QuestradeNotFoundError,
    1019: QuestradeNotFoundError,
    1020: QuestradeNotFoundError,
    1021: QuestradeServerError,
}


def _class_for_status(status: int) -> type[QuestradeError]:
    if status == 429:
        return QuestradeRateLimitError
    if status == 401:
        return QuestradeAccessTokenError
    if status == 403:
        return QuestradeScopeError
    if status == 404:
        return QuestradeNotFoundError
    if status >= 500:
        return QuestradeServerError
    return QuestradeRequestError


_INT_TEXT = re.compile(r"[+-]?[0-9]{1,30}", re.ASCII)


def int_from_text(value: str) -> int | None:
    """The integer an ASCII decimal string spells (``" -12 "``), or None. Unicode digits
    (``"²"``), doubled signs and absurdly long numbers are None, never an exception."""
    text = value.strip()
    return int(text) if _INT_TEXT.fullmatch(text) else None


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int_from_text(value)
    return None


def error_from_body(status: int, body: object) -> QuestradeError:
    """Return the typed error for an API reply of HTTP ``status`` with decoded JSON ``body``.

    The ``code`` decides the class when known (3xxx codes are order errors); otherwise the
    HTTP status does. ``code`` may arrive as a number or a string (the docs type it String).
    """
    code: int | None = None
    message = f"HTTP {status} without an error body"
    order_id: int | None = None
    if isinstance(body, Mapping):
        code = _int_or_none(body.get("code"))
        text = body.get("message")
        if isinstance(text, str) and text:
            message = text[:300]
        order_id = _int_or_none(body.get("orderId"))
    if code is not None and 3000 <= code < 4000:
        return QuestradeOrderError(message, status=status, code=code, order_id=order_id)
    cls = _BY_CODE.get(code) if code is not None else None
    if cls is None:
        cls = _class_for_status(status)
    return cls(message, status=status, code=code)
