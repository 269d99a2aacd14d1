"""L1 quote frames decoded straight into typed records, and merged records rebuilt lazily.

``decode_frame`` decodes a ``{"quotes": [...]}`` frame with a prebuilt msgspec decoder into
``WireQuote`` structs whose fields have exactly the usual wire types (float, int or
null prices, int or null sizes, int ``delay`` >= 0, bool or null ``isHalted``, a missing field
is ``UNSET``; an int price stays an int): no dict per record, no type checks left to do
in Python. A frame with anything else (a number as a string, ``delay: true``, ``NaN``, a record
without ``symbolId``, a malformed or non-quotes frame) returns None, and the caller takes
the generic path (``parsing.loads`` and the table-driven decoder), which converts or
rejects record by record as before.

``fold`` merges a symbol's records, oldest first, into one wire dict (later fields win),
walking back from the newest and stopping once every field is known, so a stream of
full records costs one record's worth of work however long it ran.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType

from quant_agent.questrade.parsing import QUOTE

Price = float | int | None | UnsetType  # an int stays an int: Decimal(150), not 150.0
Count = int | None | UnsetType
Text = str | None | UnsetType


class WireQuote(msgspec.Struct):
    """One streamed L1 record with its wire names (``UNSET``: not sent in this push)."""

    symbolId: int  # noqa: N815 (the wire names, so no rename table to keep in step)
    symbol: Text = UNSET
    tier: Text = UNSET
    bidPrice: Price = UNSET  # noqa: N815
    bidSize: Count = UNSET  # noqa: N815
    askPrice: Price = UNSET  # noqa: N815
    askSize: Count = UNSET  # noqa: N815
    lastTradePriceTrHrs: Price = UNSET  # noqa: N815
    lastTradeTrHrs: Price = UNSET  # noqa: N815
    lastTradePrice: Price = UNSET  # noqa: N815
    lastTradeSize: Count = UNSET  # noqa: N815
    lastTradeTick: Text = UNSET  # noqa: N815
    lastTradeTime: Text = UNSET  # noqa: N815
    volume: Count = UNSET
    openPrice: Price = UNSET  # noqa: N815
    highPrice: Price = UNSET  # noqa: N815
    lowPrice: Price = UNSET  # noqa: N815
    delay: Annotated[int, msgspec.Meta(ge=0)] | UnsetType = UNSET
    isHalted: bool | None | UnsetType = UNSET  # noqa: N815
    high52w: Price = UNSET
    low52w: Price = UNSET
    VWAP: Price = UNSET  # noqa: N815


class QuotesFrame(msgspec.Struct):
    quotes: list[WireQuote]


WIRE_FIELDS: tuple[str, ...] = WireQuote.__struct_fields__
if {n for f in QUOTE for n in f.names} != set(WIRE_FIELDS):
    raise RuntimeError("WireQuote and parsing.QUOTE disagree on the L1 wire names")
_PRIMARY = frozenset(f.names[0] for f in QUOTE)  # every table field known once these are
_decode = msgspec.json.Decoder(QuotesFrame).decode


def decode_frame(frame: bytes | str) -> list[WireQuote] | None:
    """The typed records of a quotes frame, or None: take the generic path."""
    try:
        return _decode(frame).quotes
    except msgspec.MsgspecError:
        return None


def fold(entries: list[Any]) -> dict[str, Any]:
    """Merge wire records (``WireQuote`` or dicts from the generic path), oldest first, into
    one dict of wire names: a later record's fields win, absent ones are kept."""
    merged: dict[str, Any] = {}
    for entry in reversed(entries):
        if type(entry) is WireQuote:
            for name in WIRE_FIELDS:
                if name not in merged:
                    value = getattr(entry, name)
                    if value is not UNSET:
                        merged[name] = value
        else:
            for name, value in entry.items():
                merged.setdefault(name, value)
        if _PRIMARY <= merged.keys():
            break
    return merged
