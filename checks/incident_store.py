"""Incidents in the warehouse: load the current state, save a day's changes (idempotent per day)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, delete, select, update

from checks.incidents import Event, Incident
from models.store import upsert
from models.tables import DetectionDay, IncidentEvent, IncidentRow, table_of


def _incident(row: Mapping[str, Any]) -> Incident:
    values = {f.name: row[f.name] for f in dataclasses.fields(Incident)}
    payload = values["payload"]
    values["payload"] = json.loads(payload) if isinstance(payload, str) else payload
    for name in ("opened_on", "last_seen_on", "resolved_on", "snoozed_until"):
        if isinstance(values[name], str):
            values[name] = dt.date.fromisoformat(values[name])
    return Incident(**values)


def load_incidents(conn: Connection, as_of: dt.date) -> dict[str, Incident]:
    """Every incident as it stood before `as_of` was judged (a rerun of a day starts from the day before)."""
    current = {r["key"]: _incident(dict(r)) for r in conn.execute(select(table_of(IncidentRow))).mappings()}
    for key, before in conn.execute(select(IncidentEvent.key, IncidentEvent.before)
                                    .where(IncidentEvent.as_of == as_of)).all():
        if before is None:
            current.pop(key, None)
        else:
            current[key] = _incident(json.loads(before))
    return current


def recent_candidates(conn: Connection, as_of: dt.date) -> dict[str, list[bool]]:
    """Key → candidate on each of the two days before as_of."""
    days = [as_of - dt.timedelta(days=d) for d in (2, 1)]
    rows = conn.execute(select(DetectionDay.as_of, DetectionDay.key).where(DetectionDay.as_of.in_(days))).all()
    out: dict[str, list[bool]] = {}
    for day, key in rows:
        flags = out.setdefault(key, [False, False])
        flags[days.index(day)] = True
    return out


def _state(incident: Incident) -> str:
    return json.dumps(dataclasses.asdict(incident), sort_keys=True, default=str)


def save_day(conn: Connection, as_of: dt.date, before: dict[str, Incident], after: dict[str, Incident],
             events: Iterable[Event], candidates: Iterable[str]) -> None:
    """Store the day: changed incidents, one event row per change (with the state before), candidate keys.

    Saving a day again replaces that day's rows, so judging the same day twice leaves what judging it once does.
    """
    told = {e.key: e for e in events}
    changed = [k for k, i in after.items() if before.get(k) != i]
    table = table_of(IncidentRow)
    conn.execute(delete(IncidentRow).where(IncidentRow.key.in_(set(before) - set(after))))
    upsert(conn, table, [{**dataclasses.asdict(after[k]), "payload": json.dumps(after[k].payload, sort_keys=True)}
                         for k in changed])
    conn.execute(delete(IncidentEvent).where(IncidentEvent.as_of == as_of))
    rows = []
    for key in changed:
        event = told.get(key)
        incident = after[key]
        rows.append({"key": key, "as_of": as_of, "action": event.action if event else "counted",
                     "status": incident.status, "severity": incident.severity,
                     "message": bool(event.message) if event else False,
                     "payload": json.dumps(event.payload if event else incident.payload, sort_keys=True),
                     "before": _state(before[key]) if key in before else None})
    upsert(conn, table_of(IncidentEvent), rows)
    conn.execute(delete(DetectionDay).where(DetectionDay.as_of == as_of))
    upsert(conn, table_of(DetectionDay), [{"as_of": as_of, "key": k} for k in set(candidates)])


def set_action(conn: Connection, key: str, *, acknowledged: bool | None = None,
               snoozed_until: dt.date | None = None) -> Incident | None:
    """Acknowledge or snooze an incident (what `journeymap incident ack|snooze` and the Slack buttons do); the
    incident as it is now, or None when there is no incident with that key."""
    row = conn.execute(select(table_of(IncidentRow)).where(IncidentRow.key == key)).mappings().first()
    if row is None:
        return None
    values: dict[str, Any] = {}
    if acknowledged is not None:
        values["acknowledged"] = acknowledged
    if snoozed_until is not None:
        values["snoozed_until"] = snoozed_until
    conn.execute(update(IncidentRow).where(IncidentRow.key == key).values(**values))
    return dataclasses.replace(_incident(dict(row)), **values)


def incident_keys(conn: Connection, open_only: bool = True) -> list[str]:
    query = select(IncidentRow.key).order_by(IncidentRow.key)
    if open_only:
        query = query.where(IncidentRow.status != "resolved")
    return list(conn.execute(query).scalars())
