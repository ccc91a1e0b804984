"""Read the stored facts into a MapView for a period, journey and persona."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy import Connection, Engine

from models.config import JourneyMap
from models.feedback import StageFeedback
from models.mapping import ALL
from models.queries import facts, metric_totals
from models.sources.registry import PARTS
from reports.map_view import FeedbackView, MapView, build_map_view, feedback_rows

PERIOD_DAYS = 28


def current_view(engine: Engine, journey_map: JourneyMap, as_of: dt.date, *, period_days: int = PERIOD_DAYS,
                 persona: str | None = None, journey_id: str | None = None) -> MapView:
    """The map over the last `period_days` complete days before `as_of`, against the period before."""
    until = as_of - dt.timedelta(days=1)
    since = until - dt.timedelta(days=period_days - 1)
    prev_until = since - dt.timedelta(days=1)
    prev_since = prev_until - dt.timedelta(days=period_days - 1)
    segment = f"persona={persona}" if persona else ALL
    with engine.connect() as conn:
        now = facts(conn, since, until, segment)
        before = facts(conn, prev_since, prev_until, segment)
        metrics = metric_totals(conn, since, until)
        feedback = feedback_rows(journey_map, _stage_feedback(conn, journey_map, since, until),
                                 _stage_feedback(conn, journey_map, prev_since, prev_until)) if segment == ALL else []
        by_journey = _journey_feedback(conn, journey_map, (since, until), (prev_since, prev_until)) \
            if segment == ALL else {}
    view = build_map_view(journey_map, now, before, since=since, until=until, segment=segment,
                          journey_id=journey_id, metrics=metrics)
    return replace(view, feedback=feedback, journey_feedback=by_journey)


def _journey_feedback(conn: Connection, journey_map: JourneyMap, period: tuple[dt.date, dt.date],
                      previous: tuple[dt.date, dt.date]) -> dict[str, list[FeedbackView]]:
    """Each journey's feedback row: the answers that belong to it and those with only a stage."""
    now, before = _by_journey(conn, journey_map, *period), _by_journey(conn, journey_map, *previous)
    rows = {j.id: feedback_rows(journey_map, now.get(j.id, {}), before.get(j.id, {})) for j in journey_map.journeys}
    return {journey: shown for journey, shown in rows.items() if shown}


def _stage_feedback(conn: Connection, journey_map: JourneyMap, since: dt.date,
                    until: dt.date) -> dict[str, StageFeedback]:
    """What the map's sources of answers say of each stage (the first that has answers for a stage)."""
    out: dict[str, StageFeedback] = {}
    for parts in PARTS.values():
        if parts.feedback is not None:
            for stage, said in parts.feedback(conn, journey_map, since, until).items():
                out.setdefault(stage, said)
    return out


def _by_journey(conn: Connection, journey_map: JourneyMap, since: dt.date,
                until: dt.date) -> dict[str, dict[str, StageFeedback]]:
    """The same per journey."""
    out: dict[str, dict[str, StageFeedback]] = {}
    for parts in PARTS.values():
        if parts.journey_feedback is not None:
            for journey, stages in parts.journey_feedback(conn, journey_map, since, until).items():
                for stage, said in stages.items():
                    out.setdefault(journey, {}).setdefault(stage, said)
    return out
