"""The L1 stream's hot path: merge streamed quote records by symbol id into validated quotes.

``QuoteBook.apply(records, now)`` takes the ``quotes`` list of one decoded frame and returns
the ``Quote`` objects it produced, in order; invalid records are counted in ``rejected``
and make their ticker's quote unusable until a valid one arrives. Records may be partial
(only changed fields): each is merged into the symbol's wire record, and the merged
record is what is validated, so fields not sent are kept.

Two paths give the same result. The fast one reads the merged record directly when every
field a ``Quote`` needs has its usual wire type (float or null prices, int or null sizes,
int ``delay``, bool or null ``isHalted``, finite numbers), converts a price to ``Decimal``
only once per distinct float value (a bounded cache; ``Decimal(repr(x))``, so 0.1 stays
0.1) and leaves the remaining checks (positive, finite, bid <= ask, sizes >= 0) to the
``Quote`` constructor. Anything else goes through the table-driven decoder of ``parsing``,
which converts what the spec tolerates (numbers as strings, ``delay: true``) or names the
bad field. A record whose types are refused leaves the merged state as it was; a record
that decodes but is not a usable quote (crossed, zero, delayed, no bid) is merged, so a
later partial record can complete it, as on Questrade's side. A record whose
``lastTradeTime`` is before the merged one's arrived out of order: it is dropped and
counted (``out_of_order``), never merged over newer data.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from msgspec import UNSET

from quant_agent.core.errors import InvalidQuoteError
from quant_agent.core.ids import Ticker
from quant_agent.core.market import Quote, quote_of
from quant_agent.questrade.decoding import decode
from quant_agent.questrade.errors import QuestradeParseError
from quant_agent.questrade.parsing import QUOTE
from quant_agent.questrade.quote_wire import WireQuote, decode_frame, fold

_CORE_FIELDS = {
    "symbol_id", "bid_price", "ask_price", "bid_size", "ask_size", "last_trade_price",
    "volume", "delay", "is_halted",
}  # fmt: skip
#: The fields of ``parsing.QUOTE`` a ``Quote`` is built from (the slow path's table).
QUOTE_CORE = tuple(f for f in QUOTE if f.attr in _CORE_FIELDS)
DECIMAL_CACHE_SIZE = 8192
FOLD_EVERY = 64
#: (bid, ask, last, bid_size, ask_size, volume, delay, is_halted); prices float or Decimal
Fields = tuple[Any, Any, Any, int, int, int, int, bool]


_NO_CORE: Fields = (None, None, None, 0, 0, 0, 0, False)


def fast_fields(record: dict[str, Any], prev: Fields = _NO_CORE) -> Fields | None:
    """The core fields of ``record`` merged over ``prev`` when each has its usual wire type
    (or was taken from ``prev`` as a float), else None: then ``slow_fields`` gives the same
    values or the precise error."""
    get = record.get
    bid = get("bidPrice", prev[0])
    ask = get("askPrice", prev[1])
    last = get("lastTradePrice", prev[2])
    for price in (bid, ask, last):
        if price is not None and (type(price) is not float or price - price != 0):
            return None  # a string, an int, a Decimal, NaN or infinity: the table decides
    bid_size = get("bidSize", prev[3])
    ask_size = get("askSize", prev[4])
    volume = get("volume", prev[5])
    delay = get("delay", prev[6])
    halted = get("isHalted", prev[7])
    if (
        (type(bid_size) is not int and bid_size is not None)
        or (type(ask_size) is not int and ask_size is not None)
        or (type(volume) is not int and volume is not None)
        or type(delay) is not int or delay < 0
        or (type(halted) is not bool and halted is not None)
    ):  # fmt: skip
        return None
    return (bid, ask, last, bid_size or 0, ask_size or 0, volume or 0, delay, halted is True)


def slow_fields(record: Any, path: str, prev: Fields | None = None) -> tuple[Any, Fields]:
    """(symbol id or None, core fields of ``record`` over ``prev``) through the table-driven
    decoder, which raises ``QuestradeParseError`` naming a field of the wrong type."""
    f = decode(dict, QUOTE_CORE, record, path, partial=True)
    p = _NO_CORE if prev is None else prev
    fields = (
        f.get("bid_price", p[0]), f.get("ask_price", p[1]), f.get("last_trade_price", p[2]),
        f.get("bid_size", p[3]), f.get("ask_size", p[4]), f.get("volume", p[5]),
        f.get("delay", p[6]), f.get("is_halted", p[7]),
    )  # fmt: skip
    return f.get("symbol_id"), fields


class QuoteBook:
    """Merged wire records per symbol id and the latest valid quote per subscribed ticker."""

    def __init__(self, *, allow_delayed: bool = False) -> None:
        self.allow_delayed = allow_delayed
        self.tickers: dict[int, Ticker] = {}
        self.valid: dict[str, Quote] = {}
        self.rejected = 0
        self._core: dict[int, Fields] = {}  # merged core fields, decoded
        self._raw: dict[int, list[Any]] = {}  # wire records not yet folded, oldest first
        self._traded: dict[int, tuple[Any, float | None]] = {}  # merged lastTradeTime
        self.out_of_order = 0
        self._decimals: dict[float, Decimal] = {}

    def subscribe(self, tickers: dict[int, str]) -> None:
        self.tickers = {sid: Ticker(name) for sid, name in tickers.items()}

    def record(self, symbol_id: int) -> dict[str, Any] | None:
        """The merged wire record of ``symbol_id`` (wire names), if any was received."""
        pending = self._raw.get(symbol_id)
        if not pending:
            return None
        merged = fold(pending)
        self._raw[symbol_id] = [merged]
        return merged

    def apply_frame(self, frame: bytes | str, now: datetime) -> list[Quote] | None:
        """``apply`` for a whole frame through the typed decoder; None when it refuses the
        frame (then decode it generically and call ``apply``)."""
        records = decode_frame(frame)
        return None if records is None else self.apply_typed(records, now)

    def apply_typed(self, records: list[WireQuote], now: datetime) -> list[Quote]:
        """``apply`` for typed records: the types are already right, so no checks but the
        ones that make a ``Quote``."""
        out: list[Quote] = []
        core, tickers = self._core, self.tickers
        for r in records:
            sid = r.symbolId
            p = core.get(sid, _NO_CORE)
            bid, ask, last = r.bidPrice, r.askPrice, r.lastTradePrice
            bid_size, ask_size, volume = r.bidSize, r.askSize, r.volume
            delay, halted = r.delay, r.isHalted
            if self._older(sid, r.lastTradeTime):
                continue
            fields = (
                p[0] if bid is UNSET else bid,
                p[1] if ask is UNSET else ask,
                p[2] if last is UNSET else last,
                p[3] if bid_size is UNSET else bid_size or 0,
                p[4] if ask_size is UNSET else ask_size or 0,
                p[5] if volume is UNSET else volume or 0,
                p[6] if delay is UNSET else delay,
                p[7] if halted is UNSET else halted is True,
            )  # fmt: skip
            core[sid] = fields
            self._keep(sid, r)
            ticker = tickers.get(sid)
            if ticker is not None:
                try:
                    out.append(self._quote(ticker, fields, now))
                except InvalidQuoteError:
                    self.rejected += 1
                    self.valid.pop(ticker, None)  # its latest word is unusable: no quote
        return out

    def apply(self, records: list[Any], now: datetime) -> list[Quote]:
        """Merge the decoded records of one frame (any JSON values); the valid quotes of
        subscribed tickers, in order."""
        out: list[Quote] = []
        core, tickers = self._core, self.tickers
        for index, record in enumerate(records):
            sid: Any = record.get("symbolId") if type(record) is dict else None
            try:
                fields = None
                if type(sid) is int:
                    prev = core.get(sid)
                    fields = fast_fields(record) if prev is None else fast_fields(record, prev)
                if fields is None:  # the table-driven decoder: converts or raises
                    sid, fields = self._slow(record, index)
                if self._older(sid, record.get("lastTradeTime", UNSET)):
                    continue
                core[sid] = fields
                self._keep(sid, record)
                ticker = tickers.get(sid)
                if ticker is not None:
                    out.append(self._quote(ticker, fields, now))
            except (QuestradeParseError, InvalidQuoteError, TypeError):
                self.rejected += 1
                if isinstance(sid, int) and sid in tickers:
                    self.valid.pop(tickers[sid], None)  # its latest word is unusable: no quote
        return out

    def _older(self, sid: int, stamp: Any) -> bool:
        """Whether a record's ``lastTradeTime`` is before the merged record's: such a record
        (delivered out of order) is dropped and counted in ``out_of_order``. A record
        without the field, or with one that is not a time, is merged as ever."""
        if stamp is UNSET:
            return False
        seen = self._traded.get(sid)
        if seen is not None and seen[0] == stamp:
            return False
        when = _instant(stamp)
        if when is not None and seen is not None and seen[1] is not None and when < seen[1]:
            self.out_of_order += 1
            return True
        self._traded[sid] = (stamp, when)
        return False

    def _keep(self, sid: int, record: Any) -> None:
        """Remember a wire record for ``record``; folded every ``FOLD_EVERY`` records."""
        pending = self._raw.get(sid)
        if pending is None:
            self._raw[sid] = [record]
        else:
            pending.append(record)
            if len(pending) >= FOLD_EVERY:
                self._raw[sid] = [fold(pending)]

    def _slow(self, record: Any, index: int) -> tuple[int, Fields]:
        path = f"quotes[{index}]"
        sid, fields = slow_fields(record, path)
        if sid is None:
            raise QuestradeParseError(f"{path}: missing field 'symbolId'")
        prev = self._core.get(sid)
        return sid, (fields if prev is None else slow_fields(record, path, prev)[1])

    def _quote(self, ticker: Ticker, fields: Fields, now: datetime) -> Quote:
        bid, ask, last, bid_size, ask_size, volume, delay, halted = fields
        if delay > 0 and not self.allow_delayed:
            raise InvalidQuoteError(f"{ticker}: delayed quote ({delay} min), delayed data is off")
        if bid is None or ask is None:
            raise InvalidQuoteError(f"{ticker}: quote without bid or ask")
        decimals = self._decimals  # wire floats to Decimal(repr(x)), once per distinct value
        if type(bid) is float:
            bid = decimals.get(bid) or self._decimal(bid)
        elif type(bid) is int:
            bid = Decimal(bid)
        if type(ask) is float:
            ask = decimals.get(ask) or self._decimal(ask)
        elif type(ask) is int:
            ask = Decimal(ask)
        if last is not None and last <= 0:
            last = None
        elif type(last) is float:
            last = decimals.get(last) or self._decimal(last)
        elif type(last) is int:
            last = Decimal(last)
        # the Quote checks refuse zero, negative, non-finite and crossed prices
        quote = quote_of(
            ticker, bid, ask, last, bid_size, ask_size, volume, now, now, halted, delay
        )
        self.valid[ticker] = quote
        return quote

    def _decimal(self, price: float) -> Decimal:
        """``Decimal(repr(price))`` (so 0.1 stays 0.1), remembered in a bounded cache."""
        if len(self._decimals) >= DECIMAL_CACHE_SIZE:
            self._decimals.clear()
        result = self._decimals[price] = Decimal(repr(price))
        return result


def _instant(stamp: Any) -> float | None:
    """An ISO 8601 time with an offset as POSIX seconds (a float orders microseconds apart
    correctly and compares far faster than datetimes in different zones), else None (not a
    time: the decoder judges it)."""
    if type(stamp) is not str:
        return None
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return None if when.tzinfo is None else when.timestamp()
