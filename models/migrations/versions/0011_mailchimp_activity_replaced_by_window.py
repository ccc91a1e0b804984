"""Mailchimp activity: no unique key checked on every insert; the sync replaces what a read covers.

The table is the biggest one by far and its five-column key (with a 64-character hash) made each insert
several times dearer than the row itself. One index on (account, campaign, time) serves both the window
deletes of the sync and the mapping's reads.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 23:20:02.012991
"""
from __future__ import annotations

from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

KEY = ['account', 'campaign_id', 'email_hash', 'action', 'timestamp']


def upgrade() -> None:
    with op.batch_alter_table('raw_mailchimp_activity', schema=None) as batch_op:
        batch_op.drop_constraint('pk_raw_mailchimp_activity', type_='primary')
        batch_op.drop_index(batch_op.f('ix_raw_mailchimp_activity_timestamp'))
        batch_op.create_index('ix_raw_mailchimp_activity_scope', ['account', 'campaign_id', 'timestamp'], unique=False)


def downgrade() -> None:
    # rows stored since the upgrade are one per key already (the sync replaces, never appends twice)
    with op.batch_alter_table('raw_mailchimp_activity', schema=None) as batch_op:
        batch_op.drop_index('ix_raw_mailchimp_activity_scope')
        batch_op.create_index(batch_op.f('ix_raw_mailchimp_activity_timestamp'), ['timestamp'], unique=False)
        batch_op.create_primary_key('pk_raw_mailchimp_activity', KEY)
