"""What traders of other systems report breaking on a restart (issue 10, item 7), with the
real runner process killed by SIGKILL (``quant_agent/crashpoints.py``) and started again.

- A restart right after a submit (before the venue saw it, then right after it answered)
  and right after a fill (recorded, its position not yet): no duplicate order at the venue,
  no fill counted twice; the day ends exactly as an uninterrupted run.
- A partial entry fill, then a crash before its stop and target were sent: the restart
  sends them sized to the shares filled, the rest of the entry resizes them, and a gap
  through the stop closes exactly the position (in-process: the desk of
  ``quant_agent/testkit/executor.py`` dies on a ``BaseException`` no handler catches, and a
  new desk over the same database is the restarted process).
- Bracket children are armed before the first quote after a restart is processed: killed
  right after an entry filled (its stop and target never sent), restarted the next
  morning with the open as its first step, where the very first quote gaps through the
  stop: the stop fills on that quote, at the gapped price.

Every crash point, at seeded random instants, is in ``test_crash_recovery.py``.
"""

from __future__ import annotations

import signal
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from quant_agent.config import LiveTradingConfig
from quant_agent.core.enums import OrderStatus
from quant_agent.core.events import OrderFilled
from quant_agent.storage import tables as t
from quant_agent.storage.store import Store
from quant_agent.testkit.executor import Desk, make_desk, planned_signal
from quant_agent.testkit.quotes import PRE_MARKET, SESSION_OPEN, at, quote
from quant_agent.testkit.runner_process import run_cli, state, system_value

from .crash_day import (
    DAY,
    CleanDay,
    assert_like_clean,
    clean_day,
    copy_sqlite,
    day_database,
    demo_market,
    finished,
    kill,
)

__all__ = ["clean_day", "day_database"]  # fixtures

NEXT = "2024-02-15:2024-02-15"  # the session after the day
ENTRY_FILLS = "event:3,after_fill:1"  # the first entry fill of the day (the 11:00 quotes)
OPEN_AFTER = datetime(2024, 2, 15, 14, 30, tzinfo=UTC)  # 09:30 New York, the first quotes


def _local_status(url: str) -> dict[str, str]:
    return {row[0]: row[1] for row in state(url)["orders"]}


def _venue_ids(url: str) -> set[str]:
    return {row[0] for row in state(url)["paper_orders"]}


def test_restart_right_after_a_submit_and_a_fill_duplicates_nothing(
    clean_day: CleanDay, day_database: str, tmp_path: Path
) -> None:
    url, logs = day_database, []
    # 1. the day's first order (an exit) stored SUBMITTED, the venue never got it
    logs.append(_killed(kill(url, tmp_path, "submit:1")))
    unsent = {c for c, s in _local_status(url).items() if s == "SUBMITTED"} - _venue_ids(url)
    assert len(unsent) == 1, unsent
    # 2. the restart sends it once; killed as the venue's answer comes back, unrecorded
    logs.append(_killed(kill(url, tmp_path, "accepted:1")))
    assert unsent <= _venue_ids(url)
    assert {_local_status(url)[c] for c in unsent} == {"SUBMITTED"}
    # 3. the restart settles it from the venue; killed after the first fill is recorded
    logs.append(_killed(kill(url, tmp_path, "after_fill:1")))
    applied = int(system_value(url, "positions.fill_cursor") or 0)
    assert applied < len(state(url)["fills"])  # a fill whose position is not updated yet
    final = finished(run_cli(url, tmp_path, DAY))
    assert_like_clean(url, clean_day, "submit/accepted/after_fill restarts", logs + [final.stderr])


def _killed(run: Any) -> str:
    assert run.returncode == -signal.SIGKILL, run.stderr[-3000:]
    return str(run.stderr)


def test_bracket_children_are_armed_before_the_first_quote_after_a_restart(
    clean_day: CleanDay, tmp_path: Path
) -> None:
    gapped = _gap_the_next_open_through_the_stops(clean_day, tmp_path)
    url = copy_sqlite(clean_day.prefix, tmp_path / "crashed.db")
    _killed(kill(url, tmp_path, ENTRY_FILLS, **gapped))  # the afternoon never comes
    entry, children = _bracket_left_unarmed(url)
    # restarted the next morning with no scan before the open: the first step is a quote
    finished(run_cli(url, tmp_path, NEXT, extra=gapped | {"QA_SCHEDULE__PREMARKET_SCAN": "09:45"}))
    family = {row["role"]: row for row in _family(url, entry)}
    stop, target = family["STOP_LOSS"], family["TAKE_PROFIT"]
    assert stop["client_order_id"] in children and stop["status"] == OrderStatus.FILLED
    assert stop["fill_at"] == OPEN_AFTER  # on the very first quote after the restart
    assert stop["fill_price"] < stop["stop_price"]  # at the gapped price, not the stop's
    assert target["status"] == OrderStatus.CANCELED  # one-cancels-other


class Killed(BaseException):
    """Dies through every ``except Exception`` like a SIGKILL: what was committed stays."""


def _die(event: object) -> None:
    raise Killed


