"""Repository tests, run identically on SQLite and on PostgreSQL (the ``database_url`` param)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from quant_agent.core.enums import (
    CommandKind,
    CommandStatus,
    ExitReason,
    OrderRole,
    OrderStatus,
    OrderType,
    RunStatus,
    ScanKind,
    Severity,
    Side,
    TradingState,
)
from quant_agent.core.events import OrderAccepted, OrderFilled, OrderSubmitted
from quant_agent.core.ids import BrokerOrderId, ClientOrderId, FillId, Ticker
from quant_agent.core.order import Order
from quant_agent.core.position import Position
from quant_agent.core.records import (
    CommandRecord,
    EquitySnapshot,
    RiskEventRecord,
    ScanRun,
    SignalRecord,
    TradeRecord,
)
from quant_agent.storage import migrate
from quant_agent.storage.engine import make_engine
from quant_agent.storage.store import Store
from quant_agent.storage.tables import metadata

T0 = datetime(2025, 3, 10, 14, 30, tzinfo=UTC)
NY = ZoneInfo("America/New_York")


def make_order(coid: str = "qa-1", **overrides: object) -> Order:
    values: dict[str, object] = dict(
        client_order_id=ClientOrderId(coid),
        ticker=Ticker("AAPL"),
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=100,
        limit_price=Decimal("187.25"),
        created_at=T0,
    )
    values.update(overrides)
    return Order(**values)  # type: ignore[arg-type]


def make_fill(coid: str = "qa-1", fill_id: str = "f-1", qty: int = 40) -> OrderFilled:
    return OrderFilled(
        ts_event=T0 + timedelta(seconds=5),
        ts_init=T0 + timedelta(seconds=6),
        client_order_id=ClientOrderId(coid),
        fill_id=FillId(fill_id),
        ticker=Ticker("AAPL"),
        side=Side.BUY,
        quantity=qty,
        price=Decimal("187.2"),
        commission=Decimal("1.00"),
        broker_order_id=BrokerOrderId("B-7"),
    )


# --- migrations -----------------------------------------------------------------------------


def test_upgrade_creates_schema_matching_tables_and_is_idempotent(database_url: str) -> None:
    engine = make_engine(database_url)
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), metadata
        )
    assert diff == []
    assert set(sa.inspect(engine).get_table_names()) >= {
        "live_signals", "orders", "positions", "live_trades", "risk_events", "scan_runs",
        "order_events", "fills", "equity_snapshots", "commands", "system_state",
    }  # fmt: skip
    engine.dispose()


def test_downgrade_to_base_removes_every_table(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    migrate.downgrade(engine, "base")
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()


def test_json_columns_are_jsonb_on_postgresql_and_json_on_sqlite(store: Store) -> None:
    columns = {c["name"]: c["type"] for c in sa.inspect(store.engine).get_columns("live_signals")}
    kind = type(columns["factors"]).__name__
    assert kind == ("JSONB" if store.dialect == "postgresql" else "JSON")


# --- units of work --------------------------------------------------------------------------


def test_unit_of_work_that_raises_midway_leaves_no_rows(store: Store) -> None:
    with pytest.raises(RuntimeError, match="crash"):
        with store.unit_of_work() as uow:
            run_id = uow.scan_runs.add(
                ScanRun(kind=ScanKind.MANUAL, status=RunStatus.RUNNING, started_at=T0)
            )
            uow.signals.add(
                SignalRecord(
                    scan_run_id=run_id,
                    ticker=Ticker("AAPL"),
                    signal_date=date(2025, 3, 10),
                    generated_at=T0,
                    composite_score=71.5,
                )
            )
            uow.orders.add(make_order())
            raise RuntimeError("crash")
    with store.unit_of_work() as uow:
        assert (uow.scan_runs.count(), uow.signals.count(), uow.orders.count()) == (0, 0, 0)


def test_a_failing_statement_rolls_back_the_whole_unit(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.orders.add(make_order("qa-1"))
    with pytest.raises(sa.exc.IntegrityError):
        with store.unit_of_work() as uow:
            uow.orders.add(make_order("qa-2"))
            uow.orders.add(make_order("qa-1"))  # duplicate client order id
    with store.unit_of_work() as uow:
        assert uow.orders.get("qa-2") is None
        assert uow.orders.count() == 1


# --- exact money and aware time -------------------------------------------------------------


@pytest.mark.parametrize(
    "amount",
    ["0", "0.000001", "0.0001", "187.25", "-42.5", "99999999999999.999999", "100000", "1E+2"],
)
def test_money_round_trips_exactly(store: Store, amount: str) -> None:
    value = Decimal(amount)
    snapshot = EquitySnapshot(
        ts=T0, kind="daily", equity=value, cash=value, positions_value=Decimal("0"),
        realized_pnl=-value, unrealized_pnl=Decimal("0.1"),
    )  # fmt: skip
    with store.unit_of_work() as uow:
        snap_id = uow.equity.add(snapshot)
    with store.unit_of_work() as uow:
        back = uow.equity.get(snap_id)
    assert back.equity == value and back.cash == value and back.realized_pnl == -value
    assert isinstance(back.equity, Decimal)
    assert back.unrealized_pnl == Decimal("0.1")


def test_money_with_more_than_six_decimals_is_refused_not_rounded(store: Store) -> None:
    snapshot = EquitySnapshot(
        ts=T0, kind="daily", equity=Decimal("1.0000001"), cash=Decimal(0),
        positions_value=Decimal(0), realized_pnl=Decimal(0), unrealized_pnl=Decimal(0),
    )  # fmt: skip
    with pytest.raises(sa.exc.StatementError, match="more than 6 decimals"):
        with store.unit_of_work() as uow:
            uow.equity.add(snapshot)


def test_timestamps_come_back_aware_utc(store: Store) -> None:
    local = datetime(2025, 11, 28, 12, 59, 59, 123456, tzinfo=NY)
    with store.unit_of_work() as uow:
        event_id = uow.risk_events.add(
            RiskEventRecord(ts=local, event_type="TEST", severity=Severity.INFO, message="m")
        )
    with store.unit_of_work() as uow:
        back = uow.risk_events.get(event_id)
    assert back.ts == local
    assert back.ts.tzinfo is UTC
    assert back.ts.hour == 17


def test_naive_timestamp_is_refused(store: Store) -> None:
    naive = datetime(2025, 1, 2, 9, 30)  # noqa: DTZ001 - the point of the test
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        with store.unit_of_work() as uow:
            uow.risk_events.add(
                RiskEventRecord(ts=naive, event_type="X", severity=Severity.INFO, message="m")
            )


# --- orders, events, fills, positions -------------------------------------------------------


def test_order_lifecycle_round_trips(store: Store) -> None:
    order = make_order(role=OrderRole.ENTRY, signal_id=None)
    with store.unit_of_work() as uow:
        uow.orders.add(order)
    submitted = OrderSubmitted(ts_event=T0, ts_init=T0, client_order_id=order.client_order_id)
    accepted = OrderAccepted(
        ts_event=T0, ts_init=T0, client_order_id=order.client_order_id,
        broker_order_id=BrokerOrderId("B-7"),
    )  # fmt: skip
    fill = make_fill()
    with store.unit_of_work() as uow:
        for event in (submitted, accepted, fill):
            order.apply(event)
            uow.order_events.append(event)
        uow.fills.add(fill, recorded_at=T0 + timedelta(seconds=6))
        uow.orders.save(order)
    with store.unit_of_work() as uow:
        back = uow.orders.get("qa-1")
        by_broker = uow.orders.get_by_broker_id("B-7")
        events = uow.order_events.for_order("qa-1")
        fills = uow.fills.list(client_order_id="qa-1")
        open_orders = uow.orders.list_open()
    assert back == order
    assert by_broker == order
    assert back.status is OrderStatus.PARTIALLY_FILLED and back.avg_fill_price == Decimal("187.2")
    assert [e["event_type"] for e in events] == ["OrderSubmitted", "OrderAccepted", "OrderFilled"]
    assert events[2]["payload"]["price"] == "187.2"
    assert fills == [fill]
    assert [o.client_order_id for o in open_orders] == ["qa-1"]


def test_a_fill_id_is_stored_once(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.fills.add(make_fill(), recorded_at=T0)
    with pytest.raises(sa.exc.IntegrityError):
        with store.unit_of_work() as uow:
            uow.fills.add(make_fill(), recorded_at=T0)
    with store.unit_of_work() as uow:
        assert uow.fills.exists("f-1") and uow.fills.count() == 1


def test_saving_an_unknown_order_raises(store: Store) -> None:
    with pytest.raises(LookupError):
        with store.unit_of_work() as uow:
            uow.orders.save(make_order("never-added"))


def test_position_round_trips_with_plan_and_marks(store: Store) -> None:
    position = Position(
        ticker=Ticker("AAPL"), stop_loss=Decimal("178.00"), take_profit=Decimal("205.90"),
        sector="Information Technology", last_price=Decimal("190.10"),
    )  # fmt: skip
    position.apply(make_fill(qty=40))
    with store.unit_of_work() as uow:
        position_id = uow.positions.add(position, updated_at=T0)
    with store.unit_of_work() as uow:
        back = uow.positions.get(position_id)
        open_positions = uow.positions.list_open()
        row = uow.connection.execute(sa.text("SELECT * FROM positions")).one()
    assert back == position
    assert [p.position_id for p in open_positions] == [position_id]
    assert Decimal(str(row.unrealized_pnl)) == Decimal("116.00")
    assert str(row.entry_date) == "2025-03-10"


# --- records --------------------------------------------------------------------------------


def test_scan_run_and_signals_round_trip(store: Store) -> None:
    with store.unit_of_work() as uow:
        run_id = uow.scan_runs.add(
            ScanRun(
                kind=ScanKind.PREMARKET, status=RunStatus.RUNNING, started_at=T0,
                asof=date(2025, 3, 7), universe_size=3, params={"weights": {"momentum": 0.4}},
            )
        )  # fmt: skip
        signal = SignalRecord(
            scan_run_id=run_id, ticker=Ticker("MSFT"), signal_date=date(2025, 3, 7),
            generated_at=T0, composite_score=82.25, rank=1, selected=True,
            entry_price=Decimal("401.10"), stop_loss=Decimal("380.00"), quantity=10,
            factors={"momentum_126": 0.18, "rsi_14": 61.2},
            filter_reasons=[], trade_plan={"entry": "401.10"},
        )  # fmt: skip
        uow.signals.add(signal)
        uow.scan_runs.finish(
            run_id, status=RunStatus.SUCCEEDED, finished_at=T0 + timedelta(seconds=2),
            signal_count=1,
        )  # fmt: skip
    with store.unit_of_work() as uow:
        run = uow.scan_runs.latest()
        signals = uow.signals.for_scan(run_id)
    assert run.status is RunStatus.SUCCEEDED and run.kind is ScanKind.PREMARKET
    assert run.params == {"weights": {"momentum": 0.4}} and run.asof == date(2025, 3, 7)
    assert signals == [dataclass_replace_id(signal, signals[0].id)]


def dataclass_replace_id(record: SignalRecord, record_id: int | None) -> SignalRecord:
    import dataclasses

    return dataclasses.replace(record, id=record_id)


def test_trades_risk_events_commands_and_state_round_trip(store: Store) -> None:
    trade = TradeRecord(
        ticker=Ticker("AAPL"), entry_date=date(2025, 3, 10), exit_date=date(2025, 3, 14),
        entry_price=Decimal("187.20"), exit_price=Decimal("205.92"), quantity=40,
        pnl=Decimal("746.80"), pnl_pct=0.0997, hold_days=5, commission=Decimal("2"),
        exit_reason=ExitReason.TAKE_PROFIT, created_at=T0,
    )  # fmt: skip
    with store.unit_of_work() as uow:
        trade_id = uow.trades.add(trade)
        uow.risk_events.add(
            RiskEventRecord(
                ts=T0, event_type="STATE_CHANGE", severity=Severity.CRITICAL,
                message="halted", rule="max_daily_loss", trading_state=TradingState.HALTED,
                details={"loss_pct": "2.01"},
            )
        )  # fmt: skip
        command_id = uow.commands.add(
            CommandRecord(kind=CommandKind.HALT, created_at=T0, payload={"reason": "test"})
        )
        uow.system_state.set("trading_state", {"state": "HALTED"}, updated_at=T0)
        uow.system_state.set("trading_state", {"state": "RUNNING"}, updated_at=T0)
    with store.unit_of_work() as uow:
        assert uow.trades.get(trade_id).exit_reason is ExitReason.TAKE_PROFIT
        assert uow.trades.get(trade_id).pnl == Decimal("746.80")
        events = uow.risk_events.list(severity=Severity.CRITICAL)
        assert events[0].trading_state is TradingState.HALTED
        assert [c.id for c in uow.commands.pending()] == [command_id]
        uow.commands.complete(command_id, status=CommandStatus.APPLIED, applied_at=T0)
        assert uow.system_state.get("trading_state") == {"state": "RUNNING"}
        assert uow.system_state.get("missing", "default") == "default"
    with store.unit_of_work() as uow:
        assert uow.commands.pending() == []
        assert uow.commands.get(command_id).status is CommandStatus.APPLIED
