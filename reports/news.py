"""What a run tells Slack, written to the outbox: a day's detection outcome as one thread per incident (or per
group of one cause), its rate picture, the data and source alerts and their resolutions. `flows.slack` delivers
the outbox."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Connection, RowMapping

from checks.detection import DetectionOutcome
from checks.incident_snapshot import snapshot_of
from checks.incidents import Event, Incident, cause_of
from models.config import JourneyMap
from models.outbox import (
    Outgoing,
    enqueue,
    thread_rows,
    top_of,
)
from reports.rate_chart import rate_png
from reports.slack import (
    Links,
    alert_message,
    alert_reply,
    data_alert_message,
    data_alert_reply,
    find_step,
    source_alert_message,
    source_alert_reply,
)


def as_body(message: Mapping[str, Any]) -> str:
    return json.dumps(message, sort_keys=True, ensure_ascii=False)


RATE_DAYS = 90  # the days of a step's rate pictured in its alert's thread

LinksFor = Callable[[str], Links]  # alert key → its buttons

def _channel(journey_map: JourneyMap, journey_id: str, default: str) -> str:
    journey = next((j for j in journey_map.journeys if j.id == journey_id), None)
    return (journey.slack_channel if journey is not None and journey.slack_channel else default) or ""

def alert_outbox(conn: Connection, journey_map: JourneyMap, outcome: DetectionOutcome, links: LinksFor,
                 channel: str) -> list[str]:
    """Queue the day's news: a thread per incident (opened → top message; reopened, severity change, resolved →
    a reply and the top message edited; a reading outside the interval shown → the top message edited), and a
    thread per source whose data cannot be judged. Incidents opened the same day on touchpoints of one cause (a
    page, a source rule) share one top message and its thread, the most money at stake leading. Returns the keys
    queued (none when the day was queued before)."""
    told = [e for e in outcome.events if e.message]
    leaders = _leaders(journey_map, outcome, told)
    queued: list[Outgoing] = []
    for event in sorted(told, key=lambda e: leaders.get(e.key, e.key) != e.key):  # each group's top first
        if leaders.get(event.key, event.key) != event.key:
            continue  # told in its leader's top message
        queued += _incident_news(conn, journey_map, event, outcome, links(event.key), channel,
                                 [k for k, lead in leaders.items() if lead == event.key and k != event.key])
    added = enqueue(conn, queued)
    return added + _data_news(conn, outcome, links, channel)

def chart_outbox(conn: Connection, journey_map: JourneyMap, outcome: DetectionOutcome,
                 series: pd.DataFrame) -> list[str]:
    """Queue, in the thread of each incident opened that day with a top message of its own, the step's rate over
    the last RATE_DAYS days as a small picture (`series`: the step series, date × step × segment → n, k)."""
    files: list[Outgoing] = []
    for event in outcome.events:
        incident = outcome.incidents.get(event.key)
        if not event.message or event.action != "opened" or incident is None:
            continue
        thread = f"alert|{event.key}|{incident.opened_on}"
        top = top_of(conn, thread)
        if top is None:  # told in another incident's top message (one cause): that thread has its picture
            continue
        first = event.as_of - dt.timedelta(days=RATE_DAYS)
        days = [first + dt.timedelta(days=i) for i in range(RATE_DAYS)]
        mine = series[(series["step"] == incident.step) & (series["segment"] == incident.segment)] \
            if len(series) else series
        by_day = {pd.Timestamp(d).date(): (float(k), float(n)) for d, n, k in
                  zip(mine.get("date", []), mine.get("n", []), mine.get("k", []), strict=True)}
        reading = snapshot_of(event.payload)
        _, tp, after = find_step(journey_map, incident.journey, incident.step)
        name = f"{tp.name if tp else incident.step}{f' → {after}' if after else ''}"
        png = rate_png(f"{name} ({incident.segment}), the last {RATE_DAYS} days", days,
                       [by_day.get(d, (0.0, 0.0))[0] for d in days], [by_day.get(d, (0.0, 0.0))[1] for d in days],
                       usual=reading.baseline, since=dt.date.fromisoformat(reading.since) if reading.since else None)
        filename = re.sub(r"[^A-Za-z0-9._-]+", "-", f"rate-{incident.step}-{incident.segment}-{event.as_of}.png")
        body = {"filename": filename, "title": f"{name}: the rate of the last {RATE_DAYS} days",
                "comment": "", "in_thread": True}
        files.append(Outgoing(f"{thread}|chart", thread, "file", str(top["channel"]), as_body(body), png))
    return enqueue(conn, files)

def _leaders(journey_map: JourneyMap, outcome: DetectionOutcome, told: list[Event]) -> dict[str, str]:
    """Key → the key whose top message tells it, for the incidents opened today that share a cause with another."""
    opened = sorted((e for e in told if e.action == "opened"), key=lambda e: -snapshot_of(e.payload).impact_per_day)
    leaders: dict[str, str] = {}
    by_cause: dict[str, str] = {}
    for event in opened:
        incident = outcome.incidents.get(event.key)
        if incident is None:
            continue
        leader = by_cause.setdefault(cause_of(journey_map, incident.journey, incident.step), event.key)
        leaders[event.key] = leader
    return leaders

def _related(journey_map: JourneyMap, incidents: Mapping[str, Incident], key: str) -> list[Incident]:
    """The other incidents opened on the same day as `key`'s on a touchpoint of the same cause (not digest-only)."""
    me = incidents.get(key)
    if me is None:
        return []
    cause = cause_of(journey_map, me.journey, me.step)
    return sorted((i for k, i in incidents.items() if k != key and i.opened_on == me.opened_on and not i.digest_only
                   and cause_of(journey_map, i.journey, i.step) == cause), key=lambda i: i.key)

