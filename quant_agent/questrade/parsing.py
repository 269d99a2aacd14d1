"""Pure, table-driven decoders of Questrade's JSON into ``models``.

Each record type has one table: attribute, wire name(s) (first match wins, so the observed
spelling comes first and the documented one after it), converter, default. ``decode``
walks a table; every failure raises ``QuestradeParseError`` naming the path
(``positions[2].symbolId``) and what was wrong, never the value of a token. Money becomes
``Decimal`` (floats through ``str``), instants aware UTC. No I/O, no clock.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import msgspec
from pydantic import SecretStr

from quant_agent.core.errors import InvalidQuoteError
from quant_agent.core.market import Quote
from quant_agent.questrade import models as m
from quant_agent.questrade.decoding import (
    F,
    boolean,
    decimal,
    decode,
    delay,
    fail,
    flexible_text,
    instant,
    integer,
    null_false,
    nullable,
    or_zero,
    strings,
    text,
)
from quant_agent.questrade.errors import QuestradeParseError

T = TypeVar("T")


DEC0 = or_zero(decimal)
NDEC = nullable(decimal)
NTEXT = nullable(text)

ACCOUNT = (
    F("number", "number", flexible_text),
    F("type", "type", text),
    F("status", "status", text, ""),
    F("is_primary", "isPrimary", boolean, False),
    F("is_billing", "isBilling", boolean, False),
    F("client_account_type", "clientAccountType", text, ""),
)
POSITION = (
    F("symbol", "symbol", text),
    F("symbol_id", "symbolId", integer),
    F("open_quantity", "openQuantity", DEC0, Decimal(0)),
    F("closed_quantity", "closedQuantity", DEC0, Decimal(0)),
    F("current_market_value", "currentMarketValue", NDEC, None),
    F("current_price", "currentPrice", NDEC, None),
    F("average_entry_price", "averageEntryPrice", DEC0, Decimal(0)),
    F("day_pnl", ("dayPnl", "dayPnL"), NDEC, None),
    F("closed_pnl", ("closedPnl", "closedPnL"), NDEC, None),
    F("open_pnl", ("openPnl", "openPnL"), NDEC, None),
    F("total_cost", "totalCost", DEC0, Decimal(0)),
    F("is_real_time", "isRealTime", boolean, False),
    F("is_under_reorg", "isUnderReorg", boolean, False),
)
BALANCE = (
    F("currency", "currency", text),
    F("cash", "cash", DEC0),
    F("market_value", "marketValue", DEC0),
    F("total_equity", "totalEquity", DEC0),
    F("buying_power", "buyingPower", DEC0),
    F("maintenance_excess", "maintenanceExcess", DEC0),
    F("is_real_time", "isRealTime", boolean, False),
)
EXECUTION = (
    F("id", "id", integer),
    F("order_id", "orderId", integer),
    F("order_chain_id", "orderChainId", integer, 0),
    F("symbol", "symbol", text),
    F("symbol_id", "symbolId", integer),
    F("quantity", "quantity", decimal),
    F("side", "side", text),
    F("price", "price", decimal),
    F("timestamp", ("timestamp", "timestam"), instant),
    F("exchange_exec_id", "exchangeExecId", nullable(text), ""),
    F("venue", "venue", nullable(text), ""),
    F("notes", "notes", nullable(text), ""),
    F("total_cost", "totalCost", DEC0, Decimal(0)),
    F("commission", "commission", DEC0, Decimal(0)),
    F("execution_fee", "executionFee", DEC0, Decimal(0)),
    F("sec_fee", "secFee", DEC0, Decimal(0)),
    F("canadian_execution_fee", "canadianExecutionFee", DEC0, Decimal(0)),
    F("order_placement_commission", "orderPlacementCommission", DEC0, Decimal(0)),
    F("parent_id", "parentId", or_zero(integer), 0),
    F("leg_id", "legId", or_zero(integer), 0),
)
ORDER = (
    F("id", "id", integer),
    F("symbol", "symbol", text),
    F("symbol_id", "symbolId", integer),
    F("total_quantity", "totalQuantity", decimal),
    F("open_quantity", "openQuantity", DEC0, Decimal(0)),
    F("filled_quantity", "filledQuantity", DEC0, Decimal(0)),
    F("canceled_quantity", "canceledQuantity", DEC0, Decimal(0)),
    F("side", "side", text),
    F("order_type", ("orderType", "type"), text),
    F("limit_price", "limitPrice", NDEC, None),
    F("stop_price", "stopPrice", NDEC, None),
    F("avg_exec_price", "avgExecPrice", NDEC, None),
    F("last_exec_price", "lastExecPrice", NDEC, None),
    F("state", "state", text),
    F("time_in_force", "timeInForce", text),
    F("chain_id", "chainId", integer, 0),
    F("creation_time", "creationTime", instant),
    F("update_time", "updateTime", instant),
    F("source", "source", nullable(text), ""),
    F("is_all_or_none", "isAllOrNone", boolean, False),
    F("is_anonymous", "isAnonymous", boolean, False),
    F("iceberg_quantity", ("icebergQuantity", "icebergQty"), NDEC, None),
    F("min_quantity", "minQuantity", NDEC, None),
    F("gtd_date", "gtdDate", nullable(instant), None),
    F("client_reason", ("clientReasonStr", "rejectionReason"), nullable(text), ""),
    F("notes", "notes", nullable(text), ""),
    F("primary_route", "primaryRoute", nullable(text), ""),
    F("secondary_route", "secondaryRoute", nullable(text), ""),
    F("order_route", "orderRoute", nullable(text), ""),
    F("exchange_order_id", "exchangeOrderId", nullable(text), ""),
    F("commission_charged", ("comissionCharged", "commissionCharged"), DEC0, Decimal(0)),
    F("strategy_type", "strategyType", nullable(text), ""),
    F("order_group_id", "orderGroupId", or_zero(integer), 0),
    F("order_class", "orderClass", NTEXT, None),
)
ACTIVITY = (
    F("type", "type", text),
    F("action", "action", nullable(text), ""),
    F("symbol", "symbol", nullable(text), ""),
    F("symbol_id", "symbolId", or_zero(integer), 0),
    F("description", "description", nullable(text), ""),
    F("currency", "currency", text),
    F("trade_date", "tradeDate", instant),
    F("transaction_date", "transactionDate", instant),
    F("settlement_date", "settlementDate", instant),
    F("quantity", "quantity", DEC0, Decimal(0)),
    F("price", "price", DEC0, Decimal(0)),
    F("gross_amount", "grossAmount", DEC0, Decimal(0)),
    F("commission", "commission", DEC0, Decimal(0)),
    F("net_amount", "netAmount", DEC0, Decimal(0)),
)
MARKET = (
    F("name", "name", text),
    F("trading_venues", "tradingVenues", strings, ()),
    F("default_trading_venue", "defaultTradingVenue", nullable(text), ""),
    F("primary_order_routes", "primaryOrderRoutes", strings, ()),
    F("secondary_order_routes", "secondaryOrderRoutes", strings, ()),
    F("level1_feeds", "level1Feeds", strings, ()),
    F("level2_feeds", "level2Feeds", strings, ()),
    F("extended_start_time", "extendedStartTime", instant),
    F("start_time", "startTime", instant),
    F("end_time", "endTime", instant),
    F("extended_end_time", "extendedEndTime", instant),
    F("snap_quotes_limit", "snapQuotesLimit", integer, 0),
    F("currency", "currency", NTEXT, None),
)


def _min_ticks(value: Any, path: str) -> tuple[tuple[Decimal, Decimal], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise fail(path, "a list", value)
    return tuple(
        (
            decimal(_get(t, "pivot", f"{path}[{i}]"), f"{path}[{i}].pivot"),
            decimal(_get(t, "minTick", f"{path}[{i}]"), f"{path}[{i}].minTick"),
        )
        for i, t in enumerate(value)
    )


SYMBOL = (
    F("symbol", "symbol", text),
    F("symbol_id", "symbolId", integer),
    F("description", "description", nullable(text), ""),
    F("security_type", "securityType", nullable(text), ""),
    F("listing_exchange", "listingExchange", nullable(text), ""),
    F("is_tradable", "isTradable", boolean, True),
    F("is_quotable", "isQuotable", boolean, True),
    F("currency", "currency", text),
    F("prev_day_close_price", "prevDayClosePrice", NDEC, None),
    F("high_price52", "highPrice52", NDEC, None),
    F("low_price52", "lowPrice52", NDEC, None),
    F("average_vol3_months", "averageVol3Months", nullable(integer), None),
    F("average_vol20_days", "averageVol20Days", nullable(integer), None),
    F("outstanding_shares", "outstandingShares", nullable(integer), None),
    F("eps", "eps", NDEC, None),
    F("pe", "pe", NDEC, None),
    F("dividend", "dividend", NDEC, None),
    F("dividend_yield", "yield", NDEC, None),
    F("market_cap", "marketCap", NDEC, None),
    F("trade_unit", "tradeUnit", nullable(integer), None),
    F("has_options", "hasOptions", nullable(boolean), None),
    F("min_ticks", "minTicks", _min_ticks, ()),
    F("industry_sector", "industrySector", NTEXT, None),
)
QUOTE = (
    F("symbol", "symbol", text),
    F("symbol_id", "symbolId", integer),
    F("tier", "tier", nullable(text), ""),
    F("bid_price", "bidPrice", NDEC, None),
    F("bid_size", "bidSize", or_zero(integer), 0),
    F("ask_price", "askPrice", NDEC, None),
    F("ask_size", "askSize", or_zero(integer), 0),
    F("last_trade_price_tr_hrs", ("lastTradePriceTrHrs", "lastTradeTrHrs"), NDEC, None),
    F("last_trade_price", "lastTradePrice", NDEC, None),
    F("last_trade_size", "lastTradeSize", or_zero(integer), 0),
    F("last_trade_tick", "lastTradeTick", NTEXT, None),
    F("last_trade_time", "lastTradeTime", nullable(instant), None),
    F("volume", "volume", or_zero(integer), 0),
    F("open_price", "openPrice", NDEC, None),
    F("high_price", "highPrice", NDEC, None),
    F("low_price", "lowPrice", NDEC, None),
    F("delay", "delay", delay, 0),
    F("is_halted", "isHalted", null_false, False),
    F("high52w", "high52w", NDEC, None),
    F("low52w", "low52w", NDEC, None),
    F("vwap", "VWAP", NDEC, None),
)
CANDLE = (
    F("start", "start", instant),
    F("end", "end", instant),
    F("open", "open", decimal),
    F("high", "high", decimal),
    F("low", "low", decimal),
    F("close", "close", decimal),
    F("volume", "volume", or_zero(integer), 0),
    F("vwap", "VWAP", NDEC, None),
)


# --- documents -------------------------------------------------------------------------------

_fast_decode = msgspec.json.Decoder().decode


def loads(body: str | bytes, what: str) -> Any:
    """Decode JSON text; malformed text raises ``QuestradeParseError`` naming ``what``.

    msgspec first (several times faster, the stream's hot path); what it refuses goes
    through ``json``, which also takes ``NaN`` and ``Infinity`` so such a quote is rejected
    by validation, one record, not the whole frame."""
    try:
        return _fast_decode(body)
    except (msgspec.MsgspecError, RecursionError):
        pass
    try:
        return json.loads(body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        reason = getattr(exc, "msg", None) or type(exc).__name__
        raise QuestradeParseError(f"{what}: reply is not valid JSON ({reason})") from None
    except RecursionError:
        raise QuestradeParseError(f"{what}: reply is nested too deeply") from None


def _get(doc: Any, key: str, what: str) -> Any:
    if not isinstance(doc, Mapping):
        raise fail(what, "an object", doc)
    if key not in doc:
        raise QuestradeParseError(f"{what}: missing field {key!r}")
    return doc[key]


def _records(cls: type[T], table: Sequence[F], doc: Any, key: str) -> tuple[T, ...]:
    items = _get(doc, key, key)
    if not isinstance(items, list):
        raise fail(key, "a list", items)
    return tuple(decode(cls, table, item, f"{key}[{i}]") for i, item in enumerate(items))


def normalise_api_server(value: str) -> str:
    """Return ``value`` as ``scheme://host[:port]/v1/`` (drop ``\\``, trailing ``/``, ``/v1``)."""
    url = value.replace("\\", "").strip().rstrip("/")
    if url.endswith("/v1"):
        url = url[: -len("/v1")].rstrip("/")
    if not url.startswith(("https://", "http://")) or "://" not in url or not url.split("://")[1]:
        raise QuestradeParseError("token.api_server: expected an http(s) URL")
    return url + "/v1/"


def parse_token(doc: Any) -> m.Token:
    """Decode the login server's reply (tokens are wrapped in ``SecretStr`` at once)."""
    if not isinstance(doc, Mapping):
        raise fail("token", "an object", doc)
    for key in ("access_token", "refresh_token", "api_server"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise QuestradeParseError(f"token: missing or empty field {key!r}")
    expires_in = integer(doc.get("expires_in", 1800), "token.expires_in")
    if expires_in <= 0:
        raise QuestradeParseError("token.expires_in: expected a positive number of seconds")
    return m.Token(
        access_token=SecretStr(doc["access_token"]),
        token_type=str(doc.get("token_type") or "Bearer"),
        expires_in=expires_in,
        refresh_token=SecretStr(doc["refresh_token"]),
        api_server=normalise_api_server(doc["api_server"]),
    )


def parse_time(doc: Any) -> datetime:
    return instant(_get(doc, "time", "time"), "time")


def parse_accounts(doc: Any) -> m.Accounts:
    user = doc.get("userId") if isinstance(doc, Mapping) else None
    return m.Accounts(
        accounts=_records(m.Account, ACCOUNT, doc, "accounts"),
        user_id=nullable(integer)(user, "userId"),
    )


def parse_positions(doc: Any) -> tuple[m.Position, ...]:
    return _records(m.Position, POSITION, doc, "positions")


def parse_balances(doc: Any) -> m.Balances:
    def part(key: str) -> tuple[m.Balance, ...]:
        if isinstance(doc, Mapping) and key not in doc:
            return ()
        return _records(m.Balance, BALANCE, doc, key)

    _get(doc, "perCurrencyBalances", "balances")
    return m.Balances(
        per_currency=part("perCurrencyBalances"),
        combined=part("combinedBalances"),
        sod_per_currency=part("sodPerCurrencyBalances"),
        sod_combined=part("sodCombinedBalances"),
    )


def parse_executions(doc: Any) -> tuple[m.Execution, ...]:
    return _records(m.Execution, EXECUTION, doc, "executions")


def parse_orders(doc: Any) -> tuple[m.BrokerOrder, ...]:
    return _records(m.BrokerOrder, ORDER, doc, "orders")


def parse_order_id(doc: Any) -> int:
    return integer(_get(doc, "orderId", "order reply"), "orderId")


def parse_activities(doc: Any) -> tuple[m.Activity, ...]:
    return _records(m.Activity, ACTIVITY, doc, "activities")


def parse_markets(doc: Any) -> tuple[m.Market, ...]:
    return _records(m.Market, MARKET, doc, "markets")


def parse_symbols(doc: Any) -> tuple[m.Symbol, ...]:
    return _records(m.Symbol, SYMBOL, doc, "symbols")


def parse_quotes(doc: Any) -> tuple[m.Level1Quote, ...]:
    return _records(m.Level1Quote, QUOTE, doc, "quotes")


def parse_candles(doc: Any) -> tuple[m.Candle, ...]:
    return _records(m.Candle, CANDLE, doc, "candles")


def parse_stream_port(doc: Any) -> int:
    port = integer(_get(doc, "streamPort", "streamPort"), "streamPort")
    if not 0 < port < 65536:
        raise fail("streamPort", "a TCP port", port)
    return port


def parse_quote_update(raw: Any, path: str = "quotes[]") -> tuple[int, dict[str, Any]]:
    """Decode one streamed quote record that may carry only some fields: (symbolId, fields)."""
    fields = decode(m.Level1Quote, QUOTE, raw, path, partial=True)
    if "symbol_id" not in fields:
        raise QuestradeParseError(f"{path}: missing field 'symbolId'")
    return fields["symbol_id"], fields


def parse_notification(doc: Any) -> m.Notification:
    """Decode a notifications push: ``orders`` and optional ``executions``."""
    executions: tuple[m.Execution, ...] = ()
    if isinstance(doc, Mapping) and "executions" in doc:
        executions = _records(m.Execution, EXECUTION, doc, "executions")
    account = doc.get("accountNumber") if isinstance(doc, Mapping) else None
    return m.Notification(
        orders=_records(m.BrokerOrder, ORDER, doc, "orders"),
        executions=executions,
        account_number=nullable(flexible_text)(account, "accountNumber"),
    )


def to_quote(
    q: m.Level1Quote, *, ticker: str, ts_init: datetime, allow_delayed: bool = False
) -> Quote:
    """Validate a Questrade quote into a core ``Quote``; raise ``InvalidQuoteError`` saying why.

    Null, zero, negative, NaN or crossed prices are refused, and so is delayed data
    (``delay`` > 0) unless ``allow_delayed``. Questrade sends no quote time, so the event
    time is the receive time ``ts_init``.
    """
    if q.delay > 0 and not allow_delayed:
        raise InvalidQuoteError(f"{ticker}: delayed quote ({q.delay} min) and delayed data is off")
    if q.bid_price is None or q.ask_price is None:
        raise InvalidQuoteError(f"{ticker}: quote without bid or ask")
    return Quote.parse(
        ticker=ticker,
        bid=q.bid_price,
        ask=q.ask_price,
        last=q.last_trade_price if q.last_trade_price and q.last_trade_price > 0 else None,
        bid_size=q.bid_size,
        ask_size=q.ask_size,
        volume=q.volume,
        ts_event=ts_init,
        ts_init=ts_init,
        is_halted=q.is_halted,
        delay=q.delay,
    )
