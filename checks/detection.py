"""Detection wiring: stored facts → steps → health gate → detect → incident lifecycle; and the backtest replay."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping

import pandas as pd
from sqlalchemy import Connection, Engine, select

from checks.bottlenecks import detect
from checks.health import health_gate, hold
from checks.incident_store import load_incidents, recent_candidates, save_day
from checks.incidents import Incident, advance, closed_days, incident_days
from checks.outcome import DetectionOutcome, conclude
from checks.replay import replay
from checks.steps import step_series, steps_of
from models.config import JourneyMap
from models.queries import facts_all_segments
from models.sources.registry import PARTS
from models.sync.state import get_cursor, set_cursor
from models.tables import Annotation, QualityResultRow, table_of

__all__ = ["DetectionOutcome", "backtest", "history_needed", "judge_day", "judged_days", "load_series",
           "run_detection"]
EXTRA_DAYS = 7  # beyond the longest lag, window and baseline
CATCH_UP_DAYS = 31  # missed days a run judges before its own (older ones: `journeymap backtest`)
DAY_KINDS = ("freshness", "volume")  # blocking checks whose failures name their days (the rest name rows)


def history_needed(journey_map: JourneyMap) -> int:
    policy = journey_map.alerts
    lags = [journey_map.source_settings(s).lag_days for s in journey_map.used_sources()]
    return max(lags, default=0) + max(policy.windows) + policy.baseline_days + EXTRA_DAYS


def load_series(engine: Engine, journey_map: JourneyMap, since: dt.date, until: dt.date,
                accounts: Mapping[str, str | None] | None = None, *, page_cells: bool = True) -> pd.DataFrame:
    """Every step's (date, segment) counts, and the page cells of the steps that have them (their mix; left out
    with `page_cells=False`, for a reader of the judged segments only: the cells are never judged)."""
    used = set(journey_map.used_sources()) if page_cells else set()
    with engine.connect() as conn:
        series = step_series(facts_all_segments(conn, since, until), journey_map)
        found = [mix(conn, since, until, (accounts or {}).get(name), journey_map)
                 for name, mix in ((p.name, p.mix) for p in PARTS.values()) if mix is not None and name in used]
    cells = [c for c in found if len(c)]
    if not cells:
        return series
    return pd.concat([series, *cells], ignore_index=True) if len(series) else \
        pd.concat(cells, ignore_index=True)


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
              unreliable: pd.DataFrame | None = None) -> tuple[dict[str, Incident], DetectionOutcome, list[str]]:
    """One day of detection and lifecycle, in memory. `unusable`: source → why its data failed a blocking
    quality check that names no day; like a health-gate failure, it is one data alert and no step alerts for
    that source. `unreliable`: (touchpoint_id, date) days a blocking check found missing or implausible: left
    out of every baseline and test window; a step whose newest matured day is one of them is held back. The
    bad days of resolved incidents are left out of their steps' baselines and windows too (closed_days)."""
    policy = journey_map.alerts
    steps = steps_of(journey_map, series)
    bad = (unreliable if unreliable is not None else pd.DataFrame(columns=["touchpoint_id", "date"])) \
        .rename(columns={"touchpoint_id": "step"})
    unhealthy, held, alerts = hold(steps, health_gate(series, steps, as_of, policy), unusable, bad, as_of)
    left_out = pd.concat([bad, closed_days(incidents, {s.step: s.lag_days for s in steps})], ignore_index=True)
    findings = detect(series, steps, as_of, policy, excluded=_excluded(series, annotations, incidents, as_of),
                      unhealthy=set(unhealthy), held=set(held), unreliable=left_out)
    today, events = advance(findings, incidents, recent, as_of, policy)
    outcome, candidates = conclude(as_of, findings, today, events, alerts, held)
    return today, outcome, candidates


def _annotations(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(select(Annotation.touchpoint_id, Annotation.date)).all(),
                            columns=["touchpoint_id", "date"])


def _unusable_found(engine: Engine, journey_map: JourneyMap, as_of: dt.date) -> pd.DataFrame:
    """(touchpoint_id, date, found) of days a blocking check found missing or implausible (freshness, volume) by
    the runs up to `as_of`, for every touchpoint of that source, with the first run that found each."""
    table = table_of(QualityResultRow)
    with engine.connect() as conn:
        failed = conn.execute(select(table.c.source, table.c.sample, table.c.as_of).where(
            table.c.as_of <= as_of, table.c.success.is_(False), table.c.severity == "blocking",
            table.c.kind.in_(DAY_KINDS))).all()
    found: dict[tuple[str, dt.date], dt.date] = {}
    for source, sample, run in failed:
        for row in json.loads(sample or "[]"):
            if isinstance(row, dict) and "day" in row:
                key = (source, dt.date.fromisoformat(row["day"]))
                found[key] = min(found.get(key, run), run)
    return pd.DataFrame([(tp.id, day, found[source, day]) for source, day in sorted(found)
                         for _, tp in journey_map.touchpoints() if tp.source == source],
                        columns=["touchpoint_id", "date", "found"])


def _unusable_days(engine: Engine, journey_map: JourneyMap, as_of: dt.date) -> pd.DataFrame:
    """(touchpoint_id, date) of days a blocking check found missing or implausible (freshness, volume), for
    every touchpoint of that source: kept out of baselines like annotated days, so a gap never reads as zero
    conversions in a later run's baseline (their samples hold every failing day)."""
    return _unusable_found(engine, journey_map, as_of)[["touchpoint_id", "date"]]


