"""Search Console sync: both reports of each day the ledger says to read, each day replaced whole and committed with
its mark on its own (a stop keeps the days read); a day Search Console is still counting is read again next run."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from googleapiclient.discovery import Resource
from prefect import get_run_logger
from sqlalchemy import Engine

from connectors.errors import QuotaExhausted, RetryPolicy, TransientError
from connectors.search_console import REPORTS, SearchRow, make_client, read_day
from connectors.search_console.settings import ROW_LIMIT
from flows.progress import tracked
from flows.settings import Settings, SettingsError
from flows.sync import Pages, SourceResult, StreamResult, hasher_for, source_policy, sync_stream
from models.config import JourneyMap, SourceSettings
from models.ledger import Stream, days_between, history, plan_reads, read_marks
from models.sources.search_console.streams import SEARCH_CONSOLE_ROWS

SITE_HELP = "Search Console › the property picker, or Settings › Ownership verification"
PROPERTY = re.compile(r"(https?://[^/\s]+/\S*|sc-domain:[^/\s:]+)")


def site_url(settings: Settings) -> str:
    """The property to read; raises with the variable to set when it is missing or not a property."""
    site = (settings.search_console_site_url or "").strip()
    if not site:
        raise SettingsError("SEARCH_CONSOLE_SITE_URL is not set; set it to the Search Console property exactly as "
                            f"{SITE_HELP} shows it ('https://www.example.com/' for a URL-prefix property, "
                            "'sc-domain:example.com' for a domain property), or run with --demo")
    if not PROPERTY.fullmatch(site):
        raise SettingsError(f"SEARCH_CONSOLE_SITE_URL {site!r} is not a Search Console property; use the URL-prefix "
                            "property with its scheme and trailing slash ('https://www.example.com/') or the domain "
                            f"property ('sc-domain:example.com'), as {SITE_HELP} shows it")
    return site


def days_to_read(engine: Engine, site: str, as_of: dt.date, settings: SourceSettings,
                 window: tuple[dt.date, dt.date] | None) -> list[dt.date]:
    """Every day of a backfill's `window`; else the days of the history the ledger says to read (never read, not
    settled, or empty and still asked again)."""
    if window is not None:
        return list(days_between(*window))
    since, until = history(as_of, settings)
    with engine.connect() as conn:
        marks = read_marks(conn, Stream("search_console", "rows", site), since, until)
    return plan_reads(marks, since, until, as_of, settings).days


def sync_search_console(engine: Engine, journey_map: JourneyMap, settings: Settings, as_of: dt.date,
                        window: tuple[dt.date, dt.date] | None) -> SourceResult:
    """Read both reports of each day to read; a quota stop keeps the days already read and leaves the rest to the
    next run."""
    logger = get_run_logger()
    site = site_url(settings)
    client = make_client(settings.ga4_credentials_file, settings.search_console_api_endpoint)
    source = journey_map.source_settings("search_console")
    policy = source_policy(source)
    hasher = hasher_for(settings, site)
    pending: set[dt.date] = set()  # days Search Console is still counting: not settled, whatever their age
    days = days_to_read(engine, site, as_of, source, window)
    result = SourceResult("search_console", account=site)
    done = StreamResult("search_console", "rows", days[0] if days else as_of - dt.timedelta(days=1),
                        days[-1] if days else as_of - dt.timedelta(days=1))

    def retry(attempt: int, error: TransientError, wait: float) -> None:
        logger.warning("search console retry %d in %.0f s: %s", attempt, wait, error)

    def reader(since: dt.date, until: dt.date) -> Pages:
        return _read(client, site, since, until, min(source.page_size, ROW_LIMIT), policy, retry, pending)

    with tracked(len(days), "sync-search-console", f"Loading Search Console property {site}") as progress:
        for day in days:
            try:
                read = sync_stream(engine, SEARCH_CONSOLE_ROWS, reader, site, as_of, source, hasher=hasher,
                                   window=(day, day), unsettled=pending)
            except QuotaExhausted as exc:
                result.note = str(exc)
                break
            done.rows, done.quarantined, done.pages = (done.rows + read.rows, done.quarantined + read.quarantined,
                                                       done.pages + read.pages)
            done.reasons += read.reasons
            progress.step(f"search console {day} ({done.rows:,} rows)")
    result.streams.append(done)
    if pending:
        logger.info("search_console: %s still being counted; read again next run",
                    ", ".join(map(str, sorted(pending))))
    logger.info("search_console/rows: %s..%s, %d days, %d rows, %d quarantined", done.since, done.until, len(days),
                done.rows, done.quarantined)
    return result


def _read(client: Resource, site: str, since: dt.date, until: dt.date, row_limit: int, policy: RetryPolicy,
          retry: Callable[[int, TransientError, float], None], pending: set[dt.date]) -> Pages:
    """Both reports of each day of since..until, page by page, noting the days whose rows are not final yet."""
    for day in days_between(since, until):
        for report in REPORTS:
            for page in read_day(client, site, day, report, row_limit=row_limit, policy=policy, on_retry=retry):
                pending.update(r.date for r in page if isinstance(r, SearchRow) and not r.final)
                yield page
