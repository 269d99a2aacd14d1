"""Market facts: quotes and bars, frozen and valid by construction.

A ``Quote`` that exists has positive, finite prices and a bid not above its ask; freshness
depends on the clock and is asked with ``is_fresh(now, max_age)``. Feeds build quotes with
``Quote.parse`` (or the constructor) and drop the ones that raise ``InvalidQuoteError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from quant_agent.core.clock import ensure_utc
from quant_agent.core.errors import InvalidQuoteError
from quant_agent.core.ids import Ticker
from quant_agent.core.ids import ticker as make_ticker
from quant_agent.core.money import ZERO, to_decimal


def _positive(value: object, field: str, ticker: str) -> Decimal:
    try:
        number = to_decimal(value, field=field)
    except ValueError as exc:
        raise InvalidQuoteError(f"{ticker}: {exc}") from None
    if number <= ZERO:
        raise InvalidQuoteError(f"{ticker}: {field} must be positive, got {number}")
    return number


def _size(value: object, field: str, ticker: str) -> int:
    try:
        number = to_decimal(value, field=field)
    except ValueError as exc:
        raise InvalidQuoteError(f"{ticker}: {exc}") from None
    if number < ZERO or number != number.to_integral_value():
        raise InvalidQuoteError(f"{ticker}: {field} must be a whole number >= 0, got {number}")
    return int(number)


@dataclass(frozen=True, slots=True, kw_only=True)
class Quote:
    """Best bid and ask (with sizes) and the last trade of one ticker at one instant."""

    ticker: Ticker
    bid: Decimal
    ask: Decimal
    last: Decimal | None = None
    bid_size: int = 0
    ask_size: int = 0
    volume: int = 0
    ts_event: datetime
    ts_init: datetime
    is_halted: bool = False
    delay: int = 0

    def __post_init__(self) -> None:
        bid, ask, last = self.bid, self.ask, self.last
        if (  # the common case in a few comparisons (the stream's hot path); else the checks below
            type(bid) is Decimal and type(ask) is Decimal and bid.is_finite() and ask.is_finite()
            and ZERO < bid <= ask
            and (last is None or (type(last) is Decimal and last.is_finite() and last > ZERO))
            and self.bid_size >= 0 and self.ask_size >= 0 and self.volume >= 0 and self.delay >= 0
            and type(self.ts_event) is datetime and self.ts_event.tzinfo is UTC
            and type(self.ts_init) is datetime and self.ts_init.tzinfo is UTC
        ):  # fmt: skip
            return
        self._validate()

    def _validate(self) -> None:
        name = str(self.ticker)
        for field in ("bid", "ask"):
            value = getattr(self, field)
            if not isinstance(value, Decimal) or not value.is_finite() or value <= ZERO:
                raise InvalidQuoteError(f"{name}: {field} must be a positive finite Decimal")
        if self.last is not None and (not self.last.is_finite() or self.last <= ZERO):
            raise InvalidQuoteError(f"{name}: last must be a positive finite Decimal")
        if self.bid > self.ask:
            raise InvalidQuoteError(f"{name}: crossed quote, bid {self.bid} > ask {self.ask}")
        for field in ("bid_size", "ask_size", "volume", "delay"):
            if getattr(self, field) < 0:
                raise InvalidQuoteError(f"{name}: {field} must be >= 0")
        try:
            object.__setattr__(self, "ts_event", ensure_utc(self.ts_event))
            object.__setattr__(self, "ts_init", ensure_utc(self.ts_init))
        except (ValueError, AttributeError) as exc:
            raise InvalidQuoteError(f"{name}: {exc}") from None

    @classmethod
    def parse(
        cls,
        *,
        ticker: str,
        bid: object,
        ask: object,
        ts_event: datetime,
        ts_init: datetime,
        last: object | None = None,
        bid_size: object = 0,
        ask_size: object = 0,
        volume: object = 0,
        is_halted: bool = False,
        delay: object = 0,
    ) -> Quote:
        """Build a quote from untrusted values; raise ``InvalidQuoteError`` saying why not."""
        try:
            symbol = make_ticker(ticker)
        except (TypeError, ValueError) as exc:
            raise InvalidQuoteError(str(exc)) from None
        return cls(
            ticker=symbol,
            bid=_positive(bid, "bid", symbol),
            ask=_positive(ask, "ask", symbol),
            last=None if last is None else _positive(last, "last", symbol),
            bid_size=_size(bid_size, "bid_size", symbol),
            ask_size=_size(ask_size, "ask_size", symbol),
            volume=_size(volume, "volume", symbol),
            ts_event=ts_event,
            ts_init=ts_init,
            is_halted=bool(is_halted),
            delay=_size(delay, "delay", symbol),
        )

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2

    @property
    def spread(self) -> Decimal:
        return self.ask - self.bid

    def age(self, now: datetime) -> timedelta:
        """How old the quote is at ``now`` (by its event time)."""
        return now - self.ts_event

    def is_fresh(self, now: datetime, max_age: timedelta) -> bool:
        """True when the quote is no older than ``max_age`` and not from the future."""
        age = self.age(now)
        return timedelta(0) <= age <= max_age


#: ``Quote``'s fields in declaration order: the positional order of ``quote_of``.
QUOTE_FIELDS = ("ticker", "bid", "ask", "last", "bid_size", "ask_size", "volume", "ts_event",
                "ts_init", "is_halted", "delay")  # fmt: skip
if tuple(Quote.__dataclass_fields__) != QUOTE_FIELDS:  # quote_of must set every field
    raise RuntimeError("Quote's fields changed: update QUOTE_FIELDS and quote_of")
_new = object.__new__
_set = tuple(Quote.__dict__[name].__set__ for name in QUOTE_FIELDS)  # the slots' setters


def quote_of(
    ticker: Ticker, bid: Decimal, ask: Decimal, last: Decimal | None, bid_size: int,
    ask_size: int, volume: int, ts_event: datetime, ts_init: datetime, is_halted: bool,
    delay: int,
) -> Quote:  # fmt: skip
    """``Quote(...)`` with every field given positionally: the same object and the same
    checks (``__post_init__``), a few times faster than the frozen dataclass's keyword
    ``__init__`` and its ``object.__setattr__`` per field (the quote stream's hot path)."""
    quote: Quote = _new(Quote)
    s = _set
    s[0](quote, ticker)
    s[1](quote, bid)
    s[2](quote, ask)
    s[3](quote, last)
    s[4](quote, bid_size)
    s[5](quote, ask_size)
    s[6](quote, volume)
    s[7](quote, ts_event)
    s[8](quote, ts_init)
    s[9](quote, is_halted)
    s[10](quote, delay)
    quote.__post_init__()
    return quote


@dataclass(frozen=True, slots=True, kw_only=True)
class Bar:
    """One session's (or one interval's) OHLCV for a ticker; ``low <= open, close <= high``."""

    ticker: Ticker
    session: date
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    ts_event: datetime | None = None

    def __post_init__(self) -> None:
        prices = (self.open, self.high, self.low, self.close)
        if any(not p.is_finite() or p <= ZERO for p in prices):
            raise ValueError(f"{self.ticker} {self.session}: prices must be positive and finite")
        if self.low > min(self.open, self.close) or self.high < max(self.open, self.close):
            raise ValueError(
                f"{self.ticker} {self.session}: inconsistent bar "
                f"(open {self.open}, high {self.high}, low {self.low}, close {self.close})"
            )
        if self.volume < 0:
            raise ValueError(f"{self.ticker} {self.session}: volume must be >= 0")
