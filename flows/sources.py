"""The sync task: each source's streams, from the demo business or the real API, into the landing tables. It
knows no source by name: the connector's `SPEC` builds the readers from the settings, the source's storing half
(`models.sources.registry`) lands what they read."""

from __future__ import annotations

import datetime as dt
import logging
from enum import StrEnum
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine

from connectors.demo import DEMO_PROPERTY_ID
from connectors.errors import AccessDenied, ConnectorError, PermanentError, QuotaExhausted
from connectors.pii import EmailHasher
from connectors.registry import BY_NAME as CONNECTORS
from flows.progress import tracked
from flows.settings import Settings, SettingsError, load_settings
from models.config import JourneyMap
from models.sources import NAMES
from models.sources.registry import PARTS
from models.sync import LandingError, ReadErrors, SourceNotConfigured, SourceResult, StreamResult, SyncRun, sync_stream
from models.sync.changes import changed_days, snapshot

CONFIG_ERRORS = (PermanentError, SettingsError, SourceNotConfigured)  # failures whose fix is configuration
KNOWN_ERRORS = (ConnectorError, SettingsError, SourceNotConfigured, LandingError)  # said in one line, no traceback
READ_ERRORS = ReadErrors(quota=(QuotaExhausted,), refused=(AccessDenied,), failed=(ConnectorError,))

Source = StrEnum("Source", {name: name for name in NAMES})  # type: ignore[misc]  # the sources a run can sync
Source.__doc__ = "The sources a run can sync (the registry's, in its order)."


def hasher_for(settings: Settings, account: str) -> EmailHasher:
    """The salted hash of the addresses of one account: JOURNEY_HASH_SALT, or the account id when unset."""
    return EmailHasher(settings.journey_hash_salt.get_secret_value() if settings.journey_hash_salt else account)


def account_of(source: str, settings: Settings, demo: bool) -> str | None:
    """The account whose raw rows the map reads (a property, a site; the demo's in the demo), or None for every
    account (a source whose account is only known once its API answered: its sync reports it)."""
    spec = CONNECTORS[source]
    if demo:
        return DEMO_PROPERTY_ID if spec.demo_account else None
    return spec.account_of(settings)


def request_of(source: str, journey_map: JourneyMap) -> Any:
    """What the map asks of a source's connector (the reports its touchpoints need), or None."""
    request = PARTS[source].request
    return request(journey_map) if request is not None else None


def open_readers(source: str, settings: Settings, journey_map: JourneyMap) -> Any:
    """A source's readers from the settings; raises with the variable to set when one is missing or wrong."""
    spec = CONNECTORS[source]
    if spec.open is None:
        raise SourceNotConfigured(f"the {source} connector is not part of this version yet; run with --demo, or "
                                  f"with --sources {','.join(s for s in NAMES if CONNECTORS[s].open)}")
    return spec.open(settings, journey_map.source_settings(source), request_of(source, journey_map))


@task(cache_policy=NO_CACHE, task_run_name="sync-{source}")
def sync_source(engine: Engine, journey_map: JourneyMap, source: str, as_of: dt.date, demo: bool,
                window: tuple[dt.date, dt.date] | None = None, demo_outage: dt.date | None = None,
                settings: Settings | None = None) -> SourceResult:
    """Load every stream of one source: its days to read, or `window` for a backfill. A failure after the
    retries is the result's `failure` (one line, no traceback): what was read before it stays committed."""
    try:
        return load_source(engine, journey_map, source, as_of, demo, window, demo_outage, settings=settings)
    except KNOWN_ERRORS as exc:
        return SourceResult(source, failure=str(exc), misconfigured=isinstance(exc, CONFIG_ERRORS))
    except Exception as exc:  # a bug: one line for the user, the traceback in the debug log
        logging.getLogger("journeymap.sync").debug("source %s failed", source, exc_info=True)
        return SourceResult(source, failure=f"{type(exc).__name__}: {exc} (an internal error; please report it)")


def load_source(engine: Engine, journey_map: JourneyMap, source: str, as_of: dt.date, demo: bool,
                window: tuple[dt.date, dt.date] | None = None, demo_outage: dt.date | None = None, *,
                snapshots: bool = True, connections: int | None = None,
                settings: Settings | None = None) -> SourceResult:
    """Load one source's streams for its days to read or `window`. `snapshots=False` leaves out the streams
    that are a whole list rather than days (a backfill's chunks read them once); `connections` overrides the
    source's `concurrency` (chunks running side by side share it)."""
    if connections is not None:
        shared = journey_map.source_settings(source)
        journey_map = journey_map.model_copy(update={"sources": {
            **journey_map.sources, source: shared.model_copy(update={"concurrency": connections})}})
    settings = settings or load_settings()
    run = SyncRun(engine, journey_map, source, as_of, window, journey_map.source_settings(source),
                  hasher=lambda account: hasher_for(settings, account), errors=READ_ERRORS, log=get_run_logger(),
                  tracked=tracked, snapshots=snapshots)
    if demo:
        return _sync_demo(run, demo_outage)
    parts = PARTS[source]
    readers = open_readers(source, settings, journey_map)
    if parts.sync is None:
        return _sync_streams(run, readers, account_of(source, settings, demo) or "")
    return parts.sync(run, readers)


def _sync_streams(run: SyncRun, readers: Any, account: str) -> SourceResult:
    """Each landing stream's reader (a mapping of stream name → reader), landed as it is."""
    result = SourceResult(run.source, account=account)
    for name, reader in readers.items():
        stream = PARTS[run.source].stream(name)
        result.streams.append(sync_stream(run.engine, stream, reader, account, run.as_of, run.settings,
                                          hasher=run.hasher(account), window=run.window))
    return result


def _sync_demo(run: SyncRun, outage: dt.date | None = None) -> SourceResult:
    spec, parts, declared = CONNECTORS[run.source], PARTS[run.source], run.journey_map.source_settings(run.source)
    if spec.demo is None:
        raise SourceNotConfigured(f"the demo business has no {run.source} data")
    hasher = EmailHasher(DEMO_PROPERTY_ID)
    result = SourceResult(run.source)
    for name, reader in spec.demo(outage).items():
        stream = parts.stream(name)
        before = snapshot(run.engine, stream) if spec.read_whole else {}
        with tracked(declared.history_days // 7 + 1, f"sync-{run.source}-{name}".replace("_", "-"),
                     f"Loading {run.source} {name}") as progress:
            done: StreamResult = sync_stream(run.engine, stream, reader, DEMO_PROPERTY_ID, run.as_of, declared,
                                             hasher=hasher, window=run.window, ledger=not spec.read_whole,
                                             on_page=lambda r: progress.step(f"{r.source} {r.stream} ({r.rows:,})"))
        if spec.read_whole:  # read whole every run: what mapping must redo is what changed
            done = changed_days(done, stream, before, snapshot(run.engine, stream), run.as_of)
        run.log.info("%s/%s: %s..%s, %d rows, %d quarantined", run.source, name, done.since, done.until,
                     done.rows, done.quarantined)
        result.streams.append(done)
    return result
