"""HTTP pieces of the sandbox: fault switches, limits, Questrade-shaped errors and replies.

``RateLimiter`` keeps Questrade's two buckets (``/v1/markets*`` = market data, the rest =
account) with per-second and per-hour windows on the sandbox clock and returns the
``X-RateLimit-Remaining``/``X-RateLimit-Reset`` headers (hourly window, as observed).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web


@dataclass
class Faults:
    """Switches tests flip; counters are consumed one reply at a time."""

    server_errors: int = 0  # the next N API replies are 500/1008
    server_error_status: int = 500
    malformed_json: int = 0  # the next N API replies are 200 with a broken body
    slow_seconds: float = 0.0  # every API reply waits this long (real time)
    login_errors: int = 0  # the next N token redemptions are 500
    escape_slashes: bool = True  # send "https:\/\/..." as real Questrade does
    order_error_200: int = 0  # the next N order calls answer 200 with an order error body
    lost_order_replies: int = 0  # the next N order calls take effect, then answer 503/1011
    duplicate_notifications: int = 0  # the next N order notifications are pushed twice
    duplicate_executions: bool = False  # the executions endpoint lists each one twice
    fills_before_acks: bool = False  # an order's Accepted push waits for its next execution


@dataclass
class Limits:
    account_per_second: int = 30
    account_per_hour: int = 30_000
    market_per_second: int = 20
    market_per_hour: int = 15_000


@dataclass
class _Windows:
    second: Counter[tuple[str, int]] = field(default_factory=Counter)
    hour: Counter[tuple[str, int]] = field(default_factory=Counter)


class ApiError(Exception):
    """A Questrade ``{code, message}`` error reply."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def bad(message: str, code: int = 1002) -> ApiError:
    return ApiError(400, code, message)


_FRACTION = re.compile(r"\.(\d+)")


def param_time(value: str, name: str) -> datetime:
    found = _FRACTION.search(value)
    if found and len(found.group(1)) > 6:
        raise bad("Argument length exceeds imposed limit.", 1003)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise bad(f"Invalid or malformed argument: {name}") from None
    if parsed.tzinfo is None:
        raise bad(f"Invalid or malformed argument: {name}")
    return parsed


class RateLimited(ApiError):
    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__(429, 1006, "Rate limit exceeded.")
        self.headers = headers


class RateLimiter:
    """Counts requests per bucket and window; raises ``RateLimited`` (429/1006) when over."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._windows = _Windows()

    def count(self, path: str, now: datetime) -> dict[str, str]:
        market = path.startswith("/v1/markets")
        bucket = "market" if market else "account"
        lim = self.limits
        per_second = lim.market_per_second if market else lim.account_per_second
        per_hour = lim.market_per_hour if market else lim.account_per_hour
        stamp = now.timestamp()
        second, hour = (bucket, int(stamp)), (bucket, int(stamp // 3600))
        self._windows.second[second] += 1
        self._windows.hour[hour] += 1
        used = self._windows.hour[hour]
        headers = {
            "X-RateLimit-Remaining": str(max(0, per_hour - used)),
            "X-RateLimit-Reset": str((hour[1] + 1) * 3600),
        }
        if used > per_hour or self._windows.second[second] > per_second:
            raise RateLimited(headers)
        return headers


def json_response(body: Any, status: int = 200) -> web.Response:
    response = web.Response(text=json.dumps(body), status=status)
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    return response
