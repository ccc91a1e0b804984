"""Search Console's sync: both reports of each day the ledger says to read, each day replaced whole and committed
with its mark on its own (a stop keeps the days read); a day Search Console is still counting is read again next
run. A day that comes back without a row from a property that has data is asked again for `empty_retry_days`,
then recorded as a confirmed gap (a backfill reads it again); a warning names it. The readers come from its
connector (`connectors.search_console.SearchConsoleReaders`); this module imports none."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import Engine

from models.config import SourceSettings
from models.sources.search_console.streams import SEARCH_CONSOLE_ROWS
from models.sync import Reader, SourceResult, StreamResult, SyncRun, sync_stream
from models.sync.ledger import (
    EMPTY,
    GAP,
    Stream,
    clear_empty_before_data,
    confirm_gaps,
    days_between,
    history,
    plan_reads,
    read_marks,
)

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


def ledger_of(site: str) -> Stream:
    """The day ledger of the property's rows."""
    return Stream(SEARCH_CONSOLE_ROWS.source, SEARCH_CONSOLE_ROWS.stream, site)


def days_to_read(engine: Engine, site: str, as_of: dt.date, settings: SourceSettings,
                 window: tuple[dt.date, dt.date] | None) -> list[dt.date]:
    """Every day of a backfill's `window` (empty days and confirmed gaps too); else the days of the history the
    ledger says to read (never read, not settled, or empty and still asked again). Empty days whose retries ran
    out are recorded as confirmed gaps on the way."""
    if window is not None:
        return list(days_between(*window))
    since, until = history(as_of, settings)
    ledger = ledger_of(site)
    with engine.begin() as conn:
        reads = plan_reads(read_marks(conn, ledger, since, until), since, until, as_of, settings)
        confirm_gaps(conn, ledger, reads.gaps)
    return reads.days


def empty_days(engine: Engine, site: str, days: list[dt.date]) -> tuple[list[dt.date], list[dt.date]]:
    """Of the days just read, those that came back without a row while the property has data: the ones still
    asked again, and the ones whose retries ran out (now confirmed gaps). The empty days before the property's
    first data are forgiven on the way (a property younger than the history, or one without any data, has no
    outage there)."""
    if not days:
        return [], []
    ledger = ledger_of(site)
    with engine.begin() as conn:
        clear_empty_before_data(conn, ledger)
        marks = read_marks(conn, ledger, min(days), max(days))
    status = {d: marks[d].status for d in days if d in marks}
    return sorted(d for d, s in status.items() if s == EMPTY), sorted(d for d, s in status.items() if s == GAP)


def _named(days: list[dt.date]) -> str:
    return ", ".join(map(str, days[:5])) + (" …" if len(days) > 5 else "")


def empty_warning(site: str, empty: list[dt.date], gaps: list[dt.date], retry_days: int) -> str:
    """The run's warning about the days that came back empty."""
    said = []
    if empty:
        said.append(f"{len(empty)} day(s) came back empty ({_named(empty)}); they are asked again for {retry_days} "
                    "days, then recorded as gaps")
    if gaps:
        said.append(f"{len(gaps)} day(s) stayed empty for {retry_days} days ({_named(gaps)}) and are now recorded "
                    "as gaps")
    return f"Search Console property {site}: {'; '.join(said)} (a backfill of those days reads them again)"


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
    read_days: list[dt.date] = []
    with run.tracked(len(days), "sync-search-console", f"Loading Search Console property {site}") as progress:
        for day in days:
            try:
                read = sync_stream(run.engine, SEARCH_CONSOLE_ROWS, reader, site, run.as_of, run.settings,
                                   hasher=hasher, window=(day, day), unsettled=pending)
            except run.errors.quota as exc:
                result.note = str(exc)
                break
            read_days.append(day)
            done.rows, done.quarantined, done.pages = (done.rows + read.rows, done.quarantined + read.quarantined,
                                                       done.pages + read.pages)
            done.reasons += read.reasons
            progress.step(f"search console {day} ({done.rows:,} rows)")
    result.streams.append(done)
    empty, gaps = empty_days(run.engine, site, read_days)
    if empty or gaps:
        result.warnings.append(empty_warning(site, empty, gaps, run.settings.empty_retry_days))
        run.log.warning("search_console: %s came back empty", ", ".join(map(str, empty + gaps)))
    if pending:
        run.log.info("search_console: %s still being counted; read again next run",
                     ", ".join(map(str, sorted(pending))))
    run.log.info("search_console/rows: %s..%s, %d days, %d rows, %d quarantined", done.since, done.until, len(days),
                 done.rows, done.quarantined)
    return result