def _incident_news(conn: Connection, journey_map: JourneyMap, event: Event, outcome: DetectionOutcome,
                   links: Links, default: str, members: list[str]) -> list[Outgoing]:
    incident = outcome.incidents.get(event.key)
    opened_on = incident.opened_on if incident is not None else event.as_of
    thread = f"alert|{event.key}|{opened_on}"
    key = f"{thread}|{event.as_of}|{event.action}"
    channel = _channel(journey_map, event.key.split("|")[0], default)
    first = top_of(conn, thread)
    if event.action == "opened" or first is None:
        group = None if event.action == "opened" else next(
            (f"alert|{i.key}|{i.opened_on}" for i in _related(journey_map, outcome.incidents, event.key)
             if top_of(conn, f"alert|{i.key}|{i.opened_on}") is not None), None)
        if group is not None:  # told in the top message of its cause: its news goes to that thread
            return _group_news(conn, journey_map, event, outcome, group, key, links)
        top = _top(journey_map, event.key, event.payload, event.status, event.severity, opened_on, event.as_of,
                   links, key, incident.resolved_on if incident is not None else None,
                   [(k, outcome.incidents[k].payload, outcome.incidents[k].status) for k in members])
        return [Outgoing(key, thread, "top", channel, as_body(top))]
    related = [(i.key, i.payload, i.status) for i in _related(journey_map, outcome.incidents, event.key)]
    top = _top(journey_map, event.key, event.payload, event.status, event.severity, opened_on, event.as_of, links,
               str(first["key"]), incident.resolved_on if incident is not None else None, related)
    if event.action == "refreshed":  # the reading left the interval the top message shows: its figures are edited
        return [Outgoing(f"{key}|update", thread, "update", channel, as_body(top))]
    reply = alert_reply(journey_map, event.key, event.payload, action=event.action, status=event.status,
                        severity=event.severity, as_of=event.as_of, message_key=key)
    return [Outgoing(key, thread, "reply", channel, as_body(reply)),
            Outgoing(f"{key}|update", thread, "update", channel, as_body(top))]

def _group_news(conn: Connection, journey_map: JourneyMap, event: Event, outcome: DetectionOutcome, group: str,
                key: str, links: Links) -> list[Outgoing]:
    """News of an incident told in another's top message: a reply in that thread, and that top message edited."""
    first = top_of(conn, group)
    assert first is not None
    channel = str(first["channel"])
    out = [] if event.action == "refreshed" else [Outgoing(key, group, "reply", channel, as_body(alert_reply(
        journey_map, event.key, event.payload, action=event.action, status=event.status, severity=event.severity,
        as_of=event.as_of, message_key=key)))]
    leader_key = group.split("|", 1)[1].rsplit("|", 1)[0]
    leader = outcome.incidents.get(leader_key)
    if leader is not None:
        related = [(i.key, i.payload, i.status) for i in _related(journey_map, outcome.incidents, leader_key)]
        top = _top(journey_map, leader_key, leader.payload, leader.status, leader.severity, leader.opened_on,
                   event.as_of, links, str(first["key"]), leader.resolved_on, related)
        out.append(Outgoing(f"{key}|update", group, "update", channel, as_body(top)))
    return out

