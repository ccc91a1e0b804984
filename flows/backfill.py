"""Backfills in chunks: a range of days is cut into chunks (a source and a calendar week; a source whose API cannot
read a week on its own, and file exports, whole), loaded side by side by Prefect's task runner under the global
concurrency limit of each API, and recorded once committed, so that a rerun of a stopped backfill loads only the
chunks it is missing.

With `fan_out`, every chunk is a run of the `backfill-chunk` deployment instead (`run_deployment`): each worker
of the pool takes chunks, on this machine or in Docker or Kubernetes. The backfill's own run holds the warehouse
lock for its chunks; a chunk run started on its own takes it itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, cast

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import FlowRun
from prefect.futures import PrefectFuture, as_completed
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff
from sqlalchemy import Engine

from connectors.errors import TransientError
from flows.chunks import Chunk, connections_for, identity, limits_of, plan_chunks, settled
from flows.days import check_range, today_in
from flows.progress import quiet, tracked
from flows.quotas import api_slots, on_server
from flows.settings import Settings, load_settings
from flows.sources import CONFIG_ERRORS, Source, load_source
from models.backfill import finished_chunks, record_chunk
from models.config import JourneyMap
from models.db import make_engine, migrate
from models.lock import warehouse_lock
from models.mapfile import load_map
from models.sync import SourceResult, StreamResult
from models.sync.ledger import missing_days

CHUNK_DEPLOYMENT = "backfill-chunk/backfill-chunk"


@dataclass
class BackfillResult:
    """What the chunks did: the sources' merged results, the failures (source → first error), what was skipped."""

    synced: list[SourceResult] = field(default_factory=list)
    failed: dict[str, BaseException] = field(default_factory=dict)
    skipped: list[Chunk] = field(default_factory=list)
    loaded: list[Chunk] = field(default_factory=list)
    not_started: list[Chunk] = field(default_factory=list)  # their source had failed on its configuration


