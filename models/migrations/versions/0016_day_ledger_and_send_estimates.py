"""The day ledger (synced_days per stream: last read, settled, rows, empty or gap) and rebuilt automation sends.

Days recorded before this revision were read without knowing whether they had settled: they are marked
unsettled, so the next run reads them once more and late data that an older run missed lands.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 19:40:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('synced_days', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stream', sa.String(length=64), nullable=False, server_default='rows'))
        batch_op.add_column(sa.Column('read_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('settled', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('rows', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('status', sa.String(length=8), nullable=False, server_default='ok'))
        batch_op.add_column(sa.Column('empty_since', sa.Date(), nullable=True))
        batch_op.drop_constraint('pk_synced_days', type_='primary')
        batch_op.create_primary_key('pk_synced_days', ['source', 'stream', 'account', 'day'])
    with op.batch_alter_table('synced_days', schema=None) as batch_op:  # the defaults served the old rows only
        for name in ('stream', 'settled', 'rows', 'status'):
            batch_op.alter_column(name, server_default=None)
    op.create_table('raw_mailchimp_send_estimates',
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('campaign_id', sa.String(length=64), nullable=False),
    sa.Column('hour', sa.DateTime(), nullable=False),
    sa.Column('sends', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('account', 'campaign_id', 'hour', name=op.f('pk_raw_mailchimp_send_estimates'))
    )
    op.create_table('raw_mailchimp_send_checks',
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('campaign_id', sa.String(length=64), nullable=False),
    sa.Column('built_on', sa.Date(), nullable=False),
    sa.Column('emails_sent', sa.Integer(), nullable=False),
    sa.Column('placed', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('account', 'campaign_id', name=op.f('pk_raw_mailchimp_send_checks'))
    )


def downgrade() -> None:
    op.drop_table('raw_mailchimp_send_checks')
    op.drop_table('raw_mailchimp_send_estimates')
    op.execute("DELETE FROM synced_days WHERE stream <> 'rows'")
    with op.batch_alter_table('synced_days', schema=None) as batch_op:
        batch_op.drop_constraint('pk_synced_days', type_='primary')
        batch_op.create_primary_key('pk_synced_days', ['source', 'account', 'day'])
        for name in ('empty_since', 'status', 'rows', 'settled', 'read_on', 'stream'):
            batch_op.drop_column(name)
