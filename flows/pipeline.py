"""The journey pipeline flow: sync each source for its window → map → render the map."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine

from connectors.demo import DEMO_PROPERTY_ID
from flows.progress import tracked
from flows.settings import load_settings
from flows.sync import SourceNotConfigured, SourceResult, StreamResult, demo_streams, sync_stream
from flows.views import current_view
from models.config import JourneyMap
from models.db import make_engine, migrate
from models.mapfile import load_map
from models.mapping import MappingResult, map_window, persona_segment
from models.store import get_cursor, save_map, set_cursor
from reports.map_view import MapView
from reports.render import render_markdown


class Source(StrEnum):
    """The sources a run can sync."""

    ga4 = "ga4"
    mailchimp = "mailchimp"
    stripe = "stripe"
    surveys = "surveys"


@dataclass
class PipelineResult:
    """What a run did; `failed` lists sources that failed after their retries."""

    as_of: dt.date
    synced: list[SourceResult] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    mapping: MappingResult | None = None
    view: MapView | None = None

    @property
    def ok(self) -> bool:
        return not self.failed


def today_in(journey_map: JourneyMap) -> dt.date:
    """'Today' in the map's timezone."""
    return dt.datetime.now(ZoneInfo(journey_map.business.timezone)).date()


def prepare_database(url: str, journey_map: JourneyMap) -> Engine:
    """Engine for the warehouse, migrated, with the map tables rewritten from journey.yaml."""
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        save_map(conn, journey_map, {p.name: persona_segment(p) for p in journey_map.personas})
    return engine


@task(cache_policy=NO_CACHE, task_run_name="sync-{source}")
def sync_source(engine: Engine, journey_map: JourneyMap, source: str, as_of: dt.date, demo: bool) -> SourceResult:
    """Load every stream of one source for its window."""
    logger = get_run_logger()
    if not demo:
        raise SourceNotConfigured(f"the {source} connector is not part of this version yet; "
                                  "run with --demo to use the built-in demo business")
    settings = journey_map.source_settings(source)
    result = SourceResult(source)
    streams = demo_streams(source)
    for stream, reader in streams:
        with tracked(settings.history_days // 7 + 1, f"sync-{source}-{stream.stream}".replace("_", "-"),
                     f"Loading {source} {stream.stream}") as progress:
            done: StreamResult = sync_stream(engine, stream, reader, DEMO_PROPERTY_ID, as_of, settings,
                                             on_page=lambda r: progress.step(f"{r.source} {r.stream} ({r.rows:,})"))
        logger.info("%s/%s: %s..%s, %d rows, %d quarantined", source, stream.stream, done.since, done.until,
                    done.rows, done.quarantined)
        result.streams.append(done)
    return result


def map_fingerprint(journey_map: JourneyMap) -> str:
    """A hash of the map definition: when it changes, the whole history is mapped again."""
    return hashlib.sha256(json.dumps(journey_map.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


@task(cache_policy=NO_CACHE)
def map_records(engine: Engine, journey_map: JourneyMap, since: dt.date, until: dt.date) -> MappingResult:
    """Recompute touchpoint_daily for the window (or all history after the map changed)."""
    fingerprint = map_fingerprint(journey_map)
    with engine.begin() as conn:
        if get_cursor(conn, "map", "definition", "") != fingerprint:
            history = max(journey_map.source_settings(s).history_days for s in journey_map.used_sources())
            since = min(since, until - dt.timedelta(days=history - 1))
        result = map_window(conn, journey_map, since, until)
        set_cursor(conn, "map", "definition", "", fingerprint)
    get_run_logger().info("mapped %s..%s: %d fact rows; unmapped volume %s", since, until, result.facts,
                          {k: round(v) for k, v in result.unmapped_volume.items()})
    return result


@flow(name="journey-pipeline", log_prints=True)
def journey_pipeline(as_of: dt.date | None = None, sources: list[Source] | None = None,
                     demo: bool = False) -> PipelineResult:
    """Sync the sources, map their records onto the journey map, and publish the map.

    Args:
        as_of: the day that counts as "today" (default: today in the map's timezone).
        sources: the sources to sync (default: every source the map uses).
        demo: read the built-in demo business instead of the real APIs.
    """
    settings = load_settings()
    journey_map = load_map(settings.journey_map_file)
    as_of = as_of or today_in(journey_map)
    wanted = [s.value for s in sources] if sources else journey_map.used_sources()
    engine = prepare_database(settings.journey_database_url, journey_map)
    result = PipelineResult(as_of)
    for source in (s for s in wanted if s in journey_map.used_sources()):
        try:
            result.synced.append(sync_source(engine, journey_map, source, as_of, demo))
        except Exception as exc:  # one failing source never stops the others; the run reports it
            get_run_logger().error("source %s failed: %s", source, exc)
            result.failed[source] = str(exc)
    if result.synced:
        since = min(s.since for s in result.synced)
        result.mapping = map_records(engine, journey_map, since, as_of)
    result.view = current_view(engine, journey_map, as_of)
    create_markdown_artifact(key="journey-map", markdown=render_markdown(result.view),
                             description=f"Journey map as of {as_of.isoformat()}")
    engine.dispose()
    return result
