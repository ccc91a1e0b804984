"""Incidents in the warehouse: load the current state, save a day's changes (idempotent per day)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable

from sqlalchemy import Connection, delete, select

from checks.incidents import Event, Incident
from models.store import upsert
from models.tables import DetectionDay, IncidentEvent, IncidentRow, table_of


def load_incidents(conn: Connection) -> dict[str, Incident]:
    rows = conn.execute(select(table_of(IncidentRow))).mappings().all()
    return {r["key"]: Incident(**{**dict(r), "payload": json.loads(r["payload"])}) for r in rows}


def recent_candidates(conn: Connection, as_of: dt.date) -> dict[str, list[bool]]:
    """Key → candidate on each of the two days before as_of."""
    days = [as_of - dt.timedelta(days=d) for d in (2, 1)]
    rows = conn.execute(select(DetectionDay.as_of, DetectionDay.key).where(DetectionDay.as_of.in_(days))).all()
    out: dict[str, list[bool]] = {}
    for day, key in rows:
        flags = out.setdefault(key, [False, False])
        flags[days.index(day)] = True
    return out


def save_day(conn: Connection, as_of: dt.date, incidents: dict[str, Incident], events: Iterable[Event],
             candidates: Iterable[str]) -> None:
    """Store the incidents' state, the day's events and candidate keys; a rerun of the day replaces its own."""
    upsert(conn, table_of(IncidentRow), [{**dataclasses.asdict(i), "payload": json.dumps(i.payload, sort_keys=True)}
                                          for i in incidents.values()])
    conn.execute(delete(IncidentEvent).where(IncidentEvent.as_of == as_of))
    upsert(conn, table_of(IncidentEvent), [{**dataclasses.asdict(e), "payload": json.dumps(e.payload, sort_keys=True)}
                                            for e in events])
    conn.execute(delete(DetectionDay).where(DetectionDay.as_of == as_of))
    upsert(conn, table_of(DetectionDay), [{"as_of": as_of, "key": k} for k in set(candidates)])
