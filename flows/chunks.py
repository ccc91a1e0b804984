"""How a backfill is cut: chunks of a source and a calendar week (or a source's whole range where its API cannot
read a week on its own), what makes two chunks the same, when a loaded chunk is done for good, and the global
concurrency limit each API's chunks hold."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from connectors.registry import BY_NAME as CONNECTOR
from connectors.registry import SOURCES as CONNECTORS
from flows.settings import Settings
from flows.sources import account_of, request_of
from models.config import JourneyMap
from models.sources import SOURCES

# global concurrency limits (created by `journeymap setup-prefect`), sized to each API's quota: a read (a daily
# sync or a backfill chunk) holds as many slots as the connections it opens, whichever business, run, flow or
# worker it belongs to
API_LIMITS: dict[str, tuple[str, int]] = {s.name: s.limit for s in CONNECTORS if s.limit}


def limits_of(source: str, settings: Settings) -> list[tuple[str, int]]:
    """The global concurrency limits a read of the source holds: its API's, and the quota it shares with other
    sources of the same provider account (a Google Cloud project), with their slots."""
    spec = CONNECTOR[source]
    shared = spec.shared_limit(settings) if spec.shared_limit is not None else None
    return [limit for limit in (spec.limit, shared) if limit is not None]
WHOLE_RANGE = {s.name: s.whole_range for s in SOURCES if s.whole_range}  # source → why it is read whole


@dataclass(frozen=True)
class Chunk:
    """A source's days since..until; `snapshots`: this chunk also reads the source's whole-list streams (a list of
    subscriptions), which one chunk per backfill is enough to read."""

    source: str
    since: dt.date
    until: dt.date
    snapshots: bool = False

    @property
    def name(self) -> str:
        return f"{self.source} {self.since}..{self.until}"


def plan_chunks(sources: Sequence[str], since: dt.date, until: dt.date) -> list[Chunk]:
    """Chunks for the range, week by week (Monday to Sunday, so that two backfills over the same weeks share
    their chunks), every source of a week before the next week; the last week of a source reads its snapshots."""
    weeks: list[tuple[dt.date, dt.date]] = []
    start = since
    while start <= until:
        end = min(until, start + dt.timedelta(days=6 - start.weekday()))
        weeks.append((start, end))
        start = end + dt.timedelta(days=1)
    chunks = [Chunk(s, since, until, snapshots=True) for s in sources if s in WHOLE_RANGE]
    weekly = [s for s in sources if s not in WHOLE_RANGE]
    for i, (first, last) in enumerate(weeks):
        chunks += [Chunk(s, first, last, snapshots=i == len(weeks) - 1) for s in weekly]
    return chunks


def identity(source: str, settings: Settings, journey_map: JourneyMap, demo: bool,
             demo_outage: dt.date | None) -> tuple[str, str]:
    """(account, reads) of a source's chunks: a chunk loaded from another account, with another request plan or
    another demo outage is not the same chunk. A source whose account is known only once its API answered counts
    as one account per key."""
    account = account_of(source, settings, demo) or ""
    spec = CONNECTOR[source]
    if demo:
        return account, f"outage {demo_outage}" if demo_outage and spec.demo_outage else ""
    return account, spec.fingerprint(request_of(source, journey_map)) if spec.fingerprint is not None else ""


def settled(chunk: Chunk, journey_map: JourneyMap, as_of: dt.date) -> bool:
    """Whether a chunk's days have all settled by `as_of`: once loaded, loading it again cannot change it (a chunk
    loaded before its days settled is read again by the daily runs, whose ledger marks them unsettled)."""
    return chunk.until <= as_of - dt.timedelta(days=journey_map.source_settings(chunk.source).settle_days)


def connections_for(source: str, journey_map: JourneyMap, parallel: int) -> int:
    """A weekly chunk's share of its source's `concurrency` (chunks side by side never exceed it together)."""
    configured = journey_map.source_settings(source).concurrency
    return configured if source in WHOLE_RANGE else max(1, configured // parallel)
