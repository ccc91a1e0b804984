"""Alembic environment: runs on the connection the caller hands over (models.db.migrate)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import models.backfill
import models.outbox  # noqa: F401  (registers the Slack outbox table)
from models.tables import Base

config = context.config
target_metadata = Base.metadata

connection = config.attributes.get("connection")
if connection is None:  # `alembic` on the command line: use the URL from alembic's -x url=...
    url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///journey.db")
    with create_engine(url).begin() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    context.run_migrations()
