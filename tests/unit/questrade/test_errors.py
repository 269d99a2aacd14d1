"""The ``{code, message}`` replies mapped to typed errors by what the caller must do."""

from __future__ import annotations

import pytest

from quant_agent.core.errors import OperationalError, RejectedError, TransientError
from quant_agent.questrade import errors as e


@pytest.mark.parametrize(
    ("status", "body", "cls", "group"),
    [
        (401, {"code": 1017, "message": "Access token is invalid."},
         e.QuestradeAccessTokenError, TransientError),
        (401, {"code": 1014, "message": "Missing authorization header."},
         e.QuestradeAccessTokenError, TransientError),
        (429, {"code": 1006, "message": "Rate limit exceeded."},
         e.QuestradeRateLimitError, TransientError),
        (500, {"code": 1008, "message": "technical"}, e.QuestradeServerError, TransientError),
        (503, {"code": "1011", "message": "timeout"}, e.QuestradeServerError, TransientError),
        (404, {"code": 1019, "message": "Symbol not found."},
         e.QuestradeNotFoundError, RejectedError),
        (403, {"code": 1016, "message": "out of scope"}, e.QuestradeScopeError, RejectedError),
        (400, {"code": 1002, "message": "bad arg"}, e.QuestradeRequestError, RejectedError),
        (200, {"code": 3054, "message": "rejected", "orderId": 7},
         e.QuestradeOrderError, RejectedError),
        (502, "Bad Gateway", e.QuestradeServerError, TransientError),
        (418, None, e.QuestradeRequestError, RejectedError),
    ],
)  # fmt: skip
def test_error_class_by_code_then_status(
    status: int, body: object, cls: type[Exception], group: type[Exception]
) -> None:
    error = e.error_from_body(status, body)
    assert type(error) is cls and isinstance(error, group)
    assert isinstance(error, e.QuestradeError) and error.status == status


def test_order_error_keeps_the_order_id() -> None:
    error = e.error_from_body(200, {"code": 3054, "message": "rejected", "orderId": 7})
    assert isinstance(error, e.QuestradeOrderError) and error.order_id == 7 and error.code == 3054


def test_login_error_is_operational() -> None:
    assert issubclass(e.QuestradeLoginError, OperationalError)