def _transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a chunk only when it failed on an error that may pass (after the connector's own retries)."""
    try:
        state.result()
    except TransientError:
        return True
    except BaseException:
        return False
    return False


def load_here(engine: Engine, settings: Settings, journey_map: JourneyMap, chunk: Chunk, as_of: dt.date,
              demo: bool, demo_outage: dt.date | None, connections: int) -> SourceResult:
    """Load one chunk in this process, holding its API's global concurrency slots, and record it when every row
    of it is committed (a quota stop or refused input leaves it for the rerun)."""
    with api_slots(chunk.source, settings, connections, demo), quiet():
        result = load_source(engine, journey_map, chunk.source, as_of, demo, (chunk.since, chunk.until),
                             demo_outage, snapshots=chunk.snapshots, connections=connections, settings=settings)
    if not result.note and not result.bad_input:
        account, reads = identity(chunk.source, settings, journey_map, demo, demo_outage)
        with engine.begin() as conn:
            record_chunk(conn, chunk.source, account, chunk.since, chunk.until, reads=reads,
                         rows=sum(s.rows for s in result.streams), flow_run=str(flow_run.id or ""))
    return result


@task(cache_policy=NO_CACHE, task_run_name="load-{chunk.source}-{chunk.since}", retries=2,
      retry_delay_seconds=exponential_backoff(backoff_factor=30), retry_condition_fn=_transient)
def load_chunk(engine: Engine, settings: Settings, journey_map: JourneyMap, chunk: Chunk, as_of: dt.date,
               demo: bool, demo_outage: dt.date | None, connections: int, fan_out: bool) -> SourceResult:
    """One chunk: loaded here, or (`fan_out`) by a run of the backfill-chunk deployment that a worker takes."""
    if not fan_out:
        return load_here(engine, settings, journey_map, chunk, as_of, demo, demo_outage, connections)
    from prefect.deployments import run_deployment

    child = cast(FlowRun, run_deployment(CHUNK_DEPLOYMENT, parameters={
        "source": chunk.source, "start_date": chunk.since.isoformat(), "end_date": chunk.until.isoformat(),
        "snapshots": chunk.snapshots, "as_of": as_of.isoformat(), "demo": demo,
        "demo_outage": demo_outage.isoformat() if demo_outage else None, "connections": connections,
        "business": settings.journey_business},
        idempotency_key=f"{flow_run.id}:{chunk.name}", poll_interval=2, flow_run_name=f"chunk {chunk.name}"))
    if child.state is None or not child.state.is_completed():
        raise RuntimeError(f"chunk {chunk.name}: its run {child.name} ended "
                           f"{child.state.name if child.state else 'without a state'}")
    return SourceResult(chunk.source, [StreamResult(chunk.source, "chunks", chunk.since, chunk.until)])


def run_backfill(engine: Engine, settings: Settings, journey_map: JourneyMap, sources: Sequence[str],
                 window: tuple[dt.date, dt.date], as_of: dt.date, demo: bool, demo_outage: dt.date | None,
                 parallel: int, fan_out: bool) -> BackfillResult:
    """Load the chunks not yet done, `parallel` at a time; a failing chunk fails its source and the rest go on,
    but a source that failed on its configuration starts no more chunks (they would fail the same way)."""
    logger = get_run_logger()
    result = BackfillResult()
    with engine.connect() as conn:
        done = {s: finished_chunks(conn, s, *identity(s, settings, journey_map, demo, demo_outage)) for s in sources}
    pending: list[Chunk] = []
    with engine.connect() as conn:
        for chunk in plan_chunks(sources, *window):
            account = identity(chunk.source, settings, journey_map, demo, demo_outage)[0]
            skip = ((chunk.since, chunk.until) in done[chunk.source] and settled(chunk, journey_map, as_of)
                    and not missing_days(conn, chunk.source, account, chunk.since, chunk.until))
            (result.skipped if skip else pending).append(chunk)
    if result.skipped:
        logger.info("%d chunks already loaded by an earlier backfill: skipped", len(result.skipped))
    if not demo and pending:
        for limit in {name for source in sources for name, _ in limits_of(source, settings)}:
            on_server(limit)  # asked once, before the chunks' threads start
    per_source: dict[str, list[SourceResult]] = {}
    running: dict[PrefectFuture[SourceResult], Chunk] = {}
    title = f"Backfill {window[0]}..{window[1]}"
    with tracked(len(pending), "backfill-progress", f"{title}: chunks loaded") as progress, \
            ThreadPoolTaskRunner[SourceResult](max_workers=parallel) as runner:
        def start() -> None:
            while pending and len(running) < parallel:
                chunk = pending.pop(0)
                if isinstance(result.failed.get(chunk.source), CONFIG_ERRORS):
                    result.not_started.append(chunk)
                    progress.step(chunk.name)
                    continue
                running[runner.submit(load_chunk, {
                    "engine": engine, "settings": settings, "journey_map": journey_map, "chunk": chunk,
                    "as_of": as_of, "demo": demo, "demo_outage": demo_outage,
                    "connections": connections_for(chunk.source, journey_map, parallel), "fan_out": fan_out})] = chunk

        start()
        while running:
            future = next(as_completed(list(running)))
            chunk = running.pop(future)
            try:
                per_source.setdefault(chunk.source, []).append(future.result())
                result.loaded.append(chunk)
            except Exception as exc:
                logger.error("chunk %s failed: %s", chunk.name, exc)
                result.failed.setdefault(chunk.source, exc)
            progress.step(chunk.name)
            start()
    result.synced = [merge(results) for results in per_source.values()]
    create_markdown_artifact(key="backfill-chunks", markdown=chunks_markdown(title, result),
                             description=f"{title}: the chunks and what became of them")
    return result


def merge(results: list[SourceResult]) -> SourceResult:
    """One source's chunk results as one: each stream's rows summed over the chunks, its days spanned."""
    streams: dict[str, StreamResult] = {}
    for part in results:
        for s in part.streams:
            known = streams.get(s.stream)
            streams[s.stream] = s if known is None else StreamResult(
                s.source, s.stream, min(known.since, s.since), max(known.until, s.until), known.rows + s.rows,
                known.quarantined + s.quarantined, known.pages + s.pages, known.reasons + s.reasons)
    first = results[0]
    return SourceResult(first.source, list(streams.values()),
                        note="; ".join(dict.fromkeys(r.note for r in results if r.note)),
                        account=next((r.account for r in results if r.account), None),
                        bad_input=[b for r in results for b in r.bad_input],
                        skipped={k: v for r in results for k, v in r.skipped.items()},
                        warnings=list(dict.fromkeys(w for r in results for w in r.warnings)))


def chunks_markdown(title: str, result: BackfillResult) -> str:
    lines = [f"# {title}", "", f"{len(result.loaded)} chunks loaded, {len(result.skipped)} skipped (loaded by an "
             f"earlier backfill), {len(result.failed)} sources failed.", "",
             "| chunk | status |", "|---|---|"]
    lines += [f"| {c.name} | loaded |" for c in sorted(result.loaded, key=lambda c: (c.since, c.source))]
    lines += [f"| {c.name} | skipped |" for c in result.skipped]
    lines += [f"| {c.name} | not started: {c.source} failed on its configuration |" for c in result.not_started]
    lines += [f"| {s} | failed: {str(e)[:200]} |" for s, e in result.failed.items()]
    return "\n".join(lines) + "\n"


@flow(name="backfill-chunk", log_prints=True)
def backfill_chunk(source: Source, start_date: dt.date, end_date: dt.date, snapshots: bool = False,
                   as_of: dt.date | None = None, demo: bool = False, demo_outage: dt.date | None = None,
                   connections: int | None = None, business: str | None = None) -> int:
    """Load one chunk of a backfill and record it; returns its rows. Backfills with fan_out start these runs; a run
    started on its own waits for the warehouse like any other run.

    Args:
        source: the source to load.
        start_date: the chunk's first day.
        end_date: the chunk's last day.
        snapshots: also read the source's whole-list streams (a list of subscriptions).
        as_of: the day that counts as "today" (default: today in the map's timezone).
        demo: read the built-in demo business instead of the real APIs.
        demo_outage: with `demo`, a day the demo's site analytics record nothing.
        connections: requests in flight (default: the source's `concurrency`).
        business: in a warehouse of several businesses, the one the chunk is of (empty: the one map).
    """

    settings = load_settings(business or None)
    journey_map = load_map(settings.journey_map_file)
    as_of = as_of or today_in(journey_map)
    check_range(start_date, end_date, today=as_of)
    engine = make_engine(settings.journey_database_url)
    try:
        migrate(engine)
        chunk = Chunk(Source(source).value, start_date, end_date, snapshots)
        lock = nullcontext() if flow_run.parent_flow_run_id else warehouse_lock(engine)
        with lock:
            result = load_here(engine, settings, journey_map, chunk, as_of, demo, demo_outage,
                               connections or journey_map.source_settings(chunk.source).concurrency)
    finally:
        engine.dispose()
    if result.note or result.bad_input:
        raise RuntimeError(f"chunk {chunk.name} is not complete: {result.note or '; '.join(result.bad_input[:3])}")
    return sum(s.rows for s in result.streams)
