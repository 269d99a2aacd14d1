"""Decoding Questrade's documented JSON (fixtures written from the spec's captured shapes)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from quant_agent.core.errors import DataError, InvalidQuoteError
from quant_agent.questrade import parsing as p
from quant_agent.questrade.errors import QuestradeParseError

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def test_token_normalises_escaped_api_server_and_hides_tokens() -> None:
    raw = (FIXTURES / "token.json").read_text()
    token = p.parse_token(p.loads(raw, "token"))
    assert token.api_server == "https://api03.iq.questrade.com/v1/"
    assert token.expires_in == 1800
    assert token.refresh_token.get_secret_value() == "aSBe7wAAdx88QTbwut0tiu3SYic3ox8F"
    assert "aSBe7" not in repr(token) and "C3lTU" not in repr(token)


@pytest.mark.parametrize(
    "value",
    [
        "https://api01.iq.questrade.com/",
        "https://api01.iq.questrade.com",
        "https://api01.iq.questrade.com/v1",
        "https://api01.iq.questrade.com/v1/",
        "https:\\/\\/api01.iq.questrade.com\\/",
    ],
)
def test_api_server_variants_normalise_to_one_base(value: str) -> None:
    assert p.normalise_api_server(value) == "https://api01.iq.questrade.com/v1/"


def test_token_without_refresh_token_is_a_clear_error_without_the_access_token() -> None:
    with pytest.raises(QuestradeParseError, match="refresh_token") as err:
        p.parse_token({"access_token": "SECRETACCESS", "api_server": "https://x/"})
    assert "SECRETACCESS" not in str(err.value)


def test_time_is_aware_utc() -> None:
    assert p.parse_time(fixture("time")) == datetime(2026, 3, 3, 21, 48, 34, 140000, tzinfo=UTC)


def test_accounts() -> None:
    accounts = p.parse_accounts(fixture("accounts"))
    assert accounts.user_id == 100001
    assert [a.number for a in accounts.accounts] == ["12345678", "23456789"]
    assert accounts.accounts[1].type == "TFSA" and accounts.accounts[1].is_primary


def test_positions_tolerate_pnl_spellings_and_nulls() -> None:
    ry, option = p.parse_positions(fixture("positions"))
    assert ry.open_quantity == 100 and ry.average_entry_price == Decimal("128.4")
    assert ry.open_pnl == Decimal("672.0") and ry.day_pnl == Decimal("45.0")
    assert option.open_quantity == 0 and option.total_cost == 0
    assert option.closed_pnl == Decimal("1.5") and option.current_price is None


def test_balances_all_four_lists() -> None:
    balances = p.parse_balances(fixture("balances"))
    assert [b.currency for b in balances.per_currency] == ["CAD", "USD"]
    assert balances.per_currency[1].cash == Decimal("6.30")
    assert balances.combined[0].total_equity == Decimal("60178.6")
    assert len(balances.sod_per_currency) == 1 and balances.sod_combined == ()


def test_executions_accept_the_docs_misspelling_timestam() -> None:
    first, second = p.parse_executions(fixture("executions"))
    assert first.price == Decimal("536.87") and first.commission == Decimal("4.95")
    assert first.timestamp == datetime(2014, 3, 31, 17, 38, 29, tzinfo=UTC)
    assert second.timestamp == datetime(2014, 11, 3, 15, 0, tzinfo=UTC)
    assert second.leg_id == 0


def test_orders_tolerate_field_variants() -> None:
    limit, market = p.parse_orders(fixture("orders"))
    assert limit.order_type == "Limit" and limit.limit_price == Decimal("500.95")
    assert limit.stop_price is None and limit.state == "Accepted"
    assert market.order_type == "Market"  # "type" spelling
    assert market.commission_charged == Decimal("4.95")  # "commissionCharged"
    assert limit.commission_charged == 0  # "comissionCharged" (sic)
    assert market.avg_exec_price == Decimal("135.1") and market.order_class == "Primary"


def test_activities_including_non_trade_rows() -> None:
    trade, interest = p.parse_activities(fixture("activities"))
    assert trade.net_amount == Decimal("-1005.01") and trade.symbol == "XYZ.TO"
    assert interest.type == "Interest" and interest.symbol_id == 0 and interest.action == ""


def test_markets_hours_are_utc() -> None:
    (tsx,) = p.parse_markets(fixture("markets"))
    assert tsx.start_time == datetime(2026, 3, 3, 14, 30, tzinfo=UTC)
    assert tsx.snap_quotes_limit == 2147483647 and tsx.currency is None
    assert "TSX" in tsx.level1_feeds


def test_full_and_search_symbols() -> None:
    (aapl,) = p.parse_symbols(fixture("symbols"))
    assert aapl.symbol_id == 8049 and aapl.currency == "USD"
    assert aapl.min_ticks == ((Decimal(0), Decimal("0.0001")), (Decimal(1), Decimal("0.01")))
    assert aapl.dividend_yield == Decimal("1.33861")
    tsx, nyse = p.parse_symbols(fixture("symbols_search"))
    assert (tsx.symbol, tsx.currency, nyse.symbol, nyse.currency) == (
        "GOOS.TO",
        "CAD",
        "GOOS",
        "USD",
    )
    assert tsx.symbol_id != nyse.symbol_id and tsx.prev_day_close_price is None


def test_quotes_with_null_prices_and_integer_delay() -> None:
    aapl, baba = p.parse_quotes(fixture("quotes"))
    assert aapl.bid_price == Decimal("236.45") and aapl.vwap == Decimal("236.728364")
    assert aapl.last_trade_price_tr_hrs == Decimal("235.87") and aapl.delay == 0
    assert baba.bid_price is None and baba.delay == 15 and baba.last_trade_tick is None


def test_delay_documented_as_boolean_is_tolerated() -> None:
    raw = dict(fixture("quotes")["quotes"][0], delay=True)
    (quote,) = p.parse_quotes({"quotes": [raw]})
    assert quote.delay == 15


def test_to_quote_validates_and_refuses_delayed_null_crossed() -> None:
    aapl, baba = p.parse_quotes(fixture("quotes"))
    now = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
    quote = p.to_quote(aapl, ticker="AAPL", ts_init=now)
    assert quote.bid == Decimal("236.45") and quote.ask_size == 1 and quote.ts_event == now
    with pytest.raises(InvalidQuoteError, match="delayed"):
        p.to_quote(baba, ticker="BABA", ts_init=now)
    with pytest.raises(InvalidQuoteError, match="without bid"):
        p.to_quote(baba, ticker="BABA", ts_init=now, allow_delayed=True)
    crossed = p.parse_quotes({"quotes": [dict(fixture("quotes")["quotes"][0], bidPrice=240)]})
    with pytest.raises(InvalidQuoteError, match="crossed"):
        p.to_quote(crossed[0], ticker="AAPL", ts_init=now)
    zero = p.parse_quotes({"quotes": [dict(fixture("quotes")["quotes"][0], bidPrice=0)]})
    with pytest.raises(InvalidQuoteError, match="positive"):
        p.to_quote(zero[0], ticker="AAPL", ts_init=now)


def test_nan_price_is_a_parse_error() -> None:
    doc = p.loads('{"quotes":[{"symbol":"A","symbolId":1,"bidPrice":NaN}]}', "quotes")
    with pytest.raises(QuestradeParseError, match=r"quotes\[0\]\.bidPrice: expected a finite"):
        p.parse_quotes(doc)


def test_candles_partial_last_bar_and_optional_vwap() -> None:
    full, partial = p.parse_candles(fixture("candles"))
    assert full.close == Decimal("227.06") and full.vwap == Decimal("228.144609")
    assert partial.end == datetime(2019, 10, 15, 0, 29, 24, 625000, tzinfo=UTC)
    assert partial.vwap is None


def test_stream_messages() -> None:
    assert p.parse_stream_port({"streamPort": 8080}) == 8080
    note = p.parse_notification(fixture("notification"))
    assert note.account_number == "26598145"
    assert note.orders[0].state == "Executed" and note.executions[0].order_id == 5
    symbol_id, fields = p.parse_quote_update({"symbolId": 27426, "bidPrice": 57.97})
    assert symbol_id == 27426 and fields == {"symbol_id": 27426, "bid_price": Decimal("57.97")}


@pytest.mark.parametrize(
    ("parser", "doc", "message"),
    [
        (p.parse_positions, {"positions": [{"symbol": "X", "symbolId": "abc"}]}, "symbolId"),
        (p.parse_positions, {"position": []}, "missing field 'positions'"),
        (p.parse_positions, [], "expected an object"),
        (p.parse_orders, {"orders": {"id": 1}}, "orders: expected a list"),
        (p.parse_executions, {"executions": [{"id": 1}]}, "executions[0]: missing field"),
        (p.parse_time, {"time": "2026-03-03T16:48:34"}, "with a UTC offset"),
        (p.parse_time, {"time": "yesterday"}, "ISO 8601"),
        (p.parse_candles, {"candles": [{"start": 1}]}, "candles[0].start"),
        (p.parse_stream_port, {"streamPort": 0}, "TCP port"),
        (p.parse_accounts, {"accounts": [{"number": True, "type": "Cash"}]}, "number"),
    ],
)
def test_malformed_documents_name_the_path(parser: Any, doc: Any, message: str) -> None:
    with pytest.raises(QuestradeParseError) as err:
        parser(doc)
    assert message in str(err.value)
    assert isinstance(err.value, DataError)


def test_malformed_json_is_a_clear_error() -> None:
    with pytest.raises(QuestradeParseError, match="accounts: reply is not valid JSON"):
        p.loads(b'{"accounts": [', "accounts")
    with pytest.raises(QuestradeParseError, match="not valid JSON"):
        p.loads(b"\xff\xfe", "accounts")
