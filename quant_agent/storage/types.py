"""Column types that keep the domain's guarantees on every database.

- ``UTCDateTime``: accepts only aware datetimes, stores UTC, returns aware UTC (SQLite
  drops the zone of ``DateTime(timezone=True)``; this puts it back).
- ``Money``: exact decimals. PostgreSQL stores ``NUMERIC(20, 6)``; SQLite has no exact
  decimal type (its NUMERIC affinity turns values into 8-byte floats), so there the value
  is stored as canonical text. A value with more than 6 decimals is refused, never rounded.
  Sum money in Python, not in SQL, so the result is the same on both databases.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, DateTime, Numeric, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from quant_agent.core.money import MONEY_SCALE, to_decimal

MONEY_PRECISION = 20

#: JSON column: JSONB on PostgreSQL, JSON (text) elsewhere.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"refusing to store naive datetime {value.isoformat()}")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Money(TypeDecorator[Decimal]):
    impl = Numeric(MONEY_PRECISION, MONEY_SCALE, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(MONEY_PRECISION + 4))
        return dialect.type_descriptor(Numeric(MONEY_PRECISION, MONEY_SCALE, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        number = to_decimal(value, field="money")
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -MONEY_SCALE:
            normalized = number.normalize()
            exponent = normalized.as_tuple().exponent
            if isinstance(exponent, int) and exponent < -MONEY_SCALE:
                raise ValueError(f"{number} has more than {MONEY_SCALE} decimals; round it first")
            number = normalized
        if abs(number) >= Decimal(10) ** (MONEY_PRECISION - MONEY_SCALE):
            raise ValueError(f"{number} is too large for a money column")
        return format(number, "f") if dialect.name == "sqlite" else number

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(value) if isinstance(value, str) else Decimal(str(value))