def test_a_partial_entry_then_a_crash_sizes_the_protective_orders_to_what_filled(
    store: Store,
) -> None:
    config = LiveTradingConfig.model_validate({"paper": {"partial_fills": True},
                                               "trading": {"slippage_pct": 0}})  # fmt: skip
    crashed = make_desk(store, PRE_MARKET, config)
    crashed.executor.start()
    crashed.executor.monitor_positions(PRE_MARKET)
    signal_ = planned_signal("PART", date(2025, 3, 7), "100.00", "95.00", "110.00", 100)
    entry = crashed.executor.process_signal(signal_).order
    assert entry is not None
    crashed.bus.subscribe(OrderFilled, _die)
    with pytest.raises(Killed):  # 30 of 100 filled, the children not sent yet
        crashed.play([quote("PART", "99.90", "100.00", ts=SESSION_OPEN, ask_size=30)])
    assert {o.status for o in crashed.orders.open_orders() if o.parent_client_order_id} == {
        OrderStatus.NEW
    }
    desk = make_desk(store, at(1), config)  # the restarted process
    desk.executor.start()
    assert _children(desk, entry.client_order_id) == {"STOP_LOSS": 30, "TAKE_PROFIT": 30}
    desk.play([quote("PART", "99.90", "100.00", ts=at(2), ask_size=70)])
    assert _children(desk, entry.client_order_id) == {"STOP_LOSS": 100, "TAKE_PROFIT": 100}
    desk.play([quote("PART", "90.00", "90.10", ts=at(3))])  # gaps through the stop
    assert desk.positions.get("PART") is None and desk.venue.positions() == []
    fills = desk.orders.fills()
    assert [f.quantity for f in fills] == [30, 70, 100] and len({f.fill_id for f in fills}) == 3


def _children(desk: Desk, entry: str) -> dict[str, int]:
    """Each working child's quantity, the same locally and at the venue."""
    working = {}
    for child in desk.orders.open_orders():
        if child.parent_client_order_id == entry:
            at_venue = desk.venue.get_order_by_client_id(child.client_order_id)
            assert at_venue is not None and at_venue.quantity == child.quantity, child
            working[str(child.role)] = child.quantity
    return working


def _gap_the_next_open_through_the_stops(clean: CleanDay, where: Path) -> dict[str, str]:
    """The demo market as files, with the next session opening 5 % below the stop of every
    entry of the day; returns the environment that points the runner at them."""
    stops = {row["ticker"]: row["stop_price"] for row in _orders(clean.url)
             if row["role"] == "STOP_LOSS" and row["status"] == "ACCEPTED"}  # fmt: skip
    market = demo_market()
    bars = market.bars.copy()
    for ticker, stop in stops.items():
        at = (bars["ticker"] == ticker) & (bars["date"] == pd.Timestamp(NEXT[:10]))
        gap = float(round(Decimal(stop) * Decimal("0.95"), 2))
        row = bars.loc[at].iloc[0]
        bars.loc[at, ["open", "low", "high"]] = [gap, min(row["low"], gap, row["close"]),
                                                 max(row["high"], row["close"])]  # fmt: skip
    bars.to_parquet(where / "daily.parquet", index=False)
    market.universe.to_csv(where / "universe.csv", index=False)
    return {"QA_DATA__SOURCE": "files", "QA_DATA__DAILY_PATH": str(where / "daily.parquet"),
            "QA_DATA__UNIVERSE_PATH": str(where / "universe.csv")}  # fmt: skip


def _bracket_left_unarmed(url: str) -> tuple[str, set[str]]:
    """The entry filled when the process died, and its children: stored, never sent."""
    orders = _orders(url)
    filled = [o for o in orders if o["role"] == "ENTRY" and o["status"] == "FILLED"
              and o["created_at"] >= pd.Timestamp(DAY[:10], tz="UTC")]  # fmt: skip
    assert len(filled) == 1, filled
    entry = filled[0]["client_order_id"]
    children = {o["client_order_id"]: o["status"] for o in orders
                if o["parent_client_order_id"] == entry}  # fmt: skip
    assert set(children.values()) == {"NEW"} and not set(children) & _venue_ids(url)
    return entry, set(children)


def _orders(url: str) -> list[dict[str, Any]]:
    store = Store.open(url, upgrade=False)
    try:
        with store.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(t.orders))]
    finally:
        store.close()


def _family(url: str, entry: str) -> list[dict[str, Any]]:
    """The entry's bracket as it ended: each order with its fill (time and price)."""
    store = Store.open(url, upgrade=False)
    try:
        with store.engine.connect() as conn:
            o, f = t.orders, t.fills
            stmt = (
                sa.select(o.c.client_order_id, o.c.role, o.c.status, o.c.filled_quantity,
                          o.c.stop_price, f.c.filled_at.label("fill_at"),
                          f.c.price.label("fill_price"))
                .outerjoin(f, f.c.client_order_id == o.c.client_order_id)
                .where(sa.or_(o.c.client_order_id == entry, o.c.parent_client_order_id == entry))
                .order_by(o.c.role)
            )  # fmt: skip
            return [dict(r._mapping) for r in conn.execute(stmt)]
    finally:
        store.close()
