"""The finished chunks of backfills: a backfill loads its range a chunk at a time (a source and a week, or a
source's whole range when its API cannot read a week on its own), and records each chunk once its rows are
committed, so that a rerun of a stopped backfill loads only what is missing.

A chunk is known by its source, the account it was read from, its first and last day, and `reads`: what the
read depended on besides the days (a request plan: a changed map reads its days again). Like the outbox,
a row records wall-clock time (`finished_at`) and the flow run that loaded it: it is a fact about the loading,
not about the customers.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, Date, DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from models.store import upsert
from models.tables import Base, table_of


class BackfillChunk(Base):
    """One chunk of a backfill whose rows are committed."""

    __tablename__ = "backfill_chunks"
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    since: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    until: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    reads: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime)  # naive UTC
    flow_run: Mapped[str] = mapped_column(String(64))  # the Prefect flow run that loaded it ("" outside one)


def record_chunk(conn: Connection, source: str, account: str, since: dt.date, until: dt.date, *, reads: str,
                 rows: int, flow_run: str) -> None:
    """Record a chunk as loaded (again: a reload replaces the record)."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    upsert(conn, table_of(BackfillChunk), [{"source": source, "account": account, "since": since, "until": until,
                                            "reads": reads, "rows": rows, "finished_at": now,
                                            "flow_run": flow_run}])


def finished_chunks(conn: Connection, source: str, account: str, reads: str) -> set[tuple[dt.date, dt.date]]:
    """The (since, until) of the chunks of `source` already loaded from `account` with the same `reads`."""
    stmt = select(BackfillChunk.since, BackfillChunk.until).where(
        BackfillChunk.source == source, BackfillChunk.account == account, BackfillChunk.reads == reads)
    return {(since, until) for since, until in conn.execute(stmt).all()}
