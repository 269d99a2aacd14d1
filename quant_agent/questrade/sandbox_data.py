"""The sandbox's market and account: Questrade-shaped JSON records driven from a HistoryStore.

Owns the symbol table (the spec's fixtures ``AAPL``, ``MSFT``, ``RY.TO``, the dual listing
``GOOS``/``GOOS.TO``, ``GDNP.VN``, the null-priced delayed ``BABA``, plus every ticker of
the history), a deterministic intraday price path through each daily bar (so quotes and
candles agree), and a small fixed account. Times are rendered as Questrade does: six
fractional digits and an America/Toronto offset. Pure given ``now``: no I/O, no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from quant_agent.market.history import HistoryStore

ET = ZoneInfo("America/Toronto")
OPEN, CLOSE = time(9, 30), time(16, 0)
INTERVAL_MINUTES = {
    "OneMinute": 1, "TwoMinutes": 2, "ThreeMinutes": 3, "FourMinutes": 4, "FiveMinutes": 5,
    "TenMinutes": 10, "FifteenMinutes": 15, "TwentyMinutes": 20, "HalfHour": 30,
    "OneHour": 60, "TwoHours": 120, "FourHours": 240,
}  # fmt: skip
LONG_INTERVALS = ("OneDay", "OneWeek", "OneMonth", "OneYear")
MAX_CANDLES = 2000
ACCOUNTS = ("26598145", "23456789")


def qt_time(t: datetime) -> str:
    """Render an instant as Questrade does: ``2026-03-03T16:48:34.140000-05:00``."""
    return t.astimezone(ET).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class SymbolInfo:
    symbol: str
    symbol_id: int
    currency: str
    exchange: str
    description: str
    source: str | None  # history ticker driving its prices; None: no prices (null quote)
    delay: int = 0


_FIXTURES = (
    ("AAPL", 8049, "USD", "NASDAQ", "APPLE INC"),
    ("MSFT", 27426, "USD", "NASDAQ", "MICROSOFT CORP"),
    ("RY.TO", 34658, "CAD", "TSX", "ROYAL BANK OF CANADA"),
    ("GOOS", 16942723, "USD", "NYSE", "CANADA GOOSE HOLDINGS"),
    ("GOOS.TO", 16942709, "CAD", "TSX", "CANADA GOOSE HOLDINGS INC"),
    ("GDNP.VN", 22001001, "CAD", "TSXV", "GOOD NATURED PRODUCTS INC"),
)


class SandboxMarket:
    """Symbols, quotes, candles and an account computed from ``history`` at a given instant."""

    def __init__(self, history: HistoryStore) -> None:
        self.history = history
        tickers = history.tickers
        symbols = [
            SymbolInfo(name, sid, cur, exch, desc, tickers[i % len(tickers)])
            for i, (name, sid, cur, exch, desc) in enumerate(_FIXTURES)
        ]
        symbols.append(SymbolInfo("BABA", 7422546, "USD", "NYSE", "ALIBABA GROUP", None, 15))
        symbols += [
            SymbolInfo(t, 1000 + i, "USD", "NYSE", f"{t} (replayed)", t)
            for i, t in enumerate(tickers)
        ]
        self.by_id = {s.symbol_id: s for s in symbols}
        self.by_name = {s.symbol: s for s in symbols}
        self._bars: dict[str, pd.DataFrame] = {t: history.bars(t) for t in tickers}

    # --- prices -----------------------------------------------------------------------------

    def _bar(self, source: str, day: date) -> tuple[date, Any] | None:
        frame = self._bars[source]
        i = int(frame.index.searchsorted(pd.Timestamp(day), side="right")) - 1
        if i < 0:
            return None
        return frame.index[i].date(), frame.iloc[i]

    def price_at(self, source: str, t: datetime) -> float | None:
        """The replayed price at ``t``: a smooth path open → close inside the session."""
        local = t.astimezone(ET)
        found = self._bar(source, local.date())
        if found is None:
            return None
        day, bar = found
        start = datetime.combine(day, OPEN, ET)
        end = datetime.combine(day, CLOSE, ET)
        if day < local.date() or local >= end:
            return float(bar["close"])
        if local <= start:
            prev = self._bar(source, day - timedelta(days=1))
            return float(prev[1]["close"]) if prev else float(bar["open"])
        frac = (local - start) / (end - start)
        o, c, h, lo = (float(bar[k]) for k in ("open", "close", "high", "low"))
        wiggle = (h - lo) * 0.25 * math.sin(2 * math.pi * 3 * frac)
        return min(h, max(lo, o + (c - o) * frac + wiggle))

    def quote(self, info: SymbolInfo, now: datetime, delay: int | None = None) -> dict[str, Any]:
        last = self.price_at(info.source, now) if info.source else None
        record: dict[str, Any] = {
            "symbol": info.symbol, "symbolId": info.symbol_id, "tier": "",
            "bidPrice": None, "bidSize": 0, "askPrice": None, "askSize": 0,
            "lastTradePriceTrHrs": None, "lastTradePrice": None, "lastTradeSize": 0,
            "lastTradeTick": None, "lastTradeTime": None, "volume": 0, "openPrice": None,
            "highPrice": None, "lowPrice": None, "delay": info.delay if delay is None else delay,
            "isHalted": False, "high52w": None, "low52w": None, "VWAP": None,
        }  # fmt: skip
        if last is None:
            return record
        half = max(0.01, round(last * 0.0005, 2))
        last = round(last, 2)
        record.update(
            bidPrice=round(last - half, 2), askPrice=round(last + half, 2),
            bidSize=100 + info.symbol_id % 7 * 100, askSize=200 + info.symbol_id % 5 * 100,
            lastTradePriceTrHrs=last, lastTradePrice=last, lastTradeSize=100,
            lastTradeTick="Equal", lastTradeTime=qt_time(now - timedelta(seconds=1)),
            volume=10_000 + info.symbol_id % 1000, openPrice=last, highPrice=last,
            lowPrice=last, VWAP=last,
        )  # fmt: skip
        return record

    # --- candles ----------------------------------------------------------------------------

    def candles(
        self, info: SymbolInfo, start: datetime, end: datetime, interval: str, now: datetime
    ) -> list[dict[str, Any]]:
        """Bars of ``interval`` starting in [start, end], at most 2,000; the bar holding
        ``now`` is partial (its ``end`` is ``now``)."""
        if info.source is None:
            return []
        end = min(end, now)
        out: list[dict[str, Any]] = []
        frame = self._bars[info.source]
        first = pd.Timestamp((start.astimezone(ET) - timedelta(days=1)).date())
        last = pd.Timestamp(end.astimezone(ET).date())
        days = frame.loc[first:last]
        if interval in INTERVAL_MINUTES:
            step = timedelta(minutes=INTERVAL_MINUTES[interval])
            for ts, bar in days.iterrows():
                t = datetime.combine(ts.date(), OPEN, ET)
                close = datetime.combine(ts.date(), CLOSE, ET)
                per_bar = int(bar["volume"] * step / (close - t))
                while t < close and len(out) < MAX_CANDLES:
                    if start <= t <= end and t < now:
                        out.append(
                            self._intraday(info.source, t, min(t + step, close), now, per_bar)
                        )
                    t += step
        elif interval in LONG_INTERVALS:
            out = self._long_candles(days, start, end, interval, now)
        return out[:MAX_CANDLES]

    def _intraday(
        self, source: str, t: datetime, e: datetime, now: datetime, volume: int
    ) -> dict[str, Any]:
        e = min(e, now)
        o = self.price_at(source, t) or 0.0
        c = self.price_at(source, e) or o
        return _candle(t, e, o, max(o, c), min(o, c), c, volume)

    def _long_candles(
        self, days: pd.DataFrame, start: datetime, end: datetime, interval: str, now: datetime
    ) -> list[dict[str, Any]]:
        key = {"OneDay": "D", "OneWeek": "W-FRI", "OneMonth": "M", "OneYear": "Y"}[interval]
        first_day = start.astimezone(ET).date()
        days = days[days.index >= pd.Timestamp(first_day)]
        out = []
        for period, group in days.groupby(days.index.to_period(key)):
            # As observed, the first candle may start at the requested start, mid-period.
            t = max(datetime.combine(period.start_time.date(), time(0), ET), start)
            e = datetime.combine(period.end_time.date() + timedelta(days=1), time(0), ET)
            if t > end or t >= now:
                break
            out.append(
                _candle(t, min(e, now), float(group["open"].iloc[0]), float(group["high"].max()),
                        float(group["low"].min()), float(group["close"].iloc[-1]),
                        int(group["volume"].sum()))
            )  # fmt: skip
        return out

    # --- account ----------------------------------------------------------------------------

    def positions(self, now: datetime) -> list[dict[str, Any]]:
        rows = []
        for name, qty, cost in (("AAPL", 10, 150.0), ("RY.TO", 100, 128.4)):
            info = self.by_name[name]
            price = round(self.price_at(info.source or "", now) or cost, 2)
            rows.append({
                "symbol": name, "symbolId": info.symbol_id, "openQuantity": qty,
                "closedQuantity": 0, "currentMarketValue": round(price * qty, 2),
                "currentPrice": price, "averageEntryPrice": cost, "dayPnl": 0.0, "closedPnl": 0,
                "openPnl": round((price - cost) * qty, 2), "totalCost": round(cost * qty, 2),
                "isRealTime": True, "isUnderReorg": False,
            })  # fmt: skip
        return rows


#: The invalid quotes ``bad_quote`` makes, each a field overwrite of a valid record.
BAD_QUOTES: dict[str, dict[str, Any]] = {
    "crossed": {"bidPrice": "ask+1"},  # the bid above the ask
    "zero": {"bidPrice": 0.0, "askPrice": 0.0, "lastTradePrice": 0.0},
    "negative": {"bidPrice": -1.5, "askPrice": -1.0},
    "null": {"bidPrice": None, "askPrice": None},
    "nan": {"bidPrice": math.nan, "askPrice": math.nan},
}


def bad_quote(record: dict[str, Any], kind: str) -> dict[str, Any]:
    """``record`` made invalid the ``kind`` way (``BAD_QUOTES``); NaN pushes as bare JSON NaN."""
    bad = dict(record, **BAD_QUOTES[kind])
    if kind == "crossed":
        bad["bidPrice"] = round(float(record["askPrice"]) + 1.0, 2)
    return bad


def _candle(
    t: datetime, e: datetime, o: float, h: float, lo: float, c: float, volume: int
) -> dict[str, Any]:
    return {
        "start": qt_time(t), "end": qt_time(e), "low": round(lo, 4), "high": round(h, 4),
        "open": round(o, 4), "close": round(c, 4), "volume": volume,
        "VWAP": round((h + lo + c) / 3, 6),
    }  # fmt: skip


def balances() -> dict[str, Any]:
    def row(currency: str, cash: float, value: float) -> dict[str, Any]:
        return {
            "currency": currency, "cash": cash, "marketValue": value,
            "totalEquity": round(cash + value, 2), "buyingPower": round(cash + value, 2),
            "maintenanceExcess": round(cash + value, 2), "isRealTime": True,
        }  # fmt: skip

    per = [row("CAD", 10000.0, 12840.0), row("USD", 5000.0, 1500.0)]
    return {
        "perCurrencyBalances": per,
        "combinedBalances": [row("CAD", 16900.0, 14910.0), row("USD", 12245.5, 10800.0)],
        "sodPerCurrencyBalances": per,
        "sodCombinedBalances": [row("CAD", 16900.0, 14910.0)],
    }


def markets(now: datetime) -> list[dict[str, Any]]:
    day = now.astimezone(ET).date()

    def at(hh: int, mm: int) -> str:
        return qt_time(datetime.combine(day, time(hh, mm), ET))

    out = []
    for name, l1 in (("TSX", "TSX"), ("TSXV", "TSXV"), ("NASDAQ", "NASDAQ"), ("NYSE", "NYSE")):
        out.append({
            "name": name, "tradingVenues": [name], "defaultTradingVenue": "AUTO",
            "primaryOrderRoutes": ["AUTO"], "secondaryOrderRoutes": ["AUTO"],
            "level1Feeds": [l1], "level2Feeds": [],
            "extendedStartTime": at(7, 0) if name.startswith("TSX") else at(4, 0),
            "startTime": at(9, 30), "endTime": at(16, 0), "extendedEndTime": at(20, 0),
            "snapQuotesLimit": 2147483647,
        })  # fmt: skip
    return out


OPEN_STATES = {"Pending", "Accepted", "Partial", "CancelPending", "ReplacePending", "Queued"}


def symbol_record(info: SymbolInfo, *, full: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "symbol": info.symbol, "symbolId": info.symbol_id, "description": info.description,
        "securityType": "Stock", "listingExchange": info.exchange, "isTradable": True,
        "isQuotable": True, "currency": info.currency,
    }  # fmt: skip
    if full:
        row.update(prevDayClosePrice=None, tradeUnit=1, hasOptions=False, minTicks=[
            {"pivot": 0, "minTick": 0.0001}, {"pivot": 1, "minTick": 0.01}])  # fmt: skip
    return row


def seed_orders(
    now: datetime, market: SandboxMarket
) -> tuple[list[tuple[str, datetime, dict[str, Any]]], list[tuple[str, datetime, dict[str, Any]]]]:
    """Today's history of the account: an executed buy with its fill and an open limit."""
    aapl = market.by_name["AAPL"]
    placed = now - timedelta(minutes=30)

    def order(oid: int, state: str, filled: int, limit: float | None) -> dict[str, Any]:
        return {
            "id": oid, "symbol": "AAPL", "symbolId": aapl.symbol_id, "totalQuantity": 10,
            "openQuantity": 10 - filled, "filledQuantity": filled, "canceledQuantity": 0,
            "side": "Buy", "orderType": "Limit" if limit else "Market", "limitPrice": limit,
            "stopPrice": None, "isAllOrNone": False, "isAnonymous": False,
            "icebergQuantity": None, "minQuantity": None,
            "avgExecPrice": 150.0 if filled else None, "lastExecPrice": 150.0 if filled else None,
            "source": "QuestradeIQEdge", "timeInForce": "Day", "gtdDate": None, "state": state,
            "clientReasonStr": "", "chainId": oid, "creationTime": qt_time(placed),
            "updateTime": qt_time(placed), "notes": "", "primaryRoute": "AUTO",
            "secondaryRoute": "", "orderRoute": "LAMP", "venueHoldingOrder": "",
            "comissionCharged": 0, "exchangeOrderId": f"XS{oid}", "strategyType": "SingleLeg",
            "orderGroupId": 0, "orderClass": None,
        }  # fmt: skip

    fill = {
        "symbol": "AAPL", "symbolId": aapl.symbol_id, "quantity": 10, "side": "Buy",
        "price": 150.0, "id": 53817310, "orderId": 177106005, "orderChainId": 177106005,
        "exchangeExecId": "XS1771060050147", "timestamp": qt_time(placed), "notes": "",
        "venue": "LAMP", "totalCost": 1500.0, "orderPlacementCommission": 0,
        "commission": 4.95, "executionFee": 0, "secFee": 0, "canadianExecutionFee": 0,
        "parentId": 0, "legId": 0,
    }  # fmt: skip
    orders = [
        (ACCOUNTS[0], placed, order(177106005, "Executed", 10, None)),
        (ACCOUNTS[0], placed, order(177106006, "Accepted", 0, 120.0)),
    ]
    return orders, [(ACCOUNTS[0], placed, fill)]
