"""Search Console's sync: both reports of each day the ledger says to read, each day replaced whole and committed
with its mark on its own (a stop keeps the days read); a day Search Console is still counting is read again next
run. The readers come from its connector (`connectors.search_console.SearchConsoleReaders`); this module imports
none."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import Engine

from models.config import SourceSettings
from models.sources.search_console.streams import SEARCH_CONSOLE_ROWS
from models.sync import Reader, SourceResult, StreamResult, SyncRun, sync_stream
from models.sync.ledger import Stream, days_between, history, plan_reads, read_marks

OnRetry = Callable[[int, Exception, float], None]  # attempt, the error, seconds until the next try


class SearchConsoleReads(Protocol):
    """What the sync reads of a property (its connector's `open` builds it)."""

    @property
    def site(self) -> str:
        """The property, as its rows are stored (their account)."""
        ...

    def rows(self, pending: set[dt.date], on_retry: OnRetry) -> Reader:
        """The reader of both reports of each day; the days still being counted are added to `pending`."""
        ...


def days_to_read(engine: Engine, site: str, as_of: dt.date, settings: SourceSettings,
                 window: tuple[dt.date, dt.date] | None) -> list[dt.date]:
    """Every day of a backfill's `window`; else the days of the history the ledger says to read (never read, not
    settled, or empty and still asked again)."""
    if window is not None:
        return list(days_between(*window))
    since, until = history(as_of, settings)
    with engine.connect() as conn:
        marks = read_marks(conn, Stream(SEARCH_CONSOLE_ROWS.source, SEARCH_CONSOLE_ROWS.stream, site), since, until)
    return plan_reads(marks, since, until, as_of, settings).days


def sync_search_console(run: SyncRun, readers: SearchConsoleReads) -> SourceResult:
    """Read both reports of each day to read; a quota stop keeps the days already read and leaves the rest to the
    next run."""
    site = readers.site
    hasher = run.hasher(site)
    pending: set[dt.date] = set()  # days Search Console is still counting: not settled, whatever their age
    days = days_to_read(run.engine, site, run.as_of, run.settings, run.window)
    result = SourceResult(run.source, account=site)
    yesterday = run.as_of - dt.timedelta(days=1)
    done = StreamResult(run.source, SEARCH_CONSOLE_ROWS.stream, days[0] if days else yesterday,
                        days[-1] if days else yesterday)

    def retry(attempt: int, error: Exception, wait: float) -> None:
        run.log.warning("search console retry %d in %.0f s: %s", attempt, wait, error)

    reader = readers.rows(pending, retry)
    with run.tracked(len(days), "sync-search-console", f"Loading Search Console property {site}") as progress:
        for day in days:
            try:
                read = sync_stream(run.engine, SEARCH_CONSOLE_ROWS, reader, site, run.as_of, run.settings,
                                   hasher=hasher, window=(day, day), unsettled=pending)
            except run.errors.quota as exc:
                result.note = str(exc)
                break
            done.rows, done.quarantined, done.pages = (done.rows + read.rows, done.quarantined + read.quarantined,
                                                       done.pages + read.pages)
            done.reasons += read.reasons
            progress.step(f"search console {day} ({done.rows:,} rows)")
    result.streams.append(done)
    if pending:
        run.log.info("search_console: %s still being counted; read again next run",
                     ", ".join(map(str, sorted(pending))))
    run.log.info("search_console/rows: %s..%s, %d days, %d rows, %d quarantined", done.since, done.until, len(days),
                 done.rows, done.quarantined)
    return result
