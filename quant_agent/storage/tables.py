"""The database schema as SQLAlchemy Core tables: rows, never domain objects.

The seed's tables (``live_signals``, ``orders``, ``positions``, ``live_trades``,
``risk_events``) keep the seed's column names; ``scan_runs``, ``order_events`` (append
only), ``fills``, ``equity_snapshots``, ``commands`` and ``system_state`` complete them.
The ``paper_*`` tables hold the paper venue's own book (its orders, fills, cash and
positions), written only by ``brokers/paper.py``. ``questrade_order_map`` links our client
order ids to Questrade's order ids (Questrade has none of its own), written only by
``questrade/order_map.py``.
Money is ``Money`` (exact), times are ``UTCDateTime`` (aware UTC), free-form details are
``JSONType``. Any change here needs a new Alembic revision in ``migrations/versions``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from quant_agent.storage.types import JSONType, Money, UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True, autoincrement=True)


scan_runs = Table(
    "scan_runs",
    metadata,
    _id(),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("asof", Date),
    Column("universe_size", Integer, nullable=False, default=0),
    Column("signal_count", Integer, nullable=False, default=0),
    Column("error", Text),
    Column("params", JSONType, nullable=False, default=dict),
    Index(None, "started_at"),
)

live_signals = Table(
    "live_signals",
    metadata,
    _id(),
    Column("scan_run_id", Integer, ForeignKey("scan_runs.id", ondelete="CASCADE"), nullable=False),
    Column("ticker", String(16), nullable=False),
    Column("signal_date", Date, nullable=False),
    Column("generated_at", UTCDateTime, nullable=False),
    Column("composite_score", Float, nullable=False),
    Column("rank", Integer),
    Column("selected", Boolean, nullable=False, default=False),
    Column("executed", Boolean, nullable=False, default=False),
    Column("entry_price", Money),
    Column("stop_loss", Money),
    Column("take_profit", Money),
    Column("quantity", Integer),
    Column("factors", JSONType, nullable=False, default=dict),
    Column("filter_reasons", JSONType, nullable=False, default=list),
    Column("trade_plan", JSONType),
    UniqueConstraint("scan_run_id", "ticker"),
    Index(None, "ticker", "signal_date"),
)

orders = Table(
    "orders",
    metadata,
    _id(),
    Column("client_order_id", String(64), nullable=False, unique=True),
    Column("broker_order_id", String(64), index=True),
    Column("parent_client_order_id", String(64), index=True),
    Column("signal_id", Integer, ForeignKey("live_signals.id", ondelete="SET NULL")),
    Column("role", String(16), nullable=False),
    Column("ticker", String(16), nullable=False),
    Column("side", String(8), nullable=False),
    Column("order_type", String(16), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("limit_price", Money),
    Column("stop_price", Money),
    Column("time_in_force", String(8), nullable=False),
    Column("status", String(20), nullable=False),
    Column("filled_quantity", Integer, nullable=False, default=0),
    Column("filled_notional", Money, nullable=False),
    Column("avg_fill_price", Money),
    Column("commission", Money, nullable=False),
    Column("reject_reason", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime),
    Index(None, "status"),
)

order_events = Table(
    "order_events",
    metadata,
    _id(),
    Column("client_order_id", String(64), nullable=False, index=True),
    Column("event_type", String(32), nullable=False),
    Column("ts_event", UTCDateTime, nullable=False),
    Column("ts_init", UTCDateTime, nullable=False),
    Column("reconciled", Boolean, nullable=False, default=False),
    Column("payload", JSONType, nullable=False, default=dict),
)

fills = Table(
    "fills",
    metadata,
    _id(),
    Column("fill_id", String(64), nullable=False, unique=True),
    Column("client_order_id", String(64), nullable=False, index=True),
    Column("broker_order_id", String(64)),
    Column("ticker", String(16), nullable=False),
    Column("side", String(8), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("price", Money, nullable=False),
    Column("commission", Money, nullable=False),
    Column("filled_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("reconciled", Boolean, nullable=False, default=False),
    Index(None, "filled_at"),
)

positions = Table(
    "positions",
    metadata,
    _id(),
    Column("ticker", String(16), nullable=False),
    Column("status", String(8), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("entry_price", Money),
    Column("cost_basis", Money, nullable=False),
    Column("entry_date", Date),
    Column("opened_at", UTCDateTime),
    Column("closed_at", UTCDateTime),
    Column("stop_loss", Money),
    Column("take_profit", Money),
    Column("current_price", Money),
    Column("unrealized_pnl", Money),
    Column("realized_pnl", Money, nullable=False),
    Column("commission", Money, nullable=False),
    Column("signal_id", Integer, ForeignKey("live_signals.id", ondelete="SET NULL")),
    Column("sector", String(64)),
    Column("exit_reason", String(20)),
    Column("fill_ids", JSONType, nullable=False, default=list),
    Column("updated_at", UTCDateTime),
    Index(None, "ticker", "status"),
)

live_trades = Table(
    "live_trades",
    metadata,
    _id(),
    Column("position_id", Integer, ForeignKey("positions.id", ondelete="SET NULL")),
    Column("signal_id", Integer, ForeignKey("live_signals.id", ondelete="SET NULL")),
    Column("ticker", String(16), nullable=False),
    Column("entry_date", Date, nullable=False),
    Column("exit_date", Date, nullable=False),
    Column("entry_price", Money, nullable=False),
    Column("exit_price", Money, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("pnl", Money, nullable=False),
    Column("pnl_pct", Float, nullable=False),
    Column("hold_days", Integer, nullable=False),
    Column("commission", Money, nullable=False),
    Column("exit_reason", String(20), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "exit_date"),
)

risk_events = Table(
    "risk_events",
    metadata,
    _id(),
    Column("ts", UTCDateTime, nullable=False, index=True),
    Column("event_type", String(32), nullable=False),
    Column("severity", String(10), nullable=False),
    Column("rule", String(64)),
    Column("message", Text, nullable=False),
    Column("trading_state", String(10)),
    Column("details", JSONType, nullable=False, default=dict),
)

equity_snapshots = Table(
    "equity_snapshots",
    metadata,
    _id(),
    Column("ts", UTCDateTime, nullable=False),
    Column("kind", String(10), nullable=False),
    Column("equity", Money, nullable=False),
    Column("cash", Money, nullable=False),
    Column("positions_value", Money, nullable=False),
    Column("realized_pnl", Money, nullable=False),
    Column("unrealized_pnl", Money, nullable=False),
    UniqueConstraint("ts", "kind"),
)

commands = Table(
    "commands",
    metadata,
    _id(),
    Column("kind", String(20), nullable=False),
    Column("payload", JSONType, nullable=False, default=dict),
    Column("status", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(64), nullable=False, default="cli"),
    Column("applied_at", UTCDateTime),
    Column("result", Text),
    Index(None, "status"),
)

system_state = Table(
    "system_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", JSONType, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# --- the paper venue's own state (brokers/paper.py); never written by the order manager ----

paper_orders = Table(
    "paper_orders",
    metadata,
    _id(),
    Column("broker_order_id", String(64), nullable=False, unique=True),
    Column("client_order_id", String(64), nullable=False, unique=True),
    Column("ticker", String(16), nullable=False),
    Column("side", String(8), nullable=False),
    Column("order_type", String(16), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("limit_price", Money),
    Column("stop_price", Money),
    Column("time_in_force", String(8), nullable=False),
    Column("status", String(20), nullable=False),
    Column("triggered", Boolean, nullable=False, default=False),
    Column("filled_quantity", Integer, nullable=False, default=0),
    Column("filled_notional", Money, nullable=False),
    Column("fill_count", Integer, nullable=False, default=0),
    Column("reject_reason", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),
    Index(None, "status"),
)

paper_fills = Table(
    "paper_fills",
    metadata,
    _id(),
    Column("fill_id", String(64), nullable=False, unique=True),
    Column("broker_order_id", String(64), nullable=False, index=True),
    Column("client_order_id", String(64), nullable=False),
    Column("ticker", String(16), nullable=False),
    Column("side", String(8), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("price", Money, nullable=False),
    Column("commission", Money, nullable=False),
    Column("filled_at", UTCDateTime, nullable=False),
    Index(None, "filled_at"),
)

paper_account = Table(
    "paper_account",
    metadata,
    Column("key", String(32), primary_key=True),
    Column("initial_capital", Money, nullable=False),
    Column("cash", Money, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

paper_positions = Table(
    "paper_positions",
    metadata,
    Column("ticker", String(16), primary_key=True),
    Column("quantity", Integer, nullable=False),
    Column("cost_basis", Money, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)


# --- the Questrade adapter's client id <-> order id map (questrade/order_map.py) ------------

questrade_order_map = Table(
    "questrade_order_map",
    metadata,
    Column("client_order_id", String(64), primary_key=True),
    Column("account", String(16), nullable=False),
    Column("order_id", BigInteger, unique=True),
    Column("chain_id", BigInteger),
    Column("symbol_id", BigInteger, nullable=False),
    Column("ticker", String(16), nullable=False),
    Column("side", String(8), nullable=False),
    Column("order_type", String(16), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("limit_price", Money),
    Column("stop_price", Money),
    Column("time_in_force", String(32), nullable=False),  # 0004q: GoodTillCanceled fits
    Column("sent_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# --- assisted mode: the order tickets the trader places by hand (questrade/assisted.py) -----

order_tickets = Table(
    "order_tickets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", String(96), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # place | cancel | withdrawn | replace
    Column("client_order_id", String(64), nullable=False, index=True),
    Column("account", String(16), nullable=False),
    Column("ticker", String(16), nullable=False),
    Column("side", String(8), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("order_type", String(16), nullable=False),
    Column("limit_price", Money),
    Column("stop_price", Money),
    Column("time_in_force", String(32), nullable=False),
    Column("questrade_order_id", BigInteger),
    Column("legs", Text, nullable=False),  # JSON list of the bracket legs' terms
    Column("text", Text, nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
)
