"""Backfill chunk records: each finished chunk of a backfill, so a rerun loads only what is missing.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23 05:06:06.498016
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('backfill_chunks',
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('since', sa.Date(), nullable=False),
    sa.Column('until', sa.Date(), nullable=False),
    sa.Column('reads', sa.String(length=64), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=False),
    sa.Column('flow_run', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('source', 'account', 'since', 'until', name=op.f('pk_backfill_chunks'))
    )


def downgrade() -> None:
    op.drop_table('backfill_chunks')