def _top(journey_map: JourneyMap, key: str, payload: Mapping[str, Any], status: str, severity: str,
         opened_on: dt.date, as_of: dt.date, links: Links, message_key: str, resolved_on: dt.date | None,
         related: Sequence[tuple[str, Mapping[str, Any], str]]) -> dict[str, Any]:
    return alert_message(journey_map, key, payload, status=status, severity=severity, opened_on=opened_on,
                         as_of=as_of, links=links, message_key=message_key, resolved_on=resolved_on, related=related)

def _data_news(conn: Connection, outcome: DetectionOutcome, links: LinksFor, channel: str) -> list[str]:
    """Open a data thread for each source newly unusable; resolve the open ones whose source is usable again."""
    keys: list[str] = []
    open_threads = _open_data_threads(conn)
    links_now = links(f"data|{outcome.as_of}")
    for source, reason in sorted(outcome.data_alerts.items()):
        if source in open_threads:
            continue
        thread = f"data|{source}|{outcome.as_of}"
        key = f"{thread}|opened"
        body = data_alert_message(source, reason, status="open", first_day=outcome.as_of, as_of=outcome.as_of,
                                  links=links_now, message_key=key)
        keys += enqueue(conn, [Outgoing(key, thread, "top", channel, as_body(body))])
    for source, (thread, first_day, reason) in open_threads.items():
        if source in outcome.data_alerts:
            continue
        key = f"{thread}|resolved"
        top = data_alert_message(source, reason, status="resolved", first_day=first_day, as_of=outcome.as_of,
                                 links=links_now, message_key=f"{thread}|opened")
        keys += enqueue(conn, [
            Outgoing(key, thread, "reply", channel, as_body(data_alert_reply(source, as_of=outcome.as_of,
                                                                           message_key=key))),
            Outgoing(f"{key}|update", thread, "update", channel, as_body(top))])
    return keys

def _unresolved_threads(conn: Connection, prefix: str) -> list[tuple[str, list[str], dt.date, str]]:
    """(thread, the parts of its key between the prefix and the first day, first day, reason) of each thread
    whose key starts with `prefix` and that has no `|resolved` message yet."""
    threads: dict[str, list[RowMapping]] = {}
    for row in thread_rows(conn, prefix):
        threads.setdefault(str(row["thread"]), []).append(row)
    out = []
    for thread, rows in threads.items():
        if any(str(r["key"]).endswith("|resolved") for r in rows):
            continue
        *parts, day = thread.split("|")[1:]
        text = str(json.loads(rows[0]["body"]).get("text", ""))
        out.append((thread, parts, dt.date.fromisoformat(day), text.split(": ", 1)[-1]))
    return out

def _open_data_threads(conn: Connection) -> dict[str, tuple[str, dt.date, str]]:
    """Source → (thread, first day, reason) of each data thread not yet resolved."""
    return {parts[0]: (thread, day, reason) for thread, parts, day, reason in _unresolved_threads(conn, "data|")}

def source_outbox(conn: Connection, failures: Mapping[str, tuple[str, str]], read: Collection[str], as_of: dt.date,
                  links: LinksFor, channel: str) -> list[str]:
    """Queue a thread per source and cause that could not be read (`failures`: source → (cause, reason)), unless
    one is open already; resolve each open one whose source was `read` this run. Returns the keys queued."""
    keys: list[str] = []
    open_threads = _open_source_threads(conn)
    links_now = links(f"data|{as_of}")
    for source, (cause, reason) in sorted(failures.items()):
        if (source, cause) in open_threads:
            continue  # still failing: the open thread says so already
        thread = f"source|{source}|{cause}|{as_of}"
        key = f"{thread}|opened"
        body = source_alert_message(source, cause, reason, status="open", first_day=as_of, as_of=as_of,
                                    links=links_now, message_key=key)
        keys += enqueue(conn, [Outgoing(key, thread, "top", channel, as_body(body))])
    for (source, cause), (thread, first_day, reason) in sorted(open_threads.items()):
        if source not in read or source in failures:
            continue
        key = f"{thread}|resolved"
        top = source_alert_message(source, cause, reason, status="resolved", first_day=first_day, as_of=as_of,
                                   links=links_now, message_key=f"{thread}|opened")
        reply = source_alert_reply(source, cause, as_of=as_of, message_key=key)
        keys += enqueue(conn, [Outgoing(key, thread, "reply", channel, as_body(reply)),
                               Outgoing(f"{key}|update", thread, "update", channel, as_body(top))])
    return keys

def _open_source_threads(conn: Connection) -> dict[tuple[str, str], tuple[str, dt.date, str]]:
    """(source, cause) → (thread, first day, reason) of each unread-source thread not yet resolved."""
    return {(parts[0], parts[1]): (thread, day, reason)
            for thread, parts, day, reason in _unresolved_threads(conn, "source|")}