def _visible(series: pd.DataFrame, journey_map: JourneyMap, day: dt.date) -> pd.DataFrame:
    """What a run on `day` reads: the history_needed days up to it (a replay judges each day as its run did)."""
    first = day - dt.timedelta(days=history_needed(journey_map))
    return series[(series["date"] <= day) & (series["date"] >= first)]


def judged_days(engine: Engine, as_of: dt.date, replay_from: dt.date | None = None) -> list[dt.date]:
    """The days a run judges, in order: every day since the last judged one up to `as_of` (at most
    CATCH_UP_DAYS), so a missed scheduled run leaves no gap in the incidents' lifecycle; only `as_of` on a
    warehouse never judged, or from `replay_from` on (the demo replays its history)."""
    with engine.connect() as conn:
        last = get_cursor(conn, "detection", "judged", "")
    first = as_of
    if last is not None and dt.date.fromisoformat(last) < as_of:
        first = max(dt.date.fromisoformat(last) + dt.timedelta(days=1), as_of - dt.timedelta(days=CATCH_UP_DAYS - 1))
    if replay_from is not None and last is None:
        first = min(first, replay_from)
    return [first + dt.timedelta(days=i) for i in range((as_of - first).days + 1)]


def _whole_source(engine: Engine, as_of: dt.date, unusable: Mapping[str, str] | None) -> dict[str, str]:
    """The sources of `unusable` to hold back whole on `as_of`: those with a blocking failure that names no day
    (a missing or implausible day is left out instead, `_unusable_days`), or with no stored failure to read."""
    if not unusable:
        return {}
    table = table_of(QualityResultRow)
    with engine.connect() as conn:
        failed = conn.execute(select(table.c.source, table.c.kind).where(
            table.c.as_of == as_of, table.c.success.is_(False), table.c.severity == "blocking")).all()
    kinds: dict[str, set[str]] = {}
    for source, kind in failed:
        kinds.setdefault(source, set()).add(kind)
    return {source: reason for source, reason in unusable.items()
            if not kinds.get(source) or kinds[source] - set(DAY_KINDS)}


def run_detection(engine: Engine, journey_map: JourneyMap, as_of: dt.date,
                  unusable: Mapping[str, str] | None = None, replay_from: dt.date | None = None,
                  accounts: Mapping[str, str | None] | None = None, *,
                  day_by_day: bool = False) -> list[DetectionOutcome]:
    """Judge each of `judged_days` on the stored facts and store the incidents' new state, day after day.
    `unusable` (sources whose data failed a blocking check of this run) applies to `as_of`: a failure that names
    its days (freshness, volume) leaves those days out and holds back only the steps judged on them; any other
    holds back the whole source. `accounts`: per source, the account whose raw rows are the map's (the
    property whose pages make the steps' page mix; None: every account).

    The days are judged in one vectorised pass (checks.replay), then stored together; `day_by_day` judges and
    stores them one after the other instead (judge_day on each), what the pass is checked against."""
    days = judged_days(engine, as_of, replay_from)
    series = load_series(engine, journey_map, days[0] - dt.timedelta(days=history_needed(journey_map)), as_of,
                         accounts)
    annotations = _annotations(engine)
    whole = _whole_source(engine, as_of, unusable)
    if day_by_day:
        return _day_by_day(engine, journey_map, days, series, annotations, whole)
    with engine.connect() as conn:
        incidents = load_incidents(conn, days[0])
        flags = recent_candidates(conn, days[0])
    earlier = {days[0] - dt.timedelta(days=2 - i): {key for key, flag in flags.items() if flag[i]} for i in (0, 1)}
    judged = replay(series, journey_map, days, incidents, earlier, annotations,
                    _unusable_found(engine, journey_map, as_of), history_needed(journey_map), whole)
    with engine.begin() as conn:
        for day in judged:
            save_day(conn, day.day, day.before, day.after, day.outcome.events, day.candidates)
        _judged_through(conn, as_of)
    return [day.outcome for day in judged]


def _judged_through(conn: Connection, day: dt.date) -> None:
    last = get_cursor(conn, "detection", "judged", "")
    if last is None or dt.date.fromisoformat(last) < day:
        set_cursor(conn, "detection", "judged", "", day.isoformat())


def _day_by_day(engine: Engine, journey_map: JourneyMap, days: list[dt.date], series: pd.DataFrame,
                annotations: pd.DataFrame, whole: Mapping[str, str]) -> list[DetectionOutcome]:
    outcomes = []
    for day in days:
        with engine.connect() as conn:
            incidents, recent = load_incidents(conn, day), recent_candidates(conn, day)
        bad_days = _unusable_days(engine, journey_map, day)
        today, outcome, candidates = judge_day(_visible(series, journey_map, day), journey_map, day, incidents,
                                               recent, annotations, whole if day == days[-1] else None, bad_days)
        with engine.begin() as conn:
            save_day(conn, day, incidents, today, outcome.events, candidates)
            _judged_through(conn, day)
        outcomes.append(outcome)
    return outcomes


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
        incidents, outcome, history[day] = judge_day(_visible(series, journey_map, day), journey_map, day, incidents,
                                                     recent, annotations)
        outcomes.append(outcome)
        day += dt.timedelta(days=1)
    return outcomes
