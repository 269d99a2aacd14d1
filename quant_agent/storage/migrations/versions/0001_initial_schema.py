"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 00:50:35.685628
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import quant_agent.storage.types as qt

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('commands',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('payload', qt.JSONType, nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', qt.UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('applied_at', qt.UTCDateTime(), nullable=True),
    sa.Column('result', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commands'))
    )
    with op.batch_alter_table('commands', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commands_status'), ['status'], unique=False)

    op.create_table('equity_snapshots',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ts', qt.UTCDateTime(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('equity', qt.Money(), nullable=False),
    sa.Column('cash', qt.Money(), nullable=False),
    sa.Column('positions_value', qt.Money(), nullable=False),
    sa.Column('realized_pnl', qt.Money(), nullable=False),
    sa.Column('unrealized_pnl', qt.Money(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_equity_snapshots')),
    sa.UniqueConstraint('ts', 'kind', name=op.f('uq_equity_snapshots_ts_kind'))
    )
    op.create_table('fills',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('fill_id', sa.String(length=64), nullable=False),
    sa.Column('client_order_id', sa.String(length=64), nullable=False),
    sa.Column('broker_order_id', sa.String(length=64), nullable=True),
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('side', sa.String(length=8), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('price', qt.Money(), nullable=False),
    sa.Column('commission', qt.Money(), nullable=False),
    sa.Column('filled_at', qt.UTCDateTime(), nullable=False),
    sa.Column('recorded_at', qt.UTCDateTime(), nullable=False),
    sa.Column('reconciled', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fills')),
    sa.UniqueConstraint('fill_id', name=op.f('uq_fills_fill_id'))
    )
    with op.batch_alter_table('fills', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fills_client_order_id'), ['client_order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_fills_filled_at'), ['filled_at'], unique=False)

    op.create_table('order_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('client_order_id', sa.String(length=64), nullable=False),
    sa.Column('event_type', sa.String(length=32), nullable=False),
    sa.Column('ts_event', qt.UTCDateTime(), nullable=False),
    sa.Column('ts_init', qt.UTCDateTime(), nullable=False),
    sa.Column('reconciled', sa.Boolean(), nullable=False),
    sa.Column('payload', qt.JSONType, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_events'))
    )
    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_events_client_order_id'), ['client_order_id'], unique=False)

    op.create_table('risk_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ts', qt.UTCDateTime(), nullable=False),
    sa.Column('event_type', sa.String(length=32), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('trading_state', sa.String(length=10), nullable=True),
    sa.Column('details', qt.JSONType, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_events'))
    )
    with op.batch_alter_table('risk_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_events_ts'), ['ts'], unique=False)

    op.create_table('scan_runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', qt.UTCDateTime(), nullable=False),
    sa.Column('finished_at', qt.UTCDateTime(), nullable=True),
    sa.Column('asof', sa.Date(), nullable=True),
    sa.Column('universe_size', sa.Integer(), nullable=False),
    sa.Column('signal_count', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('params', qt.JSONType, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scan_runs'))
    )
    with op.batch_alter_table('scan_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scan_runs_started_at'), ['started_at'], unique=False)

    op.create_table('system_state',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', qt.JSONType, nullable=False),
    sa.Column('updated_at', qt.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_system_state'))
    )
    op.create_table('live_signals',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('scan_run_id', sa.Integer(), nullable=False),
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('signal_date', sa.Date(), nullable=False),
    sa.Column('generated_at', qt.UTCDateTime(), nullable=False),
    sa.Column('composite_score', sa.Float(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('selected', sa.Boolean(), nullable=False),
    sa.Column('executed', sa.Boolean(), nullable=False),
    sa.Column('entry_price', qt.Money(), nullable=True),
    sa.Column('stop_loss', qt.Money(), nullable=True),
    sa.Column('take_profit', qt.Money(), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=True),
    sa.Column('factors', qt.JSONType, nullable=False),
    sa.Column('filter_reasons', qt.JSONType, nullable=False),
    sa.Column('trade_plan', qt.JSONType, nullable=True),
    sa.ForeignKeyConstraint(['scan_run_id'], ['scan_runs.id'], name=op.f('fk_live_signals_scan_run_id_scan_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_signals')),
    sa.UniqueConstraint('scan_run_id', 'ticker', name=op.f('uq_live_signals_scan_run_id_ticker'))
    )
    with op.batch_alter_table('live_signals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_signals_ticker_signal_date'), ['ticker', 'signal_date'], unique=False)

    op.create_table('orders',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('client_order_id', sa.String(length=64), nullable=False),
    sa.Column('broker_order_id', sa.String(length=64), nullable=True),
    sa.Column('parent_client_order_id', sa.String(length=64), nullable=True),
    sa.Column('signal_id', sa.Integer(), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('side', sa.String(length=8), nullable=False),
    sa.Column('order_type', sa.String(length=16), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('limit_price', qt.Money(), nullable=True),
    sa.Column('stop_price', qt.Money(), nullable=True),
    sa.Column('time_in_force', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('filled_quantity', sa.Integer(), nullable=False),
    sa.Column('filled_notional', qt.Money(), nullable=False),
    sa.Column('avg_fill_price', qt.Money(), nullable=True),
    sa.Column('commission', qt.Money(), nullable=False),
    sa.Column('reject_reason', sa.Text(), nullable=True),
    sa.Column('created_at', qt.UTCDateTime(), nullable=False),
    sa.Column('updated_at', qt.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['signal_id'], ['live_signals.id'], name=op.f('fk_orders_signal_id_live_signals'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('client_order_id', name=op.f('uq_orders_client_order_id'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_broker_order_id'), ['broker_order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_parent_client_order_id'), ['parent_client_order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_status'), ['status'], unique=False)

    op.create_table('positions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('entry_price', qt.Money(), nullable=True),
    sa.Column('cost_basis', qt.Money(), nullable=False),
    sa.Column('entry_date', sa.Date(), nullable=True),
    sa.Column('opened_at', qt.UTCDateTime(), nullable=True),
    sa.Column('closed_at', qt.UTCDateTime(), nullable=True),
    sa.Column('stop_loss', qt.Money(), nullable=True),
    sa.Column('take_profit', qt.Money(), nullable=True),
    sa.Column('current_price', qt.Money(), nullable=True),
    sa.Column('unrealized_pnl', qt.Money(), nullable=True),
    sa.Column('realized_pnl', qt.Money(), nullable=False),
    sa.Column('commission', qt.Money(), nullable=False),
    sa.Column('signal_id', sa.Integer(), nullable=True),
    sa.Column('sector', sa.String(length=64), nullable=True),
    sa.Column('exit_reason', sa.String(length=20), nullable=True),
    sa.Column('fill_ids', qt.JSONType, nullable=False),
    sa.Column('updated_at', qt.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['signal_id'], ['live_signals.id'], name=op.f('fk_positions_signal_id_live_signals'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_positions'))
    )
    with op.batch_alter_table('positions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_positions_ticker_status'), ['ticker', 'status'], unique=False)

    op.create_table('live_trades',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('position_id', sa.Integer(), nullable=True),
    sa.Column('signal_id', sa.Integer(), nullable=True),
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('entry_date', sa.Date(), nullable=False),
    sa.Column('exit_date', sa.Date(), nullable=False),
    sa.Column('entry_price', qt.Money(), nullable=False),
    sa.Column('exit_price', qt.Money(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('pnl', qt.Money(), nullable=False),
    sa.Column('pnl_pct', sa.Float(), nullable=False),
    sa.Column('hold_days', sa.Integer(), nullable=False),
    sa.Column('commission', qt.Money(), nullable=False),
    sa.Column('exit_reason', sa.String(length=20), nullable=False),
    sa.Column('created_at', qt.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['position_id'], ['positions.id'], name=op.f('fk_live_trades_position_id_positions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['signal_id'], ['live_signals.id'], name=op.f('fk_live_trades_signal_id_live_signals'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_trades'))
    )
    with op.batch_alter_table('live_trades', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_trades_exit_date'), ['exit_date'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('live_trades', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_trades_exit_date'))

    op.drop_table('live_trades')
    with op.batch_alter_table('positions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_positions_ticker_status'))

    op.drop_table('positions')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_status'))
        batch_op.drop_index(batch_op.f('ix_orders_parent_client_order_id'))
        batch_op.drop_index(batch_op.f('ix_orders_broker_order_id'))

    op.drop_table('orders')
    with op.batch_alter_table('live_signals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_signals_ticker_signal_date'))

    op.drop_table('live_signals')
    op.drop_table('system_state')
    with op.batch_alter_table('scan_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scan_runs_started_at'))

    op.drop_table('scan_runs')
    with op.batch_alter_table('risk_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_events_ts'))

    op.drop_table('risk_events')
    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_events_client_order_id'))

    op.drop_table('order_events')
    with op.batch_alter_table('fills', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fills_filled_at'))
        batch_op.drop_index(batch_op.f('ix_fills_client_order_id'))

    op.drop_table('fills')
    op.drop_table('equity_snapshots')
    with op.batch_alter_table('commands', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commands_status'))

    op.drop_table('commands')
