"""The sync task: each source's streams, from the demo business or the real API, into the landing tables."""

from __future__ import annotations

import datetime as dt

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine

from connectors.demo import DEMO_PROPERTY_ID
from connectors.ga4 import make_client
from flows.ga4 import Ga4Job, days_to_read, plans_for, sync_days
from flows.progress import tracked
from flows.settings import Settings, SettingsError, load_settings
from flows.sync import SourceNotConfigured, SourceResult, StreamResult, demo_streams, sync_stream
from models.config import JourneyMap

REAL_SOURCES = ("ga4",)  # sources with a connector to a real API in this version


def ga4_job(settings: Settings, journey_map: JourneyMap) -> Ga4Job:
    """A GA4 job from the settings; raises with the variable to set when one is missing or wrong."""
    property_id = (settings.ga4_property_id or "").strip()
    if not property_id:
        raise SettingsError("GA4_PROPERTY_ID is not set; set it to the numeric id of the GA4 property "
                            "(GA4 Admin › Property details), or run with --demo")
    if not property_id.isdigit():
        raise SettingsError(f"GA4_PROPERTY_ID {property_id!r} is not a property id; use the number shown in "
                            "GA4 Admin › Property details (not the G-… measurement id)")
    client = make_client(settings.ga4_credentials_file, settings.ga4_api_endpoint)
    return Ga4Job(client, property_id, plans_for(journey_map), journey_map.source_settings("ga4"))


def account_of(source: str, settings: Settings, demo: bool) -> str | None:
    """The account whose raw rows the map reads (the GA4 property), or None for every account."""
    if source == "ga4":
        return DEMO_PROPERTY_ID if demo else (settings.ga4_property_id or "").strip()
    return None


@task(cache_policy=NO_CACHE, task_run_name="sync-{source}")
def sync_source(engine: Engine, journey_map: JourneyMap, source: str, as_of: dt.date, demo: bool,
                window: tuple[dt.date, dt.date] | None = None) -> SourceResult:
    """Load every stream of one source: its incremental window, or `window` for a backfill."""
    if demo:
        return _sync_demo(engine, journey_map, source, as_of, window)
    if source == "ga4":
        return _sync_ga4(engine, journey_map, as_of, window)
    raise SourceNotConfigured(f"the {source} connector is not part of this version yet; "
                              "run with --demo, or with --sources ga4")


def _sync_demo(engine: Engine, journey_map: JourneyMap, source: str, as_of: dt.date,
               window: tuple[dt.date, dt.date] | None) -> SourceResult:
    logger = get_run_logger()
    settings = journey_map.source_settings(source)
    result = SourceResult(source)
    for stream, reader in demo_streams(source):
        with tracked(settings.history_days // 7 + 1, f"sync-{source}-{stream.stream}".replace("_", "-"),
                     f"Loading {source} {stream.stream}") as progress:
            done: StreamResult = sync_stream(engine, stream, reader, DEMO_PROPERTY_ID, as_of, settings,
                                             on_page=lambda r: progress.step(f"{r.source} {r.stream} ({r.rows:,})"),
                                             window=window)
        logger.info("%s/%s: %s..%s, %d rows, %d quarantined", source, stream.stream, done.since, done.until,
                    done.rows, done.quarantined)
        result.streams.append(done)
    return result


def _sync_ga4(engine: Engine, journey_map: JourneyMap, as_of: dt.date,
              window: tuple[dt.date, dt.date] | None) -> SourceResult:
    logger = get_run_logger()
    job = ga4_job(load_settings(), journey_map)
    history = job.settings.history_days
    since, until = window or (as_of - dt.timedelta(days=history - 1), as_of)
    days = days_to_read(engine, job, since, until, as_of)
    with tracked(len(days), "sync-ga4", f"Loading GA4 property {job.property_id}") as progress:
        done = sync_days(engine, job, days, as_of,
                         on_day=lambda r: progress.step(f"ga4 {r.days}/{len(days)} days ({r.rows:,} rows)"))
    logger.info("ga4/rows: %s..%s, %d days, %d rows, %d quarantined, %d requests", done.since, done.until,
                done.days, done.rows, done.quarantined, done.requests)
    stream = StreamResult("ga4", "rows", done.since, done.until, done.rows, done.quarantined, done.days)
    return SourceResult("ga4", [stream], note=done.stopped)
