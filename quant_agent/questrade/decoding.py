"""Converters and the table walker behind ``parsing``: JSON values to typed values.

Every converter takes ``(value, path)`` and raises ``QuestradeParseError`` naming the path
and the expected type; values are shown truncated and never for objects or lists.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from quant_agent.core.money import to_decimal
from quant_agent.questrade.errors import QuestradeParseError, int_from_text

T = TypeVar("T")
Conv = Callable[[Any, str], Any]
_REQUIRED = object()


def fail(path: str, expected: str, value: object) -> QuestradeParseError:
    shown = type(value).__name__ if isinstance(value, dict | list) else repr(value)[:40]
    return QuestradeParseError(f"{path}: expected {expected}, got {shown}")


# --- converters ------------------------------------------------------------------------------


def text(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise fail(path, "a string", value)
    return value


def integer(value: Any, path: str) -> int:
    if isinstance(value, bool):
        raise fail(path, "an integer", value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and (number := int_from_text(value)) is not None:
        return number
    raise fail(path, "an integer", value)


def decimal(value: Any, path: str) -> Decimal:
    if type(value) is float:  # the common case first: through repr, so 0.1 stays 0.1
        if not math.isfinite(value):
            raise fail(path, "a finite number", value)
        return Decimal(repr(value))
    if isinstance(value, str) or isinstance(value, bool):
        raise fail(path, "a number", value)
    try:
        return to_decimal(value, field=path)
    except ValueError:
        raise fail(path, "a finite number", value) from None


def boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise fail(path, "true or false", value)
    return value


def instant(value: Any, path: str) -> datetime:
    """Parse an ISO 8601 instant with an offset (``...-05:00`` or ``Z``) into UTC."""
    if not isinstance(value, str):
        raise fail(path, "an ISO 8601 time", value)
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise fail(path, "an ISO 8601 time", value) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise fail(path, "a time with a UTC offset", value)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+05:00: before the first representable instant
        raise fail(path, "an ISO 8601 time within years 1-9999 in UTC", value) from None


def strings(value: Any, path: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise fail(path, "a list", value)
    return tuple(text(v, f"{path}[{i}]") for i, v in enumerate(value))


def nullable(conv: Conv) -> Conv:
    """``conv`` that lets ``null`` through as ``None``."""

    def convert(value: Any, path: str) -> Any:
        return None if value is None else conv(value, path)

    return convert


def or_zero(conv: Conv) -> Conv:
    """``conv`` reading ``null`` as zero (quantities and costs some clients see as null)."""

    def convert(value: Any, path: str) -> Any:
        return conv(0, path) if value is None else conv(value, path)

    return convert


def null_false(value: Any, path: str) -> bool:
    return False if value is None else boolean(value, path)


def flexible_text(value: Any, path: str) -> str:
    """A string that some replies send as a number (``accountNumber``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return text(value, path)


def delay(value: Any, path: str) -> int:
    """``delay``: an integer on the wire, documented as a boolean; ``true`` reads as 15."""
    if isinstance(value, bool):
        return 15 if value else 0
    result = integer(value, path)
    if result < 0:
        raise fail(path, "a delay >= 0", value)
    return result


@dataclass(frozen=True, slots=True)
class F:
    """One field: attribute name, wire names (first present wins), converter, default."""

    attr: str
    wire: str | tuple[str, ...]
    conv: Conv
    default: Any = _REQUIRED
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = (self.wire,) if isinstance(self.wire, str) else tuple(self.wire)
        object.__setattr__(self, "names", names)


def decode(cls: type[T], table: Sequence[F], raw: Any, path: str, *, partial: bool = False) -> Any:
    """Build ``cls`` from the mapping ``raw`` by ``table``; with ``partial`` return a dict of
    only the fields present (for merging streamed updates).

    Converters get an empty path and their message is prefixed with the field's path only
    when they fail, so the common case formats no strings.
    """
    if not isinstance(raw, Mapping):
        raise fail(path, "an object", raw)
    kwargs: dict[str, Any] = {}
    for field in table:
        for name in field.names:
            if name in raw:
                break
        else:
            if partial:
                continue
            if field.default is _REQUIRED:
                raise QuestradeParseError(f"{path}: missing field {field.names[0]!r}")
            kwargs[field.attr] = field.default
            continue
        try:
            kwargs[field.attr] = field.conv(raw[name], "")
        except QuestradeParseError as exc:
            raise QuestradeParseError(f"{path}.{name}{exc.message}") from None
    return kwargs if partial else cls(**kwargs)
