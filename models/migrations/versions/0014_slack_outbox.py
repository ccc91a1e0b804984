"""The Slack outbox: messages stored before they are sent (retried next run, never sent twice).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23 02:28:01.244932
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('slack_outbox',
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('thread', sa.String(length=400), nullable=False),
    sa.Column('role', sa.String(length=8), nullable=False),
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('attachment', sa.LargeBinary(), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.Column('attempted_at', sa.DateTime(), nullable=True),
    sa.Column('ts', sa.String(length=40), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_slack_outbox'))
    )
    with op.batch_alter_table('slack_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slack_outbox_seq'), ['seq'], unique=False)
        batch_op.create_index(batch_op.f('ix_slack_outbox_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_slack_outbox_thread'), ['thread'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('slack_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_slack_outbox_thread'))
        batch_op.drop_index(batch_op.f('ix_slack_outbox_status'))
        batch_op.drop_index(batch_op.f('ix_slack_outbox_seq'))

    op.drop_table('slack_outbox')
