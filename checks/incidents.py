"""The alert lifecycle: open → ongoing → resolved, reopen within 7 days, flap demotion, daily cap, snooze.

`advance` is pure: today's findings and yesterday's incidents in, today's incidents and events out.
One incident per key = journey | step | segment | type, where type is "stall" or "drop".

Each day an incident is flagged its reading is taken once and stored in its payload (`checks.incident_snapshot`);
Slack, the HTML map, the PNG, the summaries and the incident tables all render that one snapshot.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from checks.bottlenecks import RESOLVE_DAYS
from checks.incident_snapshot import number, published, reading_of_row, snapshot_of, with_snapshot
from models.config import AlertPolicy, JourneyMap
from models.sources import source

REOPEN_DAYS = 7
FLAPS_TO_DIGEST = 3
GOOD_DAYS_TO_RESOLVE = 2
PAYLOAD = ["journey", "stage", "touchpoint", "source", "segment", "kind", "severity", "p_w", "p_lo", "p_hi", "p0",
           "z", "q", "window", "drop", "lost", "lost_per_day", "impact_per_day", "top_segments", "since"]


@dataclass(frozen=True)
class Incident:
    key: str
    journey: str
    step: str
    segment: str
    type: str
    status: str  # open | ongoing | resolved
    severity: str
    opened_on: dt.date
    last_seen_on: dt.date
    resolved_on: dt.date | None = None
    good_days: int = 0
    flaps: int = 0
    digest_only: bool = False
    snoozed_until: dt.date | None = None
    acknowledged: bool = False
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def muted(self) -> bool:
        return self.acknowledged or self.digest_only


@dataclass(frozen=True)
class Event:
    """What happened to an incident on a day: opened, reopened, updated, resolved; `message` = tell Slack."""

    key: str
    as_of: dt.date
    action: str
    status: str
    severity: str
    message: bool
    payload: dict[str, Any]


def cause_of(journey_map: JourneyMap, journey_id: str, step: str) -> str:
    """What a touchpoint's numbers come from: its page (a match key its source declares a page) or else its rule.
    Incidents opened the same day on touchpoints of one cause are one alert (the same page's traffic and its
    sessions are one leak, not two)."""
    for journey, tp in journey_map.touchpoints():
        if journey.id == journey_id and tp.id == step:
            page = next((tp.match[k] for k in source(tp.source).page_keys if tp.match.get(k)), None)
            return f"page:{page}" if page else f"rule:{tp.source}:{sorted(tp.match.items())}"
    return f"step:{journey_id}|{step}"


def incident_key(journey: str, step: str, segment: str, kind: str) -> str:
    return f"{journey}|{step}|{segment}|{'stall' if kind in ('flatline', 'collapse') else 'drop'}"


def _payload(row: pd.Series) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in PAYLOAD:
        value: Any = row.get(name)
        if isinstance(value, float) and pd.isna(value):
            value = None
        elif value is not None and hasattr(value, "item"):
            value = value.item()
        out[name] = value.isoformat() if isinstance(value, dt.date) else value
    return out


def advance(findings: pd.DataFrame, incidents: dict[str, Incident], recent: dict[str, list[bool]],
            as_of: dt.date, policy: AlertPolicy) -> tuple[dict[str, Incident], list[Event]]:
    """Move every incident one day on.

    Args:
        findings: detect()'s rows for `as_of`.
        incidents: every incident by key, as of the day before.
        recent: key → was it a candidate on each of the two previous days (for "2 of the last 3 runs").
    """
    today = dict(incidents)
    events: list[Event] = []
    flagged = findings[(findings["candidate"] | findings["stall"]) & findings["alert_segment"]] \
        if len(findings) else findings
    seen: set[str] = set()
    openings: list[tuple[float, Incident, str]] = []
    for _, row in flagged.iterrows():  # a handful of flagged series a day, not the data rows
        if recovered(row, policy):  # the window still holds old bad days, the last week is fine again:
            continue            # no new alert, and an open incident counts the day toward resolution below
        key = incident_key(row["journey"], row["step"], row["segment"], row["kind"])
        stall_key = key.rsplit("|", 1)[0] + "|stall"
        if key != stall_key and today.get(stall_key) is not None and \
                today[stall_key].status in ("open", "ongoing"):
            key = stall_key  # the windows now see the stall's days: the same leak, told in its thread
        seen.add(key)
        payload = _payload(row)
        current = today.get(key)
        if current is not None and current.status in ("open", "ongoing"):
            today[key], event = _update(current, row, payload, as_of)
            if event is not None:
                events.append(event)
            continue
        earlier = sum(recent.get(key, []))
        opens = bool(row["stall"]) or float(row["z"] if pd.notna(row["z"]) else 0) <= -5 or earlier >= 1
        if not opens:
            continue
        if current is not None and current.resolved_on is not None and \
                (as_of - current.resolved_on).days <= REOPEN_DAYS:
            flaps = current.flaps + 1
            reopened = replace(current, status="open", severity=row["severity"], last_seen_on=as_of,
                               resolved_on=None, good_days=0, flaps=flaps,
                               digest_only=current.digest_only or flaps >= FLAPS_TO_DIGEST or _worthless(row),
                               payload=published(payload, reading_of_row(row, as_of, None)))
            openings.append((float(row["impact_per_day"] or 0), reopened, "reopened"))
            continue
        fresh = Incident(key, row["journey"], row["step"], row["segment"], key.rsplit("|", 1)[1], "open",
                         row["severity"], as_of, as_of, digest_only=_worthless(row),
                         payload=published(payload, reading_of_row(row, as_of, None)))
        openings.append((float(row["impact_per_day"] or 0), fresh, "opened"))
    for rank, (_, incident, action) in enumerate(sorted(openings, key=lambda o: -o[0])):
        capped = rank >= policy.max_new_alerts_per_day
        incident = replace(incident, digest_only=incident.digest_only or capped) if capped else incident
        today[incident.key] = incident
        events.append(Event(incident.key, as_of, action, "open", incident.severity, not _quiet(incident, as_of),
                            incident.payload))
    judged = _judged(findings)
    for key, incident in list(today.items()):
        if key in seen or incident.status == "resolved":
            continue
        judged_row = judged.get((incident.step, incident.segment))
        good = judged_row is not None and recovered(judged_row, policy)
        days = incident.good_days + 1 if good else 0
        if days >= GOOD_DAYS_TO_RESOLVE:
            today[key] = replace(incident, status="resolved", resolved_on=as_of, good_days=days)
            events.append(Event(key, as_of, "resolved", "resolved", incident.severity,
                                not _quiet(incident, as_of), incident.payload))
        else:
            today[key] = replace(incident, good_days=days)
    return today, events


def _update(current: Incident, row: pd.Series, payload: dict[str, Any],
            as_of: dt.date) -> tuple[Incident, Event]:
    """An open incident flagged again: today's reading, keeping its first bad day. It is published (and the top
    message edited) on a severity change — news, with a reply — or when its rate left the interval of the reading
    published before; otherwise every surface keeps showing that one."""
    shown = snapshot_of(current.payload)
    snapshot = reading_of_row(row, as_of, shown.since)
    severity = str(row["severity"])
    if current.severity != severity:
        action = "updated"
    elif snapshot.moved_beyond(shown):
        action = "refreshed"
    else:
        kept = replace(current, status="ongoing", last_seen_on=as_of, good_days=0,
                       payload=with_snapshot(payload, snapshot, shown))
        return kept, Event(current.key, as_of, "updated", "ongoing", severity, False, kept.payload)
    updated = replace(current, status="ongoing", severity=severity, last_seen_on=as_of, good_days=0,
                      payload=with_snapshot(payload, snapshot, snapshot))
    return updated, Event(current.key, as_of, action, "ongoing", severity, not _quiet(updated, as_of),
                          updated.payload)


WORTH_ALERTING = 0.5  # money at stake per day below this rounds to "0 lost per day"


def _worthless(row: pd.Series) -> bool:
    """A step worth nothing — its goal has no value, or (short of a stall) what it loses rounds to nothing a day:
    its alert would say "0 lost per day", so it goes to the digest."""
    value, share = number(row.get("value")), number(row.get("goal_share"))
    if value is None:
        return False
    if value * (1.0 if share is None else share) <= 0:
        return True
    return not bool(row.get("stall")) and (number(row.get("impact_per_day")) or 0.0) < WORTH_ALERTING


def _quiet(incident: Incident, as_of: dt.date) -> bool:
    snoozed = incident.snoozed_until is not None and as_of <= incident.snoozed_until
    return incident.muted or snoozed


def _judged(findings: pd.DataFrame) -> dict[tuple[str, str], pd.Series]:
    if not len(findings):
        return {}
    return {(r["step"], r["segment"]): r for _, r in findings.iterrows()}


def recovered(row: pd.Series, policy: AlertPolicy) -> bool:
    """A matured day that counts toward resolution: the last week's z ≥ −1.5 and its drop under resolve_drop.

    Both are read over the newest 7 matured days (`z_resolve`, `drop_resolve`). A series whose longer
    windows still hold a fixed leak's bad days is a candidate, but not a new leak: it neither opens an
    incident nor keeps one open.
    """
    z7 = row.get("z_resolve", row.get("z7"))
    drop = row.get("drop_resolve", row.get("drop"))
    z_ok = z7 is None or pd.isna(z7) or float(z7) >= -1.5
    drop_ok = drop is None or pd.isna(drop) or float(drop) < policy.resolve_drop
    return bool(z_ok and drop_ok and not row["stall"])


def incident_days(series: pd.DataFrame, incidents: dict[str, Incident], as_of: dt.date) -> pd.DataFrame:
    """(step, segment, date) of every open incident's days, all segments of its step: kept out of baselines.

    An incident's days start at its `since` (the first day of the window that found it), not at the day
    it opened.
    """
    parts = []
    for i in incidents.values():
        if i.status == "resolved":
            continue
        since = i.payload.get("since")
        first = min(i.opened_on, dt.date.fromisoformat(since)) if since else i.opened_on
        parts.append(series.loc[(series["step"] == i.step) & (series["date"] >= first) & (series["date"] <= as_of),
                                ["step", "segment", "date"]])
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["step", "segment", "date"])


def closed_days(incidents: dict[str, Incident], lags: Mapping[str, int]) -> pd.DataFrame:
    """(step, date) of the bad days of every resolved incident: kept out of its step's later baselines and
    test windows, so days already told and fixed never read as a new drop nor lower the usual rate.

    The bad days run from its `since` to the day before the RESOLVE_DAYS-day window of the run that resolved
    it (that window read good; the days before it may not have).
    """
    rows = []
    for i in incidents.values():
        since = i.payload.get("since")
        if i.status != "resolved" or i.resolved_on is None or not since or i.step not in lags:
            continue
        last = i.resolved_on - dt.timedelta(days=lags[i.step] + RESOLVE_DAYS)
        day = dt.date.fromisoformat(since)
        while day <= last:
            rows.append((i.step, day))
            day += dt.timedelta(days=1)
    return pd.DataFrame(rows, columns=["step", "date"]).drop_duplicates()
