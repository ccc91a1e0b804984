"""Read everything the rendered map shows from the warehouse: the map per persona with 90 days of daily volume, the
incidents, the annotated changes and their effect, and each source's data-quality status."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Engine, func, select

from checks.detection import load_series
from checks.incident_snapshot import snapshot_of
from checks.incident_store import load_incidents
from checks.incidents import Incident
from models.config import JourneyMap
from models.mapping import ALL
from models.queries import facts_all_segments
from models.sync.ledger import unsettled
from models.tables import Annotation, QualityResultRow, TouchpointDaily, table_of
from reports.map_page import SPARK_DAYS, IncidentNote, MapPage, PersonaPage, SourceStatus
from reports.summary import AnnotationEffect
from reports.views import PERIOD_DAYS, current_view

ANNOTATION_DAYS = 14  # the step's conversion over this many days before an annotated change and since

def touchpoint_names(journey_map: JourneyMap) -> dict[str, tuple[str, str]]:
    """touchpoint id → (its stage's name, its name)."""
    stages = {s.id: s.name for s in journey_map.stages}
    return {tp.id: (stages.get(tp.stage, tp.stage), tp.name) for _, tp in journey_map.touchpoints()}

def read_annotations(engine: Engine, since: dt.date, until: dt.date) -> list[tuple[str, dt.date, str]]:
    """(touchpoint, day, note) of the changes annotated in since..until."""
    with engine.connect() as conn:
        return [(str(t), d, str(n)) for t, d, n in conn.execute(
            select(Annotation.touchpoint_id, Annotation.date, Annotation.note).where(
                Annotation.date >= since, Annotation.date <= until))]

def annotation_effects(notes: list[tuple[str, dt.date, str]], series: pd.DataFrame,
                       journey_map: JourneyMap) -> list[AnnotationEffect]:
    """Each annotated change: the step's conversion over ANNOTATION_DAYS before it and since (`series` must reach
    that far back)."""
    mine = series[series["segment"] == "all"]
    names = touchpoint_names(journey_map)
    out = []

    def rate(frame: pd.DataFrame) -> float | None:
        n, k = float(frame["n"].sum()), float(frame["k"].sum())
        return k / n if n else None
    for touchpoint, day, note in sorted(notes, key=lambda n: (n[1], n[0])):
        step = mine[mine["step"] == touchpoint]
        before = step[(step["date"] < day) & (step["date"] >= day - dt.timedelta(days=ANNOTATION_DAYS))]
        after = step[(step["date"] >= day) & (step["date"] < day + dt.timedelta(days=ANNOTATION_DAYS))]

        stage, name = names.get(touchpoint, ("", touchpoint))
        out.append(AnnotationEffect(stage, name, day, note, rate(before), rate(after), touchpoint))
    return out

def build_page(engine: Engine, journey_map: JourneyMap, as_of: dt.date, *, period_days: int = PERIOD_DAYS,
               journey_id: str | None = None, persona: str | None = None) -> MapPage:
    """The page as of `as_of`: all customers and every persona (or only `persona`), every journey (or only
    `journey_id`)."""
    chosen = [("", "", None)] + [(p.name, p.description, p.name) for p in journey_map.personas]
    if persona is not None:
        chosen = [c for c in chosen if c[0] == persona]
    first_day = as_of - dt.timedelta(days=SPARK_DAYS)
    with engine.connect() as conn:
        daily = facts_all_segments(conn, first_day, as_of - dt.timedelta(days=1))
        incidents = load_incidents(conn, as_of + dt.timedelta(days=1))
    personas = []
    for name, description, key in chosen:
        view = current_view(engine, journey_map, as_of, period_days=period_days, persona=key, journey_id=journey_id)
        segment = f"persona={name}" if name else ALL
        personas.append(PersonaPage(name, description, view, _series(daily, segment, first_day)))
    since = personas[0].view.since
    notes = read_annotations(engine, since - dt.timedelta(days=period_days), as_of)
    series = load_series(engine, journey_map, since - dt.timedelta(days=period_days + ANNOTATION_DAYS), as_of,
                         page_cells=False)  # annotation_effects reads the "all" segment only
    return MapPage(journey_map.business.name, journey_map.business.currency, as_of, personas,
                   questions={tp.id: tuple(tp.questions) for _, tp in journey_map.touchpoints() if tp.questions},
                   incidents=[incident_note(i) for i in incidents.values()
                              if i.status != "resolved" or (i.resolved_on is not None and i.resolved_on >= since)],
                   changes=annotation_effects(notes, series, journey_map),
                   sources=source_status(engine, journey_map, as_of))

def _series(daily: pd.DataFrame, segment: str, first_day: dt.date) -> dict[str, list[float | None]]:
    """Each touchpoint's daily volume from `first_day` for SPARK_DAYS days (None: no row that day)."""
    mine = daily[daily["segment"] == segment]
    out: dict[str, list[float | None]] = {}
    for tp_id, rows in mine.groupby("touchpoint_id"):
        by_day = {pd.Timestamp(d).date(): float(v) for d, v in zip(rows["date"], rows["volume"], strict=True)
                  if pd.notna(v)}
        out[str(tp_id)] = [by_day.get(first_day + dt.timedelta(days=i)) for i in range(SPARK_DAYS)]
    return out

def incident_note(incident: Incident) -> IncidentNote:
    """The incident's stored snapshot on its card: the figures its Slack message shows."""
    reading = snapshot_of(incident.payload)
    return IncidentNote(incident.step, incident.segment, incident.severity, incident.status, incident.opened_on,
                        incident.resolved_on, reading.impact_per_day, reading.rate, reading.baseline, reading.since,
                        reading.through)

def source_status(engine: Engine, journey_map: JourneyMap, as_of: dt.date) -> list[SourceStatus]:
    """Per source the map uses: the newest checks up to `as_of`, the newest day with volume on its touchpoints,
    and the days last read before they settled."""
    table = table_of(QualityResultRow)
    facts = table_of(TouchpointDaily)
    with engine.connect() as conn:
        day = conn.execute(select(func.max(table.c.as_of)).where(table.c.as_of <= as_of)).scalar()
        checks = conn.execute(select(table.c.source, table.c.check_name, table.c.success)
                              .where(table.c.as_of == day)).all() if day else []
        newest: dict[str, object] = {str(tp): last for tp, last in conn.execute(
            select(facts.c.touchpoint_id, func.max(facts.c.date))
            .where(facts.c.segment == ALL, facts.c.volume > 0, facts.c.date < as_of)
            .group_by(facts.c.touchpoint_id)).all()}
        settling = {source: sorted({d for days in unsettled(conn, source, None, as_of - dt.timedelta(days=SPARK_DAYS),
                                                            as_of - dt.timedelta(days=1)).values() for d in days})
                    for source in journey_map.used_sources()}
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    out = []
    for source in journey_map.used_sources():
        days = [_as_date(newest[tp.id]) for _, tp in journey_map.touchpoints()
                if tp.source == source and tp.id in newest]
        mine = [(name, ok) for s, name, ok in checks if s == source]
        mapped = any(tp.source == source for _, tp in journey_map.touchpoints())
        out.append(SourceStatus(source, sum(1 for _, ok in mine if ok), tuple(n for n, ok in mine if not ok),
                                day if mine else None, max(days) if days else None, mapped, tuple(settling[source])))
    return out

def _as_date(value: object) -> dt.date:
    """A date from the database (SQLite gives aggregates of dates as text)."""
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    assert isinstance(value, dt.date)
    return value.date() if isinstance(value, dt.datetime) else value
