"""paper venue tables

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 01:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import quant_agent.storage.types as qt

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('paper_account',
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('initial_capital', qt.Money(), nullable=False),
    sa.Column('cash', qt.Money(), nullable=False),
    sa.Column('updated_at', qt.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_paper_account'))
    )
    op.create_table('paper_fills',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('fill_id', sa.String(length=64), nullable=False),
    sa.Column('broker_order_id', sa.String(length=64), nullable=False),
    sa.Column('client_order_id', sa.String(length=64), nullable=False),
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('side', sa.String(length=8), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('price', qt.Money(), nullable=False),
    sa.Column('commission', qt.Money(), nullable=False),
    sa.Column('filled_at', qt.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_paper_fills')),
    sa.UniqueConstraint('fill_id', name=op.f('uq_paper_fills_fill_id'))
    )
    with op.batch_alter_table('paper_fills', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_paper_fills_broker_order_id'), ['broker_order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_paper_fills_filled_at'), ['filled_at'], unique=False)

    op.create_table('paper_orders',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('broker_order_id', sa.String(length=64), nullable=False),
    sa.Column('client_order_id', sa.String(length=64), nullable=False),
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('side', sa.String(length=8), nullable=False),
    sa.Column('order_type', sa.String(length=16), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('limit_price', qt.Money(), nullable=True),
    sa.Column('stop_price', qt.Money(), nullable=True),
    sa.Column('time_in_force', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('triggered', sa.Boolean(), nullable=False),
    sa.Column('filled_quantity', sa.Integer(), nullable=False),
    sa.Column('filled_notional', qt.Money(), nullable=False),
    sa.Column('fill_count', sa.Integer(), nullable=False),
    sa.Column('reject_reason', sa.Text(), nullable=True),
    sa.Column('created_at', qt.UTCDateTime(), nullable=False),
    sa.Column('updated_at', qt.UTCDateTime(), nullable=False),
    sa.Column('expires_at', qt.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_paper_orders')),
    sa.UniqueConstraint('broker_order_id', name=op.f('uq_paper_orders_broker_order_id')),
    sa.UniqueConstraint('client_order_id', name=op.f('uq_paper_orders_client_order_id'))
    )
    with op.batch_alter_table('paper_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_paper_orders_status'), ['status'], unique=False)

    op.create_table('paper_positions',
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('cost_basis', qt.Money(), nullable=False),
    sa.Column('updated_at', qt.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('ticker', name=op.f('pk_paper_positions'))
    )


def downgrade() -> None:
    op.drop_table('paper_positions')
    with op.batch_alter_table('paper_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_paper_orders_status'))

    op.drop_table('paper_orders')
    with op.batch_alter_table('paper_fills', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_paper_fills_filled_at'))
        batch_op.drop_index(batch_op.f('ix_paper_fills_broker_order_id'))

    op.drop_table('paper_fills')
    op.drop_table('paper_account')
