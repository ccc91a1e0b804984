"""What a source keeps in the warehouse and how its rows become touchpoint facts: one `SourceParts` per source, in
`models/sources/<source>/parts.py`; `models.sources.registry` lists them (its declaration, the pure half that
journey.yaml's schema reads, is `models.sources.spec.SourceModel`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection

from models.sync.rows import RawStream

if TYPE_CHECKING:
    from models.config import JourneyMap, Touchpoint
    from models.feedback import StageFeedback
    from models.sources.discovery import SourceDiscovery
    from models.sync import SourceResult, SyncRun

# the raw rows of since..until (of one account when given), as the source's mapper reads them
RawReader = Callable[[Connection, dt.date, dt.date, ZoneInfo, "str | None"], pd.DataFrame]
# raw rows and the source's touchpoints (journey id, touchpoint) → (facts, unmapped volume, metrics)
Mapper = Callable[[pd.DataFrame, "list[tuple[str, Touchpoint]]", "JourneyMap"],
                  tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]]
# the raw rows a touchpoint's rule takes (a boolean Series over the reader's frame)
RuleMask = Callable[[pd.DataFrame, "Touchpoint"], pd.Series]


@dataclass(frozen=True)
class RowCheck:
    """A check a source adds to every run's quality suite: the rows of `table` (dated by `date_column`) of the
    window that `unexpected` (SQL over `{batch}`) finds are its failures.

    Attributes:
        kind: the check's family (journey.yaml's `quality: severity:` sets one per family).
        title: what must hold, in words.
        columns: the columns that name a failing row.
        fix: what to do when it fails.
    """

    kind: str
    title: str
    table: str
    date_column: str
    unexpected: str
    columns: tuple[str, ...]
    fix: str


@dataclass(frozen=True)
class SourceParts:
    """The storing half of a source.

    Attributes:
        name: the source's id (its declaration's).
        streams: its landing streams (each with its table, natural key and row checks), in load order.
        read: its raw rows of a window, for the mapping.
        map: those rows → touchpoint facts, the volume no touchpoint took, and its other metrics.
        rule_mask: the rows of `read` a touchpoint's rule takes (discover and drift use it; None: not discovered).
        reach: how far before the first day read a sync may change facts (an email's opens count for its send
            day, up to this long before them).
        sync: (run, readers) → what one run's sync of it did; `readers` are what its connector's `open` built.
            None: each reader of `readers` (a mapping of landing stream → reader) is landed as it is.
        request: what the map asks of its connector (the reports and dimensions its touchpoints need), or None.
        mix: the stored cells (date, step, segment, n, k) of its steps by page, of since..until and one account,
            which shape a step's mix-adjusted expectation (None: its steps have no pages).
        link: (touchpoint, what links need of the account) → (label, URL) of the touchpoint's own report in the
            source's web app (None: no web report); `link_context`: (connection, the account its connector's
            `web_account` read from the settings) → what `link` needs (default: that account as it is).
        row_checks: the checks it adds to the quality suite (report flags of its own).
        allowed: per column of its tables, the values a row may hold and how to say so ("a currency the
            payment provider charges in"): any other is a failed check.
        feedback: (connection, map, since, until) → what its answers say of each stage (stage id → feedback);
            `journey_feedback`: the same per journey (journey id → stage id → feedback). None: it has no answers.
        uncounted: its streams whose unmapped items are not lost volume (a report of every event name, of which
            a map names a few): left out of its coverage check.
        discover: what it lends `journeymap discover` and `--diff` (its candidates, each raw row's weight, what
            it keeps on record, what a map misses of it: `models.sources.discovery.SourceDiscovery`); None: it
            is not discovered.
    """

    name: str
    streams: tuple[RawStream, ...]
    read: RawReader
    map: Mapper
    rule_mask: RuleMask | None = None
    reach: dt.timedelta = dt.timedelta(0)
    sync: Callable[[SyncRun, Any], SourceResult] | None = None
    request: Callable[[JourneyMap], Any] | None = None
    mix: Callable[[Connection, dt.date, dt.date, str | None, JourneyMap], pd.DataFrame] | None = None
    link: Callable[[Touchpoint, Any], tuple[str, str] | None] | None = None
    link_context: Callable[[Connection, str | None], Any] | None = None
    row_checks: tuple[RowCheck, ...] = ()
    allowed: Mapping[str, tuple[frozenset[str], str]] = field(default_factory=dict)
    uncounted: tuple[str, ...] = ()
    feedback: Callable[[Connection, JourneyMap, dt.date, dt.date], dict[str, StageFeedback]] | None = None
    journey_feedback: Callable[[Connection, JourneyMap, dt.date, dt.date],
                               dict[str, dict[str, StageFeedback]]] | None = None
    discover: SourceDiscovery | None = None

    def stream(self, name: str) -> RawStream:
        """Its landing stream `name`; KeyError names the streams it has."""
        for s in self.streams:
            if s.stream == name:
                return s
        raise KeyError(f"{self.name} has no stream {name!r} (it has {', '.join(s.stream for s in self.streams)})")
