"""The days a stream read whole (a survey export) changed: what its mapping must redo. A file read whole every run
spans the whole history, and mapping the whole history again every day would grow with it; comparing the stored
rows before and after the read gives the days whose rows are new or changed."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, Engine, select

from models.sync.engine import StreamResult
from models.sync.rows import RawStream

Snapshot = dict[tuple[Any, ...], dict[str, Any]]


def snapshot(engine: Engine, stream: RawStream, where: ColumnElement[bool] | None = None) -> Snapshot:
    """The stream's stored rows (those `where` picks), by primary key."""
    table = stream.table
    key = [c.name for c in table.primary_key.columns]
    query = select(table) if where is None else select(table).where(where)
    with engine.connect() as conn:
        return {tuple(r[k] for k in key): dict(r) for r in conn.execute(query).mappings()}


def changed_days(done: StreamResult, stream: RawStream, before: Snapshot, after: Snapshot,
                 as_of: dt.date) -> StreamResult:
    """The read's result with its days narrowed to those whose rows are new or changed; nothing changed: the
    day before `as_of` only (the day a daily run maps anyway)."""
    days = {stream.day_of(row) for key, row in after.items() if before.get(key) != row}
    days |= {stream.day_of(row) for key, row in before.items() if key not in after}
    if not days:
        days = {as_of - dt.timedelta(days=1)}
    return replace(done, since=min(days), until=max(days))
