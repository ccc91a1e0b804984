"""The journey pipeline flows: sync each source for its window → map → publish the map; and backfills."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed
from pydantic import Field
from sqlalchemy import Engine

from checks.detection import DetectionOutcome, history_needed, run_detection
from checks.quality import as_row, unusable
from flows.backfill import run_backfill
from flows.days import check_range, today_in
from flows.map_page import publish_rendered_map
from flows.notify import notify_failure, tell_slack
from flows.quality import check_quality
from flows.quotas import api_slots
from flows.run_result import PipelineResult
from flows.settings import Settings, load_settings
from flows.sources import CONFIG_ERRORS, Source, account_of, sync_source
from models.config import JourneyMap
from models.db import make_engine, migrate
from models.lock import POLL_SECONDS, warehouse_lock
from models.mapfile import load_map
from models.mapping import MappingResult, facts_reach, map_window, persona_segment
from models.store import save_map
from models.sync import SourceResult
from models.sync.state import get_cursor, set_cursor
from reports.incidents import held_back_lines, incidents_markdown
from reports.map_view import with_gaps
from reports.page_data import source_status
from reports.quality import quality_markdown
from reports.render import render_markdown, sources_markdown
from reports.views import current_view


def prepare_database(url: str, journey_map: JourneyMap) -> Engine:
    """Engine for the warehouse, migrated, with the map tables rewritten from journey.yaml."""
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        save_map(conn, journey_map, {p.name: persona_segment(p) for p in journey_map.personas})
    return engine


def map_fingerprint(journey_map: JourneyMap) -> str:
    """A hash of the map definition: when it changes, the whole history is mapped again."""
    return hashlib.sha256(json.dumps(journey_map.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


@task(cache_policy=NO_CACHE)
def map_records(engine: Engine, journey_map: JourneyMap, since: dt.date, until: dt.date,
                accounts: Mapping[str, str | None]) -> MappingResult:
    """Recompute touchpoint_daily for the window (or all history after the map changed)."""
    fingerprint = map_fingerprint(journey_map)
    with engine.begin() as conn:
        if get_cursor(conn, "map", "definition", "") != fingerprint:
            history = max(journey_map.source_settings(s).history_days for s in journey_map.used_sources())
            since = min(since, until - dt.timedelta(days=history - 1))
        result = map_window(conn, journey_map, since, until, accounts=accounts)
        set_cursor(conn, "map", "definition", "", fingerprint)
    get_run_logger().info("mapped %s..%s: %d fact rows; unmapped volume %s", since, until, result.facts,
                          {k: round(v) for k, v in result.unmapped_volume.items()})
    return result


@task(cache_policy=NO_CACHE)
def detect_stalls(engine: Engine, journey_map: JourneyMap, as_of: dt.date,
                  unusable: Mapping[str, str] | None = None, replay_from: dt.date | None = None,
                  accounts: Mapping[str, str | None] | None = None) -> list[DetectionOutcome]:
    """Judge the days since the last judged one up to as_of and move the incidents on (sources whose data
    failed a blocking check raise one data alert instead of step alerts)."""
    outcomes = run_detection(engine, journey_map, as_of, unusable, replay_from, accounts)
    logger = get_run_logger()
    if len(outcomes) > 1:
        logger.info("judged %d days: %s..%s", len(outcomes), outcomes[0].as_of, outcomes[-1].as_of)
    for message in outcomes[-1].data_alerts.values():
        logger.warning("data alert: %s", message)
    for line in held_back_lines(outcomes[-1].held_back):
        logger.warning("%s", line)
    for outcome in outcomes:
        for event in outcome.events:
            logger.info("%s: incident %s %s (%s)", outcome.as_of, event.key, event.action, event.severity)
    return outcomes


MAX_PARALLEL = 16


@dataclass(frozen=True)
class Chunking:
    """How a backfill loads its chunks: `parallel` at a time, in this run or (`fan_out`) as deployment runs."""

    parallel: int = 4
    fan_out: bool = False


def _run(as_of: dt.date | None, sources: list[Source] | None, demo: bool,
         window: tuple[dt.date, dt.date] | None, demo_outage: dt.date | None = None,
         chunking: Chunking = Chunking(), business: str | None = None) -> PipelineResult:
    settings = load_settings(business)
    journey_map = load_map(settings.journey_map_file)
    as_of = as_of or today_in(journey_map)
    if window is not None:
        check_range(*window, today=as_of)
    logger = get_run_logger()

    def waiting(seconds: float) -> None:
        if seconds == 0 or int(seconds) % 60 < POLL_SECONDS:  # say so at once, then every minute
            logger.info("waiting for the run that holds the warehouse (%.0f s so far)", seconds)
    locker = make_engine(settings.journey_database_url)
    try:
        with warehouse_lock(locker, waiting):  # overlapping runs wait; they never interleave their writes
            return _locked_run(settings, journey_map, as_of, sources, demo, window, demo_outage, chunking)
    finally:
        locker.dispose()


def _locked_run(settings: Settings, journey_map: JourneyMap, as_of: dt.date, sources: list[Source] | None,
                demo: bool, window: tuple[dt.date, dt.date] | None, demo_outage: dt.date | None,
                chunking: Chunking) -> PipelineResult:
    wanted = [s.value for s in sources] if sources else journey_map.used_sources()
    used = [s for s in wanted if s in journey_map.used_sources()]
    engine = prepare_database(settings.journey_database_url, journey_map)
    result = PipelineResult(as_of)
    to_map: tuple[dt.date, dt.date] | None = None
    if window is None:
        for source in used:  # one failing source never stops the others; the run reports it
            with api_slots(source, settings, journey_map.source_settings(source).concurrency, demo):
                _take(result, sync_source(engine, journey_map, source, as_of, demo, window, demo_outage, settings))
        if result.synced:  # the days the syncs read (and the email cohorts they reach); today is not over, so never
            # mapped (a snapshot is dated today)
            to_map = (min(facts_reach(s.source, s.since) for s in result.synced),
                      min(max(s.until for s in result.synced), as_of - dt.timedelta(days=1)))
    else:
        chunks = result.backfill = run_backfill(engine, settings, journey_map, used, window, as_of, demo,
                                                demo_outage, chunking.parallel, chunking.fan_out)
        for synced in chunks.synced:
            _take(result, synced)
        for source, error in chunks.failed.items():
            _failed(result, source, error)
        if chunks.loaded or chunks.skipped:  # a rerun maps what the stopped run loaded too
            to_map = window
    if to_map is not None:
        since, until = to_map
        accounts = {s: account_of(s, settings, demo) for s in journey_map.used_sources()}
        accounts.update({r.source: r.account for r in result.synced if r.account})
        result.mapping = map_records(engine, journey_map, since, until, accounts)
        # a daily run checks every day detection reads (the same days for the same --as-of, however much the
        # sync re-read); a backfill checks what it loaded
        q_since, q_until = ((as_of - dt.timedelta(days=history_needed(journey_map)), as_of - dt.timedelta(days=1))
                            if window is None else (since, until))
        checked = check_quality(engine, settings.journey_database_url, journey_map, q_since, q_until, as_of,
                                accounts, {r.source: r.skipped for r in result.synced if r.skipped})
        result.quality = [as_row(r, as_of, q_since, q_until) for r in checked]
    result.view = with_gaps(current_view(engine, journey_map, as_of),
                            {s.source: s.last_day for s in source_status(engine, journey_map, as_of) if s.mapped})
    markdown = render_markdown(result.view) + sources_markdown(result.synced, result.failed)
    if result.quality:
        markdown += "\n" + quality_markdown(result.quality)
        create_markdown_artifact(key="data-quality", markdown=quality_markdown(result.quality),
                                 description=f"Data-quality checks as of {as_of.isoformat()}")
    if window is None:
        # the demo's first run replays its history, so that its incidents open, update and resolve in Slack
        replay_from = as_of - dt.timedelta(days=max(journey_map.source_settings(s).history_days for s in wanted)
                                           - history_needed(journey_map)) if demo else None
        outcomes = detect_stalls(engine, journey_map, as_of, unusable(checked) if result.quality else None,
                                 replay_from, {s: account_of(s, settings, demo) for s in journey_map.used_sources()})
        result.detection = outcomes[-1]
        result.delivery = tell_slack(engine, journey_map, settings, outcomes, result.failures, result.read)
        markdown += "\n" + incidents_markdown([i.payload for i in result.detection.open],
                                              journey_map.business.currency, "Open incidents")
        markdown += "".join(f"\n- {line}" for line in held_back_lines(result.detection.held_back))
    rendered = publish_rendered_map(engine, journey_map, as_of, Path(settings.journey_outbox_dir))
    markdown += f"\nThe rendered map (every persona): `{rendered.resolve()}`\n"
    create_markdown_artifact(key="journey-map", markdown=markdown,
                             description=f"Journey map as of {as_of.isoformat()}")
    engine.dispose()
    return result


def _take(result: PipelineResult, synced: SourceResult) -> None:
    """A source's sync result into the run's: a failure fails the source (what it read before stays stored); a
    quota stop, optional streams left out and other warnings are said once; refused input fails it as bad input
    (what was good is stored; the run exits 2 naming it)."""
    logger = get_run_logger()
    if synced.failure:
        logger.error("source %s failed: %s", synced.source, synced.failure)
        result.failed[synced.source] = synced.failure
        if synced.misconfigured:
            result.misconfigured.add(synced.source)
        return
    if synced.note:
        logger.warning("%s: %s", synced.source, synced.note)
    for warning in synced.warnings:
        logger.warning("%s", warning)
    result.synced.append(synced)
    if synced.bad_input:
        shown = "; ".join(synced.bad_input[:5]) + (f"; and {len(synced.bad_input) - 5} more (see the "
                                                   "quarantine table)" if len(synced.bad_input) > 5 else "")
        logger.error("source %s: bad input: %s", synced.source, shown)
        result.failed[synced.source] = f"bad input: {shown}"
        result.misconfigured.add(synced.source)


def _failed(result: PipelineResult, source: str, exc: BaseException) -> None:
    get_run_logger().error("source %s failed: %s", source, exc)
    result.failed[source] = str(exc)
    if isinstance(exc, CONFIG_ERRORS):
        result.misconfigured.add(source)


def check_parameters(start_date: dt.date | None, end_date: dt.date | None, demo: bool,
                     demo_outage: dt.date | None, deployment: str | None = None) -> tuple[dt.date, dt.date] | None:
    """The backfill window the parameters ask for (None: a daily run), or a ValueError naming the parameter and
    the fix — raised before any work starts (a deployment's dates reach the flow only when it runs)."""
    if (start_date is None) != (end_date is None):
        raise ValueError("start_date and end_date go together: set both for a backfill, neither for a daily run")
    if start_date is None and deployment == "backfill":
        raise ValueError("the backfill deployment needs start_date and end_date (the first and last day to load)")
    if demo_outage is not None and not demo:
        raise ValueError("demo_outage only works with demo (it breaks the demo's data, never a real source's)")
    if start_date is None or end_date is None:
        return None
    if end_date < start_date:
        raise ValueError(f"end_date {end_date} is before start_date {start_date}; swap them")
    return start_date, end_date


@flow(name="journey-pipeline", log_prints=True, on_failure=[notify_failure])
def journey_pipeline(start_date: dt.date | None = None, end_date: dt.date | None = None,
                     sources: list[Source] | None = None, as_of: dt.date | None = None,
                     demo: bool = False, demo_outage: dt.date | None = None,
                     parallel_chunks: Annotated[int, Field(ge=1, le=MAX_PARALLEL)] = 4,
                     fan_out: bool = False, business: str | None = None) -> PipelineResult:
    """Sync the sources, map their records onto the journey map, check the data, judge it, tell Slack, and
    publish the map; with start_date and end_date, load and map that range instead (a backfill, in chunks of a
    source and a week: chunks loaded by an earlier backfill are skipped, so a stopped backfill resumes).

    Args:
        start_date: a backfill's first day (leave it and end_date empty for a daily run).
        end_date: a backfill's last day (not after today).
        sources: the sources to sync (default: every source the map uses).
        as_of: the day that counts as "today" (default: today in the map's timezone).
        demo: read the built-in demo business instead of the real APIs.
        demo_outage: with `demo`, a day the demo's site analytics record nothing (to see the quality checks catch it).
        parallel_chunks: a backfill's chunks loaded at once (they share each source's connections).
        fan_out: run each chunk of a backfill as a run of the backfill-chunk deployment, so that every worker of
            the pool takes chunks.
        business: in a warehouse of several businesses, the one to run (its map is JOURNEY_MAPS_DIR/<id>.yaml);
            empty: the one map (JOURNEY_MAP_FILE).
    """
    from prefect.runtime import deployment

    window = check_parameters(start_date, end_date, demo, demo_outage, deployment.name)
    result = _run(as_of, sources, demo, window, demo_outage, Chunking(parallel_chunks, fan_out), business or None)
    if result.nothing_read:  # everything else is done (alerts queued, map published): the run itself failed
        get_run_logger().error("%s", result.nothing_read)
        return Failed(message=result.nothing_read[:1000], data=result)  # type: ignore[return-value]
    return result
