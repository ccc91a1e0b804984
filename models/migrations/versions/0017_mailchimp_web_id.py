"""A Mailchimp campaign's web-app id, so an alert can link to the campaign's own report.

Campaigns stored before this revision get 0 (unknown) until the next run reads them again.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 11:30:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('raw_mailchimp_campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('web_id', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('raw_mailchimp_campaigns', schema=None) as batch_op:
        batch_op.drop_column('web_id')
