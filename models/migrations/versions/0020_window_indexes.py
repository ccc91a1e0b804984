"""Indexes for the reads of a day or a window that their primary keys do not lead with: the day ledger's days of
every stream and account (the settled check), the quarantine's `seen_on` (its quality check) and the incident
events of a day (every key), so that a daily run's cost does not grow with the stored history.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-11 10:00:00.000000
"""
from __future__ import annotations

from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

INDEXES = (('ix_synced_days_source_day', 'synced_days', ['source', 'day']),
           ('ix_quarantine_seen_on', 'quarantine', ['seen_on']),
           ('ix_incident_events_as_of', 'incident_events', ['as_of']))


def upgrade() -> None:
    for name, table, columns in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
