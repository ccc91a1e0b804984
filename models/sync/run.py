"""What one source's sync gets from the flow that runs it: where and when to read, the source's settings, and the
run's services (hashing, logging, progress, the readers' error kinds), so that a source's sync knows no
orchestrator and no API client."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import Engine

from models.config import JourneyMap, SourceSettings
from models.sync.rows import Hasher


class Progress(Protocol):
    """A progress bar's handle: one `step` per unit of work done."""

    def step(self, label: str) -> None: ...


# (steps, key, description) → a progress bar for that many steps
Tracker = Callable[[int, str, str], AbstractContextManager[Progress]]


class _Silent:
    def step(self, label: str) -> None:
        return None


class _NoBar:
    def __enter__(self) -> Progress:
        return _Silent()

    def __exit__(self, *exc: object) -> None:
        return None


def no_progress(total: int, key: str, description: str) -> AbstractContextManager[Progress]:
    """A progress bar that shows nothing (tests, benchmarks)."""
    return _NoBar()


@dataclass(frozen=True)
class ReadErrors:
    """The kinds of error a source's readers raise, as the flow knows them (the connectors' classes).

    Attributes:
        quota: a quota stop: keep what was read, leave the rest for the next run.
        refused: the key may not read this (an optional stream is left out, named in a warning).
        failed: the source failed after its retries (what was read before stays committed).
    """

    quota: tuple[type[Exception], ...] = ()
    refused: tuple[type[Exception], ...] = ()
    failed: tuple[type[Exception], ...] = ()


@dataclass
class SyncRun:
    """One source's sync in one run.

    Attributes:
        engine: the warehouse.
        journey_map: the map (what its touchpoints and segments ask the source for).
        source: the source's name.
        as_of: the run's day (its last day read is the day before, less the source's lag).
        window: a backfill's days (None: the days the ledger says to read).
        settings: the source's `sources:` settings for this run (its concurrency may be a chunk's share).
        hasher: the salted hash of one account's addresses (JOURNEY_HASH_SALT, else the account id).
        errors: the kinds of error its readers raise.
        log: where it says what it did.
        tracked: progress bars for long work.
        snapshots: also read the streams that are a whole list rather than days (a backfill's chunks read them
            once).
    """

    engine: Engine
    journey_map: JourneyMap
    source: str
    as_of: dt.date
    window: tuple[dt.date, dt.date] | None
    settings: SourceSettings
    hasher: Callable[[str], Hasher]
    errors: ReadErrors = field(default_factory=ReadErrors)
    log: logging.Logger | logging.LoggerAdapter[logging.Logger] = field(
        default_factory=lambda: logging.getLogger("journeymap.sync"))
    tracked: Tracker = no_progress
    snapshots: bool = True
