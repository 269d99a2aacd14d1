"""The L1 hot path: the fast decoder agrees with the table-driven one or defers to it, the
whole book gives the same quotes with and without the fast path, validation is intact."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from quant_agent.core.errors import InvalidQuoteError
from quant_agent.core.market import QUOTE_FIELDS, Quote, quote_of
from quant_agent.questrade import parsing
from quant_agent.questrade import quote_book as qb
from quant_agent.questrade.errors import QuestradeParseError
from quant_agent.questrade.quote_book import QuoteBook, fast_fields, slow_fields
from quant_agent.questrade.quote_wire import decode_frame

NOW = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
FULL = {
    "symbolId": 8049, "symbol": "AAPL", "bidPrice": 150.1, "askPrice": 150.2, "bidSize": 3,
    "askSize": 4, "lastTradePrice": 150.15, "volume": 10, "delay": 0, "isHalted": False,
}  # fmt: skip


def as_decimals(fields: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(Decimal(repr(v)) if type(v) is float else v for v in fields)


@pytest.mark.parametrize(
    "record",
    [
        FULL,
        {"symbolId": 8049, "bidPrice": None, "askPrice": None, "bidSize": None, "isHalted": None},
        {"symbolId": 8049, "askPrice": 0.1},
        {"symbolId": 8049, "bidPrice": 150, "delay": True},  # int price, bool delay: slow path
        {"symbolId": "8049", "bidPrice": "150.1"},  # strings: slow path
        {"symbolId": 8049, "bidPrice": float("nan")},  # NaN: slow path, which refuses it
        {"symbolId": 8049, "askPrice": float("inf")},
        {"symbolId": 8049, "delay": -1},
        {"symbolId": 8049, "delay": None},
        {"symbolId": 8049, "isHalted": 1},
        {"symbolId": 8049, "bidSize": 3.0},
    ],
)  # fmt: skip
def test_the_fast_decoder_agrees_with_the_table_or_defers_to_it(record: dict) -> None:
    fast = fast_fields(record)
    try:
        slow = slow_fields(record, "q")[1]
    except QuestradeParseError:
        assert fast is None
        return
    assert fast is None or as_decimals(fast) == slow


TRADE_TIMES = ("2026-03-03T10:00:00.000000-05:00", "2026-03-03T15:00:01.000000+00:00",
               "2026-03-03T10:00:02.500000-05:00", "not a time", None)  # fmt: skip


def random_record(rng: random.Random) -> Any:
    """A record as a feed might send it: mostly full and well typed, sometimes partial,
    crossed, zero, negative, null, delayed, halted, stringly typed or not an object."""
    record: dict[str, Any] = {"symbolId": rng.choice((8049, 8049, 27426, 999))}
    bid = round(rng.uniform(9.0, 11.0), 2)
    fields = {
        "bidPrice": bid, "askPrice": round(bid + rng.choice((0.01, 0.02, -0.01, 0.0)), 2),
        "lastTradePrice": rng.choice((bid, 0.0, -1.0, None)), "bidSize": rng.randint(0, 900),
        "askSize": rng.randint(0, 900), "volume": rng.randint(0, 10**7),
        "delay": rng.choice((0, 0, 0, 15)), "isHalted": rng.choice((False, False, True, None)),
        "lastTradeTime": rng.choice(TRADE_TIMES), "VWAP": bid,
    }  # fmt: skip
    keys = list(fields) if rng.random() < 0.6 else rng.sample(list(fields), rng.randint(0, 4))
    record.update((k, fields[k]) for k in keys)
    odd = rng.random()
    if odd < 0.03:
        record["bidPrice"] = rng.choice(("10.5", 10, None, float("nan"), True, -2.0, 0))
    elif odd < 0.05:
        record["bidSize"] = rng.choice(("12", 12.0, -3, None))
    elif odd < 0.06:
        record["delay"] = rng.choice((True, "0", -1))
    elif odd < 0.065:
        record["symbolId"] = rng.choice(("8049", None, 8049.0))
    elif odd < 0.07:
        return rng.choice(([1, 2], "x", None))
    return record


def run_book(frames: list[list[Any]], mode: str, *, allow_delayed: bool = False) -> Any:
    """Feed ``frames`` (as JSON text) through the typed decoder where it takes the frame
    (``typed``), the dict fast path (``dict``) or the table-driven decoder only (``slow``)."""
    book = QuoteBook(allow_delayed=allow_delayed)
    book.subscribe({8049: "AAPL", 27426: "MSFT"})
    original, typed = qb.fast_fields, 0
    if mode == "slow":
        qb.fast_fields = lambda record, prev=None: None  # type: ignore[assignment]
    quotes = []
    try:
        for records in frames:
            frame = json.dumps({"quotes": records}).encode()
            out = book.apply_frame(frame, NOW) if mode == "typed" else None
            typed += out is not None
            if out is None:
                out = book.apply(parsing.loads(frame, "quotes")["quotes"], NOW)
            quotes.append(out)
    finally:
        qb.fast_fields = original
    merged = {sid: book.record(sid) for sid in (8049, 27426, 999)}
    texts = [(str(q.bid), str(q.ask), str(q.last)) for frame in quotes for q in frame]
    return (quotes, texts, book.rejected, book.out_of_order, dict(book.valid), merged), typed


@pytest.mark.parametrize("allow_delayed", [False, True])
def test_the_book_gives_the_same_quotes_on_the_typed_dict_and_table_paths(
    allow_delayed: bool,
) -> None:
    rng = random.Random(6)
    frames = [[random_record(rng) for _ in range(rng.randint(1, 6))] for _ in range(600)]
    typed, typed_frames = run_book(frames, "typed", allow_delayed=allow_delayed)
    dicts, _ = run_book(frames, "dict", allow_delayed=allow_delayed)
    slow, _ = run_book(frames, "slow", allow_delayed=allow_delayed)
    assert typed == dicts == slow
    published = sum(len(q) for q in typed[0])
    assert published > 500 and typed[2] > 300 and typed[3] > 50  # all outcomes seen
    assert 200 < typed_frames < 550  # both the typed decoder and the fallback were used


def test_the_typed_decoder_refuses_what_it_cannot_type() -> None:
    good = {"quotes": [FULL, {"symbolId": 8049, "bidPrice": None}]}
    assert [r.symbolId for r in decode_frame(json.dumps(good))] == [8049, 8049]  # type: ignore[union-attr]
    (whole,) = decode_frame(json.dumps({"quotes": [dict(FULL, bidPrice=150)]}))  # type: ignore[misc]
    assert type(whole.bidPrice) is int  # so it becomes Decimal("150"), as on the table path
    for bad in ({"bidPrice": "150.1"}, {"delay": True}, {"delay": -1},
                {"isHalted": 1}, {"symbolId": "8049"}, {"symbolId": None}):  # fmt: skip
        assert decode_frame(json.dumps({"quotes": [dict(FULL, **bad)]})) is None
    assert decode_frame('{"quotes":[{"symbolId":8049,"bidPrice":NaN}]}') is None
    assert decode_frame('{"success":true}') is None and decode_frame('{"quotes": [') is None


def test_merged_records_fold_lazily_and_keep_every_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qb, "FOLD_EVERY", 3)
    book = QuoteBook()
    book.apply_frame(json.dumps({"quotes": [dict(FULL, VWAP=1.5)]}), NOW)
    for i in range(7):
        book.apply_frame(json.dumps({"quotes": [{"symbolId": 8049, "bidSize": i}]}), NOW)
        assert len(book._raw[8049]) < 3
    book.apply([{"symbolId": 8049, "askSize": 99, "extra": "kept"}], NOW)
    assert book.record(8049) == dict(FULL, VWAP=1.5, bidSize=6, askSize=99, extra="kept")
    assert book.record(1) is None


def test_partial_records_merge_over_the_last_values_and_bad_types_change_nothing() -> None:
    book = QuoteBook()
    book.subscribe({8049: "AAPL"})
    (first,) = book.apply([dict(FULL)], NOW)
    assert first.bid == Decimal("150.1") and first.last == Decimal("150.15")
    (second,) = book.apply([{"symbolId": 8049, "bidPrice": 150.12, "bidSize": 7}], NOW)
    assert (second.bid, second.bid_size, second.ask, second.ask_size) == (
        Decimal("150.12"), 7, Decimal("150.2"), 4)  # fmt: skip
    assert book.apply([{"symbolId": 8049, "askPrice": "x"}], NOW) == []  # refused...
    assert book.valid.get("AAPL") is None and book.rejected == 1
    (third,) = book.apply([{"symbolId": 8049, "volume": 11}], NOW)  # ...and not merged
    assert third.ask == Decimal("150.2") and book.record(8049)["askPrice"] == 150.2


@pytest.mark.parametrize(
    ("change", "allow_delayed"),
    [
        ({"bidPrice": 150.3}, False),  # crossed
        ({"bidPrice": 0.0}, False),
        ({"askPrice": -1.0}, False),
        ({"askPrice": None}, False),
        ({"bidSize": -1}, False),
        ({"delay": 15}, False),
    ],
)
def test_invalid_quotes_are_rejected_and_make_the_ticker_unusable(
    change: dict, allow_delayed: bool
) -> None:
    book = QuoteBook(allow_delayed=allow_delayed)
    book.subscribe({8049: "AAPL"})
    assert len(book.apply([dict(FULL)], NOW)) == 1
    assert book.apply([{"symbolId": 8049, **change}], NOW) == []
    assert book.rejected == 1 and "AAPL" not in book.valid


def test_delayed_and_halted_quotes_pass_only_as_configured() -> None:
    book = QuoteBook(allow_delayed=True)
    book.subscribe({8049: "AAPL"})
    (quote,) = book.apply([dict(FULL, delay=15, isHalted=True)], NOW)
    assert quote.delay == 15 and quote.is_halted  # the guard withholds halted quotes


def test_prices_convert_through_repr_and_the_cache_stays_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(qb, "DECIMAL_CACHE_SIZE", 4)
    book = QuoteBook()
    book.subscribe({8049: "AAPL"})
    for i in range(10):
        bid = 0.1 + i / 100
        (quote,) = book.apply([dict(FULL, bidPrice=bid, askPrice=bid + 0.01)], NOW)
        assert quote.bid == Decimal(repr(bid)) and str(quote.bid) == repr(bid)
        assert len(book._decimals) <= 4


VALID: dict[str, Any] = {
    "ticker": "AAPL", "bid": Decimal("10.00"), "ask": Decimal("10.02"), "last": None,
    "bid_size": 1, "ask_size": 2, "volume": 3, "ts_event": NOW, "ts_init": NOW,
    "is_halted": False, "delay": 0,
}  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"bid": Decimal("NaN")}, "bid"),
        ({"ask": Decimal("Infinity")}, "ask"),
        ({"bid": Decimal("10.03")}, "crossed"),
        ({"last": Decimal("0")}, "last"),
        ({"last": Decimal("sNaN")}, "last"),
        ({"delay": -1}, "delay"),
        ({"volume": -1}, "volume"),
    ],
)
def test_the_quote_constructors_still_refuse_what_they_did(fields: dict, message: str) -> None:
    values = VALID | fields
    with pytest.raises(InvalidQuoteError, match=message):
        Quote(**values)
    with pytest.raises(InvalidQuoteError, match=message):
        quote_of(*(values[name] for name in QUOTE_FIELDS))


def test_the_positional_factory_builds_the_same_quote() -> None:
    made = quote_of(*(VALID[name] for name in QUOTE_FIELDS))
    assert made == Quote(**VALID) and hash(made) == hash(Quote(**VALID))
    assert repr(made) == repr(Quote(**VALID))


def test_the_quote_constructors_normalise_other_offsets_to_utc() -> None:
    toronto = NOW.astimezone(timezone(timedelta(hours=-5)))
    values = VALID | {"ts_event": toronto, "ts_init": toronto}
    for quote in (Quote(**values), quote_of(*(values[name] for name in QUOTE_FIELDS))):
        assert quote.ts_event.tzinfo is UTC and quote.ts_event == NOW
        assert quote.ts_init.tzinfo is UTC


@pytest.mark.parametrize("typed", [True, False])
def test_a_record_older_than_the_merged_one_is_dropped_and_counted(typed: bool) -> None:
    book = QuoteBook()
    book.subscribe({8049: "AAPL"})

    def push(**fields: Any) -> list[Quote]:
        record = dict(FULL, **fields)
        if typed:
            return book.apply_frame(json.dumps({"quotes": [record]}), NOW) or []
        return book.apply([record], NOW)

    assert push(bidPrice=150.0, lastTradeTime="2026-03-03T10:00:00.000001-05:00")
    assert not push(bidPrice=149.0, lastTradeTime="2026-03-03T15:00:00.000000+00:00")  # 1 µs
    assert push(bidPrice=150.05, lastTradeTime="2026-03-03T15:00:00.000001+00:00")  # same
    assert push(bidPrice=150.06, lastTradeTime="not a time")  # judged by the decoder
    assert push(bidPrice=150.07, lastTradeTime="2026-03-03T09:00:00.000000")  # naive: no
    assert book.out_of_order == 1 and book.rejected == 0
    assert book.valid["AAPL"].bid == Decimal("150.07")
