"""The Slack outbox: every message a run wants to send, stored before it is sent, so that nothing is lost when
Slack or the network fails and nothing is sent twice.

A message is keyed by what it says (`key`: e.g. "alert|course|checkout|all|stall|2026-09-20|opened"), so queueing
the same day's messages again adds nothing. Messages of one Slack thread share `thread`; the thread's first
message (`role` "top") is posted, replies are posted under it, "update" edits it, "file" uploads a file into
it. Unlike the warehouse tables, a row records wall-clock times (`attempted_at`, `sent_at`): delivery is an
act in the world, and a message attempted without a recorded answer is looked up in Slack before it is sent
again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    Integer,
    LargeBinary,
    RowMapping,
    String,
    Text,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.tables import Base, table_of

ROLES = ("top", "reply", "update", "file")
PENDING, SENT, FAILED, WRITTEN = "pending", "sent", "failed", "written"


class OutboxMessage(Base):
    """One Slack message (or file) to deliver, in the order it was queued (`seq`)."""

    __tablename__ = "slack_outbox"
    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, index=True)
    thread: Mapped[str] = mapped_column(String(400), index=True)
    role: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)  # JSON: text, blocks, metadata (a file: filename, title, comment)
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary)  # a file's bytes
    status: Mapped[str] = mapped_column(String(8), index=True)  # pending | sent | failed | written
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(String(500))
    attempted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # naive UTC, set before each attempt
    ts: Mapped[str | None] = mapped_column(String(40))  # Slack's message ts (or file id) once sent
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


@dataclass(frozen=True)
class Outgoing:
    """A message to queue. `body` is the Block Kit message (or a file's name, title and comment)."""

    key: str
    thread: str
    role: str
    channel: str
    body: str
    attachment: bytes | None = None


def enqueue(conn: Connection, messages: Iterable[Outgoing]) -> list[str]:
    """Queue the messages not queued before (by key); returns the keys added, in order."""
    wanted = list({m.key: m for m in messages}.values())
    if not wanted:
        return []
    table = table_of(OutboxMessage)
    known = set(conn.execute(select(table.c.key).where(table.c.key.in_([m.key for m in wanted]))).scalars())
    fresh = [m for m in wanted if m.key not in known]
    seq = int(conn.execute(select(func.coalesce(func.max(table.c.seq), 0))).scalar_one())
    if fresh:
        conn.execute(insert(table), [
            {"key": m.key, "seq": seq + i + 1, "thread": m.thread, "role": m.role, "channel": m.channel,
             "body": m.body, "attachment": m.attachment, "status": PENDING, "attempts": 0, "last_error": "",
             "attempted_at": None, "ts": None, "sent_at": None} for i, m in enumerate(fresh)])
    return [m.key for m in fresh]


def pending(conn: Connection) -> list[RowMapping]:
    """Messages still to deliver, in queue order."""
    table = table_of(OutboxMessage)
    return list(conn.execute(select(table).where(table.c.status == PENDING).order_by(table.c.seq)).mappings())


def thread_rows(conn: Connection, prefix: str) -> list[RowMapping]:
    """Every message of the threads whose key starts with `prefix`, in queue order (without file bytes)."""
    table = table_of(OutboxMessage)
    columns = [c for c in table.c if c.name != "attachment"]
    return list(conn.execute(select(*columns).where(table.c.thread.startswith(prefix, autoescape=True))
                             .order_by(table.c.seq)).mappings())


def top_of(conn: Connection, thread: str) -> RowMapping | None:
    """The thread's first message (sent or not)."""
    table = table_of(OutboxMessage)
    query = select(table.c.key, table.c.channel, table.c.status, table.c.ts).where(
        table.c.thread == thread, table.c.role == "top").order_by(table.c.seq)
    return conn.execute(query).mappings().first()


def mark_attempt(conn: Connection, key: str, now: dt.datetime) -> None:
    """Record an attempt before it is made (a crash after it leaves the row to be looked up in Slack)."""
    table = table_of(OutboxMessage)
    conn.execute(update(table).where(table.c.key == key).values(attempts=table.c.attempts + 1, attempted_at=now))


def mark_sent(conn: Connection, key: str, ts: str, now: dt.datetime, channel_id: str) -> None:
    """Sent: Slack's ts (or file id), and the channel's ID (replies and edits need it, not its name)."""
    table = table_of(OutboxMessage)
    conn.execute(update(table).where(table.c.key == key).values(status=SENT, ts=ts, sent_at=now, last_error="",
                                                                channel=channel_id))


def mark_written(conn: Connection, key: str, now: dt.datetime) -> None:
    """Written to the local outbox folder (no Slack token): shown, not sent."""
    table = table_of(OutboxMessage)
    conn.execute(update(table).where(table.c.key == key).values(status=WRITTEN, sent_at=now))


def mark_error(conn: Connection, key: str, error: str, *, final: bool) -> None:
    """Keep the error; `final`: Slack refused the message itself (it is never retried)."""
    table = table_of(OutboxMessage)
    values: dict[str, Any] = {"last_error": error[:500]}
    if final:
        values["status"] = FAILED
    conn.execute(update(table).where(table.c.key == key).values(**values))
