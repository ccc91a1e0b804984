"""A judged day: its data alerts, the incidents' events and state afterwards, and the candidate keys it stores."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from checks.incidents import Event, Incident, incident_key


@dataclass
class DetectionOutcome:
    """A day's judgement: the data alerts, the events, the incidents open afterwards, and the steps held back."""

    as_of: dt.date
    data_alerts: dict[str, str] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    open: list[Incident] = field(default_factory=list)
    incidents: dict[str, Incident] = field(default_factory=dict)  # every incident after the day, resolved too
    held_back: dict[str, str] = field(default_factory=dict)  # touchpoint id → why its step was not judged


def conclude(as_of: dt.date, findings: pd.DataFrame, today: dict[str, Incident], events: list[Event],
             alerts: dict[str, str], held: dict[str, str]) -> tuple[DetectionOutcome, list[str]]:
    """The day's outcome, and the keys of its candidates (for "2 of the last 3 runs")."""
    flagged = findings[findings["candidate"] & findings["alert_segment"]] if len(findings) else findings
    candidates = [incident_key(str(j), str(st), str(sg), str(kd)) for j, st, sg, kd in
                  zip(flagged.get("journey", []), flagged.get("step", []), flagged.get("segment", []),
                      flagged.get("kind", []), strict=True)]
    outcome = DetectionOutcome(as_of, alerts, events,
                               sorted((i for i in today.values() if i.status != "resolved"),
                                      key=lambda i: -(i.payload.get("impact_per_day") or 0)), today, held)
    return outcome, candidates
