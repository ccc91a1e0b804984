"""Search Console report rows: pages by device and country, and pages by query, a day at a time.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 15:00:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('raw_search_console_rows',
    sa.Column('site_url', sa.String(length=200), nullable=False),
    sa.Column('report', sa.String(length=16), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('row_key', sa.String(length=40), nullable=False),
    sa.Column('page', sa.Text(), nullable=False),
    sa.Column('query', sa.Text(), nullable=False),
    sa.Column('device', sa.String(length=16), nullable=False),
    sa.Column('country', sa.String(length=8), nullable=False),
    sa.Column('clicks', sa.Integer(), nullable=False),
    sa.Column('impressions', sa.Integer(), nullable=False),
    sa.Column('position_sum', sa.Float(), nullable=False),
    sa.Column('final', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('site_url', 'report', 'date', 'row_key', name=op.f('pk_raw_search_console_rows'))
    )


def downgrade() -> None:
    op.drop_table('raw_search_console_rows')
