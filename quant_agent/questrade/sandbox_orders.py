"""The sandbox's partner-mode order desk: order calls, a state machine driven by its quotes.

Follows §7.5 of ``questrade-api.md``: ``POST accounts/{id}/orders`` validates the body
(enumerations, prices required per type, symbol, route) and answers
``{"orderId", "orders": [<state Pending>]}``; each order then steps ``Pending → Accepted``
and fills against the sandbox's own quote (a buy at the ask, a sell at the bid; limits and
stops only when the quote reaches them), in slices of ``partial_fill`` shares when set
(``Partial`` then ``Executed``). ``DELETE`` cancels (``Canceled`` or ``PartialCanceled``);
``POST .../orders/{orderId}`` replaces (the old order ``Replaced``, a new id in the same
``chainId``); ``reject_next`` makes the next orders end ``Rejected`` with a 3xxx reason.
Every state change is pushed on the notifications stream, executions with their orders.
The desk holds the sandbox's order and execution lists; it never talks HTTP itself.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from quant_agent.core.clock import Clock
from quant_agent.questrade.sandbox_data import OPEN_STATES, SandboxMarket, qt_time
from quant_agent.questrade.sandbox_http import ApiError, bad

Row = tuple[str, datetime, dict[str, Any]]
Push = Callable[[dict[str, Any]], Awaitable[bool]]

ORDER_TYPES = {"Market", "Limit", "Stop", "StopLimit"}
ALL_ORDER_TYPES = ORDER_TYPES | {
    "TrailStopInPercentage", "TrailStopInDollar", "TrailStopLimitInPercentage",
    "TrailStopLimitInDollar", "LimitOnOpen", "LimitOnClose",
}  # fmt: skip
TIME_IN_FORCE = {"Day", "GoodTillCanceled", "GoodTillExtendedDay", "GoodTillDate",
                 "ImmediateOrCancel", "FillOrKill"}  # fmt: skip
ROUTES = {"AUTO", "", None}


class OrderDesk:
    """Orders placed through the API in partner mode, worked against the replayed quotes."""

    def __init__(
        self,
        *,
        clock: Clock,
        market: SandboxMarket,
        orders: list[Row],
        executions: list[Row],
        push: Push,
    ) -> None:
        self.clock = clock
        self.market = market
        self.orders = orders
        self.executions = executions
        self._push = push
        self.next_order_id = 200_000_001
        self.next_execution_id = 60_000_001
        self.partial_fill: int | None = None  # fill at most this many shares per step
        self.auto_fill = True  # fill marketable orders as soon as they are accepted
        self.reject_next = 0  # the next N orders are rejected after Pending
        self.placed = 0
        self._mine: set[int] = set()  # ids of the orders this desk created

    # --- the order calls --------------------------------------------------------------------

    async def call(self, method: str, account: str, tail: str, body: Any) -> dict[str, Any]:
        """Route one order call: ``tail`` is what follows ``accounts/{id}/orders/``."""
        if method == "DELETE":
            return await self.cancel(account, _order_id(tail))
        if tail.endswith("impact"):
            return self.impact(body)
        return await self.place(account, body, replace_id=_order_id(tail) if tail else None)

    async def expire_day_orders(self) -> int:
        """End of the session: every working ``Day`` order goes ``Expired``; return how many."""
        now = self.clock.now()
        expired = [o for _, _, o in self.orders
                   if o["state"] in OPEN_STATES and o["timeInForce"] == "Day"]  # fmt: skip
        for order in expired:
            self._set(order, "Expired", now)
            await self._notify([order])
        return len(expired)

    def _find(self, account: str, order_id: int) -> dict[str, Any]:
        for a, _, o in self.orders:
            if a == account and o["id"] == order_id:
                return o
        raise ApiError(404, 1020, "Order not found.")

    async def place_manual(self, account: str, body: Any) -> dict[str, Any]:
        """Place an order as the trader would in Questrade's own platform (assisted mode):
        the same state machine and notifications, ``source`` ``QuestradeIQEdge``."""
        return await self.place(account, body, source="QuestradeIQEdge")

    def positions(self, account: str) -> list[dict[str, Any]]:
        """The open positions the desk's executions add up to (``fresh_account`` mode)."""
        held: dict[int, tuple[int, float]] = {}
        for a, _, e in self.executions:
            if a != account:
                continue
            qty, cost = held.get(e["symbolId"], (0, 0.0))
            sign = 1 if e["side"] == "Buy" else -1
            if sign > 0:
                cost += e["price"] * e["quantity"]
            elif qty:
                cost -= cost / qty * e["quantity"]
            held[e["symbolId"]] = (qty + sign * e["quantity"], cost)
        rows = []
        for sid, (qty, cost) in sorted(held.items()):
            if qty == 0:
                continue
            info = self.market.by_id[sid]
            price = self.market.price_at(info.source or "", self.clock.now()) or cost / qty
            rows.append({
                "symbol": info.symbol, "symbolId": sid, "openQuantity": qty, "closedQuantity": 0,
                "currentMarketValue": round(price * qty, 2), "currentPrice": round(price, 2),
                "averageEntryPrice": round(cost / qty, 4), "dayPnl": 0.0, "closedPnl": 0,
                "openPnl": round(price * qty - cost, 2), "totalCost": round(cost, 2),
                "isRealTime": True, "isUnderReorg": False,
            })  # fmt: skip
        return rows

    async def place(
        self, account: str, body: Any, replace_id: int | None = None, source: str = "TradingAPI"
    ) -> dict[str, Any]:
        """Create an order (or a replacement of ``replace_id``); reply as Questrade does."""
        old = self._find(account, replace_id) if replace_id is not None else None
        if old is not None and old["state"] not in OPEN_STATES:
            raise ApiError(400, 3139, "Order cannot be replaced in its current state.")
        fields = self._validate(body, old)
        now = self.clock.now()
        oid = self.next_order_id
        self.next_order_id += 1
        self.placed += 1
        order = self._record(oid, fields, now, chain=old["chainId"] if old else oid)
        order["source"] = source
        self._mine.add(oid)
        if old is not None:
            order["filledQuantity"] = old["filledQuantity"]
            order["openQuantity"] = order["totalQuantity"] - old["filledQuantity"]
            self._set(old, "Replaced", now)
            await self._notify([old])
        self.orders.append((account, now, order))
        reply = {"orderId": oid, "orders": [copy.deepcopy(order)]}
        await self._notify([order])
        await self.advance(account, order)
        return reply

    async def cancel(self, account: str, order_id: int) -> dict[str, Any]:
        order = self._find(account, order_id)
        if order["state"] not in OPEN_STATES:
            raise ApiError(400, 3054, "Order is not in a cancellable state.")
        now = self.clock.now()
        self._set(order, "CancelPending", now)
        await self._notify([order])
        final = "PartialCanceled" if order["filledQuantity"] else "Canceled"
        order["canceledQuantity"] = order["openQuantity"]
        order["openQuantity"] = 0
        self._set(order, final, now)
        await self._notify([order])
        return {"orderId": order_id}

    def impact(self, body: Any) -> dict[str, Any]:
        fields = self._validate(body, None)
        price = fields["limitPrice"] or self._fill_price(fields, fields["action"]) or 0.0
        value = round(price * fields["quantity"], 2)
        sign = -1 if fields["action"] == "Buy" else 1
        return {"estimatedCommissions": 4.95, "buyingPowerEffect": sign * value - 4.95,
                "buyingPowerResult": 100_000.0 + sign * value,
                "maintExcessEffect": sign * value / 2,
                "maintExcessResult": 50_000.0 + sign * value / 2, "side": fields["action"],
                "tradeValueCalculation": f"{fields['quantity']} x ${price:,.2f}",
                "price": price}  # fmt: skip

    # --- the state machine ------------------------------------------------------------------

    async def advance(self, account: str, order: dict[str, Any]) -> None:
        """Step one order: Pending → Accepted (or Rejected), then fill what the quote allows."""
        now = self.clock.now()
        if order["state"] == "Pending":
            if self.reject_next:
                self.reject_next -= 1
                order["clientReasonStr"] = "Rejected by risk: insufficient buying power (3018)"
                order["rejectionReason"] = order["clientReasonStr"]
                self._set(order, "Rejected", now)
                await self._notify([order])
                return
            self._set(order, "Accepted", now)
            await self._notify([order])
        if self.auto_fill:
            await self.fill(account, order)

    async def match(self) -> int:
        """Fill every working order the current quotes reach; return how many filled."""
        count = 0
        for account, _, order in list(self.orders):
            if order["state"] in ("Accepted", "Partial") and order["id"] in self._mine:
                count += await self.fill(account, order)
        return count

    async def fill(self, account: str, order: dict[str, Any]) -> int:
        price = self._fill_price(order, order["side"])
        if price is None or not self._reaches(order, price):
            return 0
        quantity = order["openQuantity"]
        if self.partial_fill is not None:
            quantity = min(quantity, self.partial_fill)
        now = self.clock.now()
        eid = self.next_execution_id
        self.next_execution_id += 1
        execution = {
            "symbol": order["symbol"], "symbolId": order["symbolId"], "quantity": quantity,
            "side": order["side"], "price": price, "id": eid, "orderId": order["id"],
            "orderChainId": order["chainId"], "exchangeExecId": f"XS{eid}",
            "timestamp": qt_time(now), "notes": "", "venue": "LAMP",
            "totalCost": round(price * quantity, 2), "orderPlacementCommission": 0,
            "commission": 4.95, "executionFee": 0, "secFee": 0, "canadianExecutionFee": 0,
            "parentId": 0, "legId": 0,
        }  # fmt: skip
        filled = order["filledQuantity"]
        avg = order["avgExecPrice"] or 0.0
        order["avgExecPrice"] = round((avg * filled + price * quantity) / (filled + quantity), 4)
        order["lastExecPrice"] = price
        order["filledQuantity"] = filled + quantity
        order["openQuantity"] -= quantity
        self._set(order, "Executed" if order["openQuantity"] == 0 else "Partial", now)
        self.executions.append((account, now, execution))
        await self._notify([order], [execution])
        return 1

    # --- helpers ----------------------------------------------------------------------------

    def _fill_price(self, order: dict[str, Any], side: str) -> float | None:
        info = self.market.by_id.get(order["symbolId"])
        if info is None:
            return None
        quote = self.market.quote(info, self.clock.now())
        price = quote["askPrice"] if side == "Buy" else quote["bidPrice"]
        return None if price is None else float(price)

    @staticmethod
    def _reaches(order: dict[str, Any], price: float) -> bool:
        buy = order["side"] == "Buy"
        stop = order.get("stopPrice")
        if stop is not None and (price < stop if buy else price > stop):
            return False
        limit = order.get("limitPrice")
        return limit is None or (price <= limit if buy else price >= limit)

    def _validate(self, body: Any, old: dict[str, Any] | None) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad("Invalid or malformed argument: body")
        out = dict(body)
        if old is not None:  # a replace may omit what it does not change
            for key in ("symbolId", "orderType", "timeInForce", "limitPrice", "stopPrice"):
                out.setdefault(key, old.get(key))
            out.setdefault("action", old["side"])
            out.setdefault("quantity", old["totalQuantity"])
        for key in ("symbolId", "quantity", "orderType", "timeInForce", "action"):
            if out.get(key) is None:
                raise bad(f"Missing required argument: {key}", 1004)
        if out["symbolId"] not in self.market.by_id:
            raise ApiError(404, 1019, "Symbol not found.")
        if out["orderType"] not in ALL_ORDER_TYPES or out["timeInForce"] not in TIME_IN_FORCE:
            raise bad("Invalid or malformed argument: orderType/timeInForce")
        if out["orderType"] not in ORDER_TYPES:
            raise ApiError(400, 3001, f"Order type {out['orderType']} not supported here.")
        if out["action"] not in ("Buy", "Sell"):
            raise bad("Invalid or malformed argument: action")
        qty = out["quantity"]
        if not isinstance(qty, int) or isinstance(qty, bool) or qty <= 0:
            raise bad("Invalid or malformed argument: quantity")
        needs_limit = out["orderType"] in ("Limit", "StopLimit")
        needs_stop = out["orderType"] in ("Stop", "StopLimit")
        if needs_limit and out.get("limitPrice") is None:
            raise bad("Missing required argument: limitPrice", 1004)
        if needs_stop and out.get("stopPrice") is None:
            raise bad("Missing required argument: stopPrice", 1004)
        if not needs_limit:
            out["limitPrice"] = None
        if not needs_stop:
            out["stopPrice"] = None
        if out.get("primaryRoute") not in ROUTES or out.get("secondaryRoute") not in ROUTES:
            raise ApiError(400, 3054, "Invalid route for this market.")
        return out

    def _record(self, oid: int, f: dict[str, Any], now: datetime, chain: int) -> dict[str, Any]:
        info = self.market.by_id[f["symbolId"]]
        return {
            "id": oid, "symbol": info.symbol, "symbolId": info.symbol_id,
            "totalQuantity": f["quantity"], "openQuantity": f["quantity"],
            "filledQuantity": 0, "canceledQuantity": 0, "side": f["action"],
            "orderType": f["orderType"], "limitPrice": f["limitPrice"],
            "stopPrice": f["stopPrice"], "isAllOrNone": bool(f.get("isAllOrNone")),
            "isAnonymous": bool(f.get("isAnonymous")), "icebergQuantity": None,
            "minQuantity": None, "avgExecPrice": None, "lastExecPrice": None,
            "source": "TradingAPI", "timeInForce": f["timeInForce"], "gtdDate": None,
            "state": "Pending", "clientReasonStr": "", "chainId": chain,
            "creationTime": qt_time(now), "updateTime": qt_time(now), "notes": "",
            "primaryRoute": "AUTO", "secondaryRoute": "", "orderRoute": "LAMP",
            "venueHoldingOrder": "", "comissionCharged": 0, "exchangeOrderId": f"XS{oid}",
            "strategyType": "SingleLeg", "orderGroupId": 0, "orderClass": None,
        }  # fmt: skip

    @staticmethod
    def _set(order: dict[str, Any], state: str, now: datetime) -> None:
        order["state"] = state
        order["updateTime"] = qt_time(now)

    async def _notify(
        self, orders: list[dict[str, Any]], executions: list[dict[str, Any]] | None = None
    ) -> None:
        from quant_agent.questrade.sandbox_data import ACCOUNTS

        doc: dict[str, Any] = {"orders": [copy.deepcopy(o) for o in orders]}
        if executions:
            doc["executions"] = copy.deepcopy(executions)
        doc["accountNumber"] = int(ACCOUNTS[0])
        await self._push(doc)


def _order_id(raw: str) -> int:
    if not raw.isdigit():
        raise ApiError(404, 1001, "Invalid endpoint.")
    return int(raw)
