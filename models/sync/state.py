"""What the sync keeps besides the rows: each stream's cursor and the records it could not land (the quarantine)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, select

from models.store import upsert
from models.tables import Quarantine, SyncState, table_of


def get_cursor(conn: Connection, source: str, stream: str, account: str) -> str | None:
    """The stored cursor of a stream, or None before its first sync."""
    return conn.execute(select(SyncState.cursor).where(
        SyncState.source == source, SyncState.stream == stream, SyncState.account == account)).scalar()

def set_cursor(conn: Connection, source: str, stream: str, account: str, cursor: str) -> None:
    """Move a stream's cursor; call it in the transaction that committed the rows."""
    upsert(conn, table_of(SyncState), [{"source": source, "stream": stream, "account": account,
                                        "cursor": cursor}])

def quarantine(conn: Connection, source: str, stream: str, items: Iterable[tuple[str, str, Any]],
               seen_on: dt.date) -> int:
    """Keep unparseable records whole: (record_key, reason, raw payload) each."""
    return upsert(conn, table_of(Quarantine), (
        {"source": source, "stream": stream, "record_key": key[:200], "reason": reason[:500],
         "payload": json.dumps(payload, default=str, sort_keys=True), "seen_on": seen_on}
        for key, reason, payload in items))
