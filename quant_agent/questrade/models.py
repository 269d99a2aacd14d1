"""Questrade's reports as frozen values, decoded by ``parsing`` from the documented JSON.

These are what the venue says (vn.py's ``OrderData``, not our ``OrderRequest``): money is
``Decimal``, instants are aware UTC ``datetime``, names are snake case. Tokens are
``SecretStr`` so a repr never shows them. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from pydantic import SecretStr


@dataclass(frozen=True, slots=True, kw_only=True)
class Token:
    """A redeemed refresh token: the access token, its lifetime and the next refresh token."""

    access_token: SecretStr
    token_type: str
    expires_in: int
    refresh_token: SecretStr
    api_server: str  # normalised: "https://host[:port]/v1/"


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    number: str
    type: str
    status: str
    is_primary: bool
    is_billing: bool
    client_account_type: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Accounts:
    accounts: tuple[Account, ...]
    user_id: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Position:
    symbol: str
    symbol_id: int
    open_quantity: Decimal
    closed_quantity: Decimal
    current_market_value: Decimal | None
    current_price: Decimal | None
    average_entry_price: Decimal
    day_pnl: Decimal | None
    closed_pnl: Decimal | None
    open_pnl: Decimal | None
    total_cost: Decimal
    is_real_time: bool
    is_under_reorg: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Balance:
    currency: str
    cash: Decimal
    market_value: Decimal
    total_equity: Decimal
    buying_power: Decimal
    maintenance_excess: Decimal
    is_real_time: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Balances:
    per_currency: tuple[Balance, ...]
    combined: tuple[Balance, ...]
    sod_per_currency: tuple[Balance, ...]
    sod_combined: tuple[Balance, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Execution:
    id: int
    order_id: int
    order_chain_id: int
    symbol: str
    symbol_id: int
    quantity: Decimal
    side: str
    price: Decimal
    timestamp: datetime
    exchange_exec_id: str
    venue: str
    notes: str
    total_cost: Decimal
    commission: Decimal
    execution_fee: Decimal
    sec_fee: Decimal
    canadian_execution_fee: Decimal
    order_placement_commission: Decimal
    parent_id: int
    leg_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerOrder:
    """An order as Questrade reports it (``GET orders``, notifications, order replies)."""

    id: int
    symbol: str
    symbol_id: int
    total_quantity: Decimal
    open_quantity: Decimal
    filled_quantity: Decimal
    canceled_quantity: Decimal
    side: str
    order_type: str
    limit_price: Decimal | None
    stop_price: Decimal | None
    avg_exec_price: Decimal | None
    last_exec_price: Decimal | None
    state: str
    time_in_force: str
    chain_id: int
    creation_time: datetime
    update_time: datetime
    source: str
    is_all_or_none: bool
    is_anonymous: bool
    iceberg_quantity: Decimal | None
    min_quantity: Decimal | None
    gtd_date: datetime | None
    client_reason: str
    notes: str
    primary_route: str
    secondary_route: str
    order_route: str
    exchange_order_id: str
    commission_charged: Decimal
    strategy_type: str
    order_group_id: int
    order_class: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Activity:
    type: str
    action: str
    symbol: str
    symbol_id: int
    description: str
    currency: str
    trade_date: datetime
    transaction_date: datetime
    settlement_date: datetime
    quantity: Decimal
    price: Decimal
    gross_amount: Decimal
    commission: Decimal
    net_amount: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class Market:
    name: str
    trading_venues: tuple[str, ...]
    default_trading_venue: str
    primary_order_routes: tuple[str, ...]
    secondary_order_routes: tuple[str, ...]
    level1_feeds: tuple[str, ...]
    level2_feeds: tuple[str, ...]
    extended_start_time: datetime
    start_time: datetime
    end_time: datetime
    extended_end_time: datetime
    snap_quotes_limit: int
    currency: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Symbol:
    """A symbol record; the search endpoint fills only the first eight fields."""

    symbol: str
    symbol_id: int
    description: str
    security_type: str
    listing_exchange: str
    is_tradable: bool
    is_quotable: bool
    currency: str
    prev_day_close_price: Decimal | None = None
    high_price52: Decimal | None = None
    low_price52: Decimal | None = None
    average_vol3_months: int | None = None
    average_vol20_days: int | None = None
    outstanding_shares: int | None = None
    eps: Decimal | None = None
    pe: Decimal | None = None
    dividend: Decimal | None = None
    dividend_yield: Decimal | None = None
    market_cap: Decimal | None = None
    trade_unit: int | None = None
    has_options: bool | None = None
    min_ticks: tuple[tuple[Decimal, Decimal], ...] = ()
    industry_sector: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Level1Quote:
    """A Questrade L1 quote as sent (prices may be null outside sessions)."""

    symbol: str
    symbol_id: int
    tier: str
    bid_price: Decimal | None
    bid_size: int
    ask_price: Decimal | None
    ask_size: int
    last_trade_price_tr_hrs: Decimal | None
    last_trade_price: Decimal | None
    last_trade_size: int
    last_trade_tick: str | None
    last_trade_time: datetime | None
    volume: int
    open_price: Decimal | None
    high_price: Decimal | None
    low_price: Decimal | None
    delay: int
    is_halted: bool
    high52w: Decimal | None
    low52w: Decimal | None
    vwap: Decimal | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Candle:
    start: datetime
    end: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    vwap: Decimal | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Notification:
    """A push on the notifications stream: orders, and executions when something filled."""

    orders: tuple[BrokerOrder, ...]
    executions: tuple[Execution, ...]
    account_number: str | None
