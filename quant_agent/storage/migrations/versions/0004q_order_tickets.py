"""assisted mode order tickets; questrade_order_map.time_in_force fits GoodTillCanceled

Revision ID: 0004q
Revises: 0003q
Create Date: 2026-11-26 02:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import quant_agent.storage.types as qt

revision = '0004q'
down_revision = '0003q'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('questrade_order_map') as batch:
        batch.alter_column('time_in_force', existing_type=sa.String(length=8),
                           type_=sa.String(length=32), existing_nullable=False)
    op.create_table('order_tickets',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ticket_id', sa.String(length=96), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('client_order_id', sa.String(length=64), nullable=False),
    sa.Column('account', sa.String(length=16), nullable=False),
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('side', sa.String(length=8), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('order_type', sa.String(length=16), nullable=False),
    sa.Column('limit_price', qt.Money(), nullable=True),
    sa.Column('stop_price', qt.Money(), nullable=True),
    sa.Column('time_in_force', sa.String(length=32), nullable=False),
    sa.Column('questrade_order_id', sa.BigInteger(), nullable=True),
    sa.Column('legs', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('issued_at', qt.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_tickets')),
    sa.UniqueConstraint('ticket_id', name=op.f('uq_order_tickets_ticket_id'))
    )
    op.create_index(op.f('ix_order_tickets_client_order_id'), 'order_tickets',
                    ['client_order_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_order_tickets_client_order_id'), table_name='order_tickets')
    op.drop_table('order_tickets')
    with op.batch_alter_table('questrade_order_map') as batch:
        batch.alter_column('time_in_force', existing_type=sa.String(length=32),
                           type_=sa.String(length=8), existing_nullable=False)
