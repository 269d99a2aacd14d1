from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from quant_agent.core.clock import Clock, LiveClock, SimClock, ensure_utc
from quant_agent.core.ids import client_order_id, ticker
from quant_agent.core.money import (
    TickRounding,
    is_on_tick,
    pct_of,
    round_to_tick,
    tick_size,
    to_decimal,
    whole_shares,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0.1, Decimal("0.1")),
        ("12.340", Decimal("12.340")),
        (7, Decimal(7)),
        (Decimal("1.5"), Decimal("1.5")),
    ],
)
def test_to_decimal_converts_exactly(raw: object, expected: Decimal) -> None:
    assert to_decimal(raw) == expected


@pytest.mark.parametrize(
    "bad", [float("nan"), float("inf"), "nan", "Infinity", "abc", True, None, [1]]
)
def test_to_decimal_rejects_non_finite_and_junk(bad: object) -> None:
    with pytest.raises(ValueError, match="price"):
        to_decimal(bad, field="price")


@pytest.mark.parametrize(
    ("price", "mode", "expected"),
    [
        ("10.005", TickRounding.NEAREST, "10.01"),
        ("10.009", TickRounding.DOWN, "10.00"),
        ("10.001", TickRounding.UP, "10.01"),
        ("0.12345", TickRounding.NEAREST, "0.1235"),
        ("0.99996", TickRounding.UP, "1.00"),
        ("1.00", TickRounding.NEAREST, "1.00"),
    ],
)
def test_round_to_tick(price: str, mode: TickRounding, expected: str) -> None:
    assert round_to_tick(Decimal(price), mode) == Decimal(expected)


def test_tick_size_and_on_tick() -> None:
    assert tick_size(Decimal("1")) == Decimal("0.01")
    assert tick_size(Decimal("0.9999")) == Decimal("0.0001")
    assert is_on_tick(Decimal("12.34")) and not is_on_tick(Decimal("12.345"))
    assert is_on_tick(Decimal("0.1234")) and not is_on_tick(Decimal("0"))
    with pytest.raises(ValueError):
        round_to_tick(Decimal("-1"))


def test_whole_shares_floors_and_rejects_negative() -> None:
    assert whole_shares(Decimal("12.99")) == 12
    with pytest.raises(ValueError):
        whole_shares(Decimal("-1"))
    assert pct_of(Decimal("100000"), 40) == Decimal("40000")


def test_client_order_id_is_deterministic_and_distinct() -> None:
    a = client_order_id("signal", 42, "ENTRY")
    assert a == client_order_id("signal", 42, "ENTRY")
    assert a != client_order_id("signal", 42, "STOP_LOSS")
    assert a.startswith("qa-") and len(a) == 26
    with pytest.raises(ValueError):
        client_order_id()


def test_ticker_normalises_and_validates() -> None:
    assert ticker(" brk.b ") == "BRK.B" and ticker("RY.TO") == "RY.TO"
    for bad in ["", "A B", "$$$", "X" * 16]:
        with pytest.raises(ValueError):
            ticker(bad)


def test_sim_clock_is_settable_advanceable_and_monotonic() -> None:
    clock = SimClock(datetime(2025, 3, 9, 1, 0, tzinfo=ZoneInfo("America/New_York")))
    assert isinstance(clock, Clock)
    assert clock.now() == datetime(2025, 3, 9, 6, 0, tzinfo=UTC) and clock.now().tzinfo is UTC
    clock.advance(timedelta(hours=2))
    assert clock.monotonic() == 7200.0
    clock.set(datetime(2025, 3, 10, tzinfo=UTC))
    with pytest.raises(ValueError, match="backwards"):
        clock.set(datetime(2025, 3, 9, tzinfo=UTC))
    with pytest.raises(ValueError):
        clock.advance(timedelta(seconds=-1))


def test_live_clock_is_aware_utc() -> None:
    clock = LiveClock()
    assert isinstance(clock, Clock) and clock.now().tzinfo is UTC
    assert clock.monotonic() <= clock.monotonic()


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        ensure_utc(datetime(2025, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError):
        SimClock(datetime(2025, 1, 1))  # noqa: DTZ001
