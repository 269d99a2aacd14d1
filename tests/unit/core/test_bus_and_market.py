from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from quant_agent.core.bus import EventBus
from quant_agent.core.clock import SimClock
from quant_agent.core.enums import ScanKind
from quant_agent.core.errors import InvalidQuoteError
from quant_agent.core.events import Event, HandlerFailed, ScanDue
from quant_agent.core.market import Bar, Quote

T0 = datetime(2025, 1, 2, 15, 0, tzinfo=UTC)


def scan_due() -> ScanDue:
    return ScanDue(ts_event=T0, ts_init=T0, kind=ScanKind.PREMARKET)


def test_handlers_of_base_class_receive_subclass_events_once() -> None:
    bus = EventBus(SimClock(T0))
    seen: list[str] = []
    bus.subscribe(Event, lambda e: seen.append("base"))
    bus.subscribe(ScanDue, lambda e: seen.append("exact"))
    bus.publish(scan_due())
    assert sorted(seen) == ["base", "exact"]


def test_failing_handler_does_not_stop_others_and_is_reported() -> None:
    errors: list[BaseException] = []
    bus = EventBus(SimClock(T0), on_error=lambda e, h, exc: errors.append(exc))
    seen: list[object] = []

    def broken(event: ScanDue) -> None:
        raise RuntimeError("boom")

    bus.subscribe(ScanDue, broken)
    bus.subscribe(ScanDue, seen.append)
    bus.subscribe(HandlerFailed, seen.append)
    bus.publish(scan_due())
    assert isinstance(seen[0], ScanDue)
    assert isinstance(seen[1], HandlerFailed) and "boom" in seen[1].error
    assert len(errors) == 1


def test_events_published_by_handlers_are_delivered_in_order() -> None:
    bus = EventBus(SimClock(T0))
    order: list[str] = []

    def first(event: ScanDue) -> None:
        order.append(f"first:{event.kind}")
        if event.kind is ScanKind.PREMARKET:
            bus.publish(ScanDue(ts_event=T0, ts_init=T0, kind=ScanKind.MARKET))
        order.append("first:end")

    bus.subscribe(ScanDue, first)
    bus.subscribe(ScanDue, lambda e: order.append(f"second:{e.kind}"))
    bus.publish(scan_due())
    assert order == [
        "first:PREMARKET", "first:end", "second:PREMARKET", "first:MARKET", "first:end",
        "second:MARKET",
    ]  # fmt: skip


def test_events_are_frozen() -> None:
    with pytest.raises(FrozenInstanceError):
        scan_due().kind = ScanKind.MARKET  # type: ignore[misc]


def quote(**kw: object) -> Quote:
    values: dict[str, object] = dict(
        ticker="aapl", bid="10.00", ask="10.02", ts_event=T0, ts_init=T0
    )
    values.update(kw)
    return Quote.parse(**values)  # type: ignore[arg-type]


def test_valid_quote_parses_and_knows_its_freshness() -> None:
    q = quote(last="10.01", bid_size="300")
    assert q.ticker == "AAPL" and q.mid == Decimal("10.01") and q.bid_size == 300
    assert q.is_fresh(T0 + timedelta(seconds=2), timedelta(seconds=5))
    assert not q.is_fresh(T0 + timedelta(seconds=6), timedelta(seconds=5))
    assert not q.is_fresh(T0 - timedelta(seconds=1), timedelta(seconds=5))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"bid": "10.03"}, "crossed"),
        ({"bid": "0"}, "positive"),
        ({"ask": "-1"}, "positive"),
        ({"bid": float("nan")}, "finite"),
        ({"ask": "inf"}, "finite"),
        ({"last": "abc"}, "not a number"),
        ({"ticker": "A B"}, "invalid ticker"),
        ({"bid_size": -5}, "bid_size"),
        ({"ts_event": datetime(2025, 1, 2)}, "naive"),  # noqa: DTZ001
    ],
)
def test_invalid_quotes_are_rejected_with_reason(fields: dict, message: str) -> None:
    with pytest.raises(InvalidQuoteError, match=message):
        quote(**fields)


def test_bar_rejects_inconsistent_prices() -> None:
    with pytest.raises(ValueError, match="inconsistent"):
        Bar(
            ticker="X", session=T0.date(), open=Decimal(10), high=Decimal("9.5"),
            low=Decimal(9), close=Decimal("9.8"), volume=1,
        )  # fmt: skip
