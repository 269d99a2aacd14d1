"""questrade order map

Revision ID: 0003q
Revises: 0002
Create Date: 2026-11-26 02:05:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import quant_agent.storage.types as qt

revision = '0003q'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('questrade_order_map',
    sa.Column('client_order_id', sa.String(length=64), nullable=False),
    sa.Column('account', sa.String(length=16), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=True),
    sa.Column('chain_id', sa.BigInteger(), nullable=True),
    sa.Column('symbol_id', sa.BigInteger(), nullable=False),
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('side', sa.String(length=8), nullable=False),
    sa.Column('order_type', sa.String(length=16), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('limit_price', qt.Money(), nullable=True),
    sa.Column('stop_price', qt.Money(), nullable=True),
    sa.Column('time_in_force', sa.String(length=8), nullable=False),
    sa.Column('sent_at', qt.UTCDateTime(), nullable=False),
    sa.Column('updated_at', qt.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('client_order_id', name=op.f('pk_questrade_order_map')),
    sa.UniqueConstraint('order_id', name=op.f('uq_questrade_order_map_order_id'))
    )


def downgrade() -> None:
    op.drop_table('questrade_order_map')
