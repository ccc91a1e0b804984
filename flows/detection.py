"""Detection wiring: stored facts → steps → health gate → detect → incident lifecycle; and the backtest replay."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Engine, select

from checks.bottlenecks import detect
from checks.health import health_gate
from checks.incident_store import load_incidents, recent_candidates, save_day
from checks.incidents import Event, Incident, advance, incident_days, incident_key
from checks.steps import step_series, steps_of
from models.config import JourneyMap
from models.queries import facts_all_segments
from models.tables import Annotation, QualityResultRow, table_of

EXTRA_DAYS = 7  # beyond the longest lag, window and baseline


@dataclass
class DetectionOutcome:
    """A day's judgement: the data alerts, the events, and the incidents open afterwards."""

    as_of: dt.date
    data_alerts: dict[str, str] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    open: list[Incident] = field(default_factory=list)


def history_needed(journey_map: JourneyMap) -> int:
    policy = journey_map.alerts
    lags = [journey_map.source_settings(s).lag_days for s in journey_map.used_sources()]
    return max(lags, default=0) + max(policy.windows) + policy.baseline_days + EXTRA_DAYS


def load_series(engine: Engine, journey_map: JourneyMap, since: dt.date, until: dt.date) -> pd.DataFrame:
    with engine.connect() as conn:
        return step_series(facts_all_segments(conn, since, until), journey_map)


def _excluded(series: pd.DataFrame, annotations: pd.DataFrame, incidents: dict[str, Incident],
              as_of: dt.date) -> pd.DataFrame:
    """Baseline days to leave out: annotated change days, and the days of open incidents."""
    parts = [incident_days(series, incidents, as_of)]
    if len(annotations):
        parts.append(series.merge(annotations.rename(columns={"touchpoint_id": "step"}), on=["step", "date"])
                     [["step", "segment", "date"]])
    return pd.concat(parts, ignore_index=True)


def judge_day(series: pd.DataFrame, journey_map: JourneyMap, as_of: dt.date, incidents: dict[str, Incident],
              recent: dict[str, list[bool]], annotations: pd.DataFrame, unusable: Mapping[str, str] | None = None,
              ) -> tuple[dict[str, Incident], DetectionOutcome, list[str]]:
    """One day of detection and lifecycle, in memory. `unusable`: source → why its data failed a blocking
    quality check; like a health-gate failure, it is one data alert and no step alerts for that source."""
    policy = journey_map.alerts
    steps = steps_of(journey_map, series)
    unhealthy = {**health_gate(series, steps, as_of, policy), **(unusable or {})}
    findings = detect(series, steps, as_of, policy, excluded=_excluded(series, annotations, incidents, as_of),
                      unhealthy=set(unhealthy))
    today, events = advance(findings, incidents, recent, as_of, policy)
    flagged = findings[findings["candidate"] & findings["alert_segment"]] if len(findings) else findings
    candidates = [incident_key(str(j), str(st), str(sg), str(kd)) for j, st, sg, kd in
                  zip(flagged.get("journey", []), flagged.get("step", []), flagged.get("segment", []),
                      flagged.get("kind", []), strict=True)]
    outcome = DetectionOutcome(as_of, unhealthy, events,
                               sorted((i for i in today.values() if i.status != "resolved"),
                                      key=lambda i: -(i.payload.get("impact_per_day") or 0)))
    return today, outcome, candidates


def _annotations(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(select(Annotation.touchpoint_id, Annotation.date)).all(),
                            columns=["touchpoint_id", "date"])


def _unusable_days(engine: Engine, journey_map: JourneyMap, as_of: dt.date) -> pd.DataFrame:
    """(touchpoint_id, date) of days a blocking check found missing or implausible (freshness, volume), for
    every touchpoint of that source: kept out of baselines like annotated days, so a gap never reads as zero
    conversions in a later run's baseline (their samples hold every failing day)."""
    table = table_of(QualityResultRow)
    with engine.connect() as conn:
        failed = conn.execute(select(table.c.source, table.c.sample).where(
            table.c.as_of <= as_of, table.c.success.is_(False), table.c.severity == "blocking",
            table.c.kind.in_(["freshness", "volume"]))).all()
    days = {(source, dt.date.fromisoformat(row["day"])) for source, sample in failed
            for row in json.loads(sample or "[]") if isinstance(row, dict) and "day" in row}
    return pd.DataFrame([(tp.id, day) for source, day in sorted(days) for _, tp in journey_map.touchpoints()
                         if tp.source == source], columns=["touchpoint_id", "date"])


def run_detection(engine: Engine, journey_map: JourneyMap, as_of: dt.date,
                  unusable: Mapping[str, str] | None = None) -> DetectionOutcome:
    """Judge `as_of` on the stored facts and store the incidents' new state."""
    series = load_series(engine, journey_map, as_of - dt.timedelta(days=history_needed(journey_map)), as_of)
    with engine.connect() as conn:
        incidents, recent = load_incidents(conn, as_of), recent_candidates(conn, as_of)
    left_out = pd.concat([f for f in (_annotations(engine), _unusable_days(engine, journey_map, as_of)) if len(f)]
                         or [_annotations(engine)], ignore_index=True)
    today, outcome, candidates = judge_day(series, journey_map, as_of, incidents, recent, left_out, unusable)
    with engine.begin() as conn:
        save_day(conn, as_of, incidents, today, outcome.events, candidates)
    return outcome


def backtest(engine: Engine, journey_map: JourneyMap, start: dt.date, end: dt.date) -> list[DetectionOutcome]:
    """Replay detection day by day over stored history; nothing is written."""
    series = load_series(engine, journey_map, start - dt.timedelta(days=history_needed(journey_map)), end)
    annotations = _annotations(engine)
    incidents: dict[str, Incident] = {}
    history: dict[dt.date, list[str]] = {}
    outcomes = []
    day = start
    while day <= end:
        recent: dict[str, list[bool]] = {}
        for offset, earlier in enumerate((day - dt.timedelta(days=2), day - dt.timedelta(days=1))):
            for key in history.get(earlier, []):
                recent.setdefault(key, [False, False])[offset] = True
        visible = series[series["date"] <= day]
        incidents, outcome, history[day] = judge_day(visible, journey_map, day, incidents, recent, annotations)
        outcomes.append(outcome)
        day += dt.timedelta(days=1)
    return outcomes
