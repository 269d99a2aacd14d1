"""Typed identifiers and the deterministic client order id generator.

A client order id is derived from what the order is for (the intent), never from a counter
in memory or the wall clock, so that a retry or a restart that rebuilds the same intent
gets the same id and the broker can de-duplicate it.
"""

from __future__ import annotations

import hashlib
import re
from typing import NewType

Ticker = NewType("Ticker", str)
ClientOrderId = NewType("ClientOrderId", str)
BrokerOrderId = NewType("BrokerOrderId", str)
FillId = NewType("FillId", str)

_TICKER_RE = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,14}$")
_CLIENT_ID_PREFIX = "qa"


def ticker(value: str) -> Ticker:
    """Normalise and validate a symbol: upper case, 1-15 of A-Z 0-9 . - (``BRK.B``, ``RY.TO``)."""
    if not isinstance(value, str):
        raise TypeError(f"ticker must be a string, got {type(value).__name__}")
    symbol = value.strip().upper()
    if not _TICKER_RE.match(symbol):
        raise ValueError(
            f"invalid ticker {value!r}: expected 1-15 characters of A-Z, 0-9, '.', '-'"
        )
    return Ticker(symbol)


def client_order_id(*parts: object) -> ClientOrderId:
    """Return the deterministic client order id of an order intent.

    ``parts`` name the intent uniquely, e.g. ``("signal", 42, "ENTRY")`` or
    ``("position", 7, "STOP_LOSS", 1)``. The same parts always give the same id; the id is
    short (26 characters) and uses only ``[a-z0-9-]`` so every venue accepts it.
    """
    if not parts:
        raise ValueError("client_order_id needs at least one part naming the order intent")
    text = "\x1f".join(str(p) for p in parts)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:23]
    return ClientOrderId(f"{_CLIENT_ID_PREFIX}-{digest}")
