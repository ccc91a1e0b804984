"""an account column for the Mailchimp and Stripe landing tables; checkout sessions keep expires_at

Rows stored before this revision came from the demo business, so they get the account "demo".

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 21:35:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

KEYS = {
    'raw_mailchimp_campaigns': ['campaign_id'],
    'raw_mailchimp_activity': ['campaign_id', 'email_hash', 'action', 'timestamp'],
    'raw_stripe_checkout_sessions': ['session_id'],
}


def upgrade() -> None:
    for table, key in KEYS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('account', sa.String(length=64), nullable=False, server_default='demo'))
            batch_op.drop_constraint(f'pk_{table}', type_='primary')
            batch_op.create_primary_key(f'pk_{table}', ['account', *key])
    with op.batch_alter_table('raw_stripe_checkout_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('raw_stripe_checkout_sessions', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
    for table, key in KEYS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f'pk_{table}', type_='primary')
            batch_op.create_primary_key(f'pk_{table}', key)
            batch_op.drop_column('account')
