"""The order calls of the REST client against the sandbox: partner mode's state machine and
notifications, validation and order errors, retail mode's refusal."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from quant_agent.questrade import models as m
from quant_agent.questrade.errors import (
    QuestradeOrderError,
    QuestradeRequestError,
    QuestradeScopeError,
)
from quant_agent.questrade.sandbox_data import ACCOUNTS
from quant_agent.questrade.stream import NotificationStream

from .conftest import harness

ACCOUNT = ACCOUNTS[0]
LIMIT = 10.0


def body(symbol_id: int, **over: Any) -> dict[str, Any]:
    doc = {"accountNumber": ACCOUNT, "symbolId": symbol_id, "quantity": 10,
           "orderType": "Market", "timeInForce": "Day", "action": "Buy",
           "primaryRoute": "AUTO", "secondaryRoute": "AUTO"}  # fmt: skip
    return doc | over


def test_partner_order_calls_place_fill_replace_cancel_and_notify(tmp_path: Path) -> None:
    async def main() -> None:
        async with harness(tmp_path, partner=True) as h:
            aapl = h.sandbox.market.by_name["AAPL"].symbol_id
            notes: asyncio.Queue[m.Notification] = asyncio.Queue()
            stream = NotificationStream(
                h.rest, h.auth, clock=h.clock, on_notification=notes.put_nowait
            )
            stream.start()
            try:
                async with asyncio.timeout(LIMIT):
                    await stream.wait_up()
                    impact = await h.rest.order_impact(ACCOUNT, body(aapl))
                    placed_before = h.sandbox.desk.placed
                    oid, (pending,) = await h.rest.place_order(ACCOUNT, body(aapl))
                    states = [(await notes.get()).orders[0].state for _ in range(3)]
                    executed = await h.rest.order(ACCOUNT, oid)
                    fills = [e for e in await h.rest.executions(ACCOUNT) if e.order_id == oid]

                    h.sandbox.desk.auto_fill = False
                    limit = body(aapl, orderType="Limit", limitPrice=1.0, quantity=5)
                    working, _ = await h.rest.place_order(ACCOUNT, limit)
                    new_id, (replaced,) = await h.rest.place_order(
                        ACCOUNT, limit | {"quantity": 3}, replace_id=working
                    )
                    assert await h.rest.cancel_order(ACCOUNT, new_id) == new_id
                    with pytest.raises(QuestradeOrderError):
                        await h.rest.cancel_order(ACCOUNT, new_id)  # already canceled
                    old = await h.rest.order(ACCOUNT, working)
                    canceled = await h.rest.order(ACCOUNT, new_id)
                    open_ids = {o.id for o in await h.rest.orders(ACCOUNT, state_filter="Open")}
            finally:
                await stream.stop()

            assert impact["side"] == "Buy" and placed_before == 0  # impact placed nothing
            assert pending.state == "Pending" and states == ["Pending", "Accepted", "Executed"]
            assert executed is not None and executed.filled_quantity == 10
            assert len(fills) == 1 and fills[0].quantity == 10
            assert replaced.chain_id == working and replaced.total_quantity == 3
            assert old is not None and old.state == "Replaced"
            assert canceled is not None and canceled.state == "Canceled"
            assert working not in open_ids and new_id not in open_ids

    asyncio.run(main())


def test_order_validation_errors_are_typed(tmp_path: Path) -> None:
    async def main() -> None:
        async with harness(tmp_path, partner=True) as h:
            aapl = h.sandbox.market.by_name["AAPL"].symbol_id
            with pytest.raises(QuestradeRequestError) as missing:
                await h.rest.place_order(ACCOUNT, body(aapl, orderType="Limit"))
            with pytest.raises(QuestradeRequestError) as unknown:
                await h.rest.place_order(ACCOUNT, body(aapl, orderType="Sideways"))
            with pytest.raises(QuestradeOrderError) as route:
                await h.rest.place_order(ACCOUNT, body(aapl, primaryRoute="NYSE"))
            assert (missing.value.code, unknown.value.code, route.value.code) == (1004, 1002, 3054)
            assert h.sandbox.desk.placed == 0

    asyncio.run(main())


def test_retail_mode_refuses_every_order_call_with_1016(tmp_path: Path) -> None:
    async def main() -> None:
        async with harness(tmp_path) as h:
            aapl = h.sandbox.market.by_name["AAPL"].symbol_id
            with pytest.raises(QuestradeScopeError) as place:
                await h.rest.place_order(ACCOUNT, body(aapl))
            with pytest.raises(QuestradeScopeError):
                await h.rest.cancel_order(ACCOUNT, 177106006)
            assert place.value.status == 403 and place.value.code == 1016

    asyncio.run(main())
