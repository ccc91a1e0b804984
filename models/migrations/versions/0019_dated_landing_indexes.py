"""An index on the day of each big landing table whose primary key puts the day after the account and report:
the mapping's and the quality suite's reads of a window (every account, every report) find its days instead of
reading the whole history (a subscription's cancellation too), so a daily run costs the same after two years as after one month.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 19:00:00.000000
"""
from __future__ import annotations

from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

INDEXES = (('raw_ga4_rows', 'date'), ('raw_search_console_rows', 'date'), ('raw_mailchimp_activity', 'timestamp'),
           ('raw_stripe_subscriptions', 'canceled_at'))


def upgrade() -> None:
    for table, column in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f'ix_{table}_{column}'), [column], unique=False)


def downgrade() -> None:
    for table, column in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_{column}'))
