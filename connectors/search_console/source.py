"""Search Console's reading half for a run: the property from the settings (checked before anything is asked),
its readers, and its `SPEC`."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any

from googleapiclient.discovery import Resource

from connectors import demo
from connectors.errors import NotConfigured, Rejected, RetryPolicy, TransientError, source_policy
from connectors.google_auth import KEY_BLOCK, project_limit
from connectors.search_console.client import make_client
from connectors.search_console.reader import read_day
from connectors.search_console.records import SearchRow
from connectors.search_console.settings import MAX_CONCURRENCY, REPORTS, ROW_LIMIT
from connectors.spec import Reader, Setting, SourceSpec

OnRetry = Callable[[int, TransientError, float], None] | None
SITE_HELP = "Search Console › the property picker, or Settings › Ownership verification"
PROPERTY = re.compile(r"(https?://[^/\s]+/\S*|sc-domain:[^/\s:]+)")


def site_of(settings: Any) -> str:
    """SEARCH_CONSOLE_SITE_URL as it is set, trimmed ("" when unset): the account its rows are stored under."""
    return (settings.search_console_site_url or "").strip()


def site_url(settings: Any) -> str:
    """The property to read; raises with the variable to set when it is missing or not a property."""
    site = site_of(settings)
    if not site:
        raise NotConfigured("SEARCH_CONSOLE_SITE_URL is not set; set it to the Search Console property exactly as "
                            f"{SITE_HELP} shows it ('https://www.example.com/' for a URL-prefix property, "
                            "'sc-domain:example.com' for a domain property), or run with --demo")
    if not PROPERTY.fullmatch(site):
        raise NotConfigured(f"SEARCH_CONSOLE_SITE_URL {site!r} is not a Search Console property; use the URL-prefix "
                            "property with its scheme and trailing slash ('https://www.example.com/') or the domain "
                            f"property ('sc-domain:example.com'), as {SITE_HELP} shows it")
    return site


class SearchConsoleReaders:
    """One run's reads of a property: both reports of each day, `row_limit` rows a request, every request with the
    run's retries (`policy`)."""

    def __init__(self, client: Resource, site: str, *, row_limit: int = ROW_LIMIT, policy: RetryPolicy) -> None:
        self.client = client
        self.site = site
        self.row_limit = min(row_limit, ROW_LIMIT)
        self.policy = policy

    def rows(self, pending: set[dt.date], on_retry: OnRetry = None) -> Reader:
        """The reader of both reports of each day of since..until, page by page; the days whose rows Search
        Console is still counting (not final) are added to `pending` as they come."""
        def read(since: dt.date, until: dt.date) -> Iterator[list[SearchRow | Rejected]]:
            day = since
            while day <= until:
                for report in REPORTS:
                    for page in read_day(self.client, self.site, day, report, row_limit=self.row_limit,
                                         policy=self.policy, on_retry=on_retry):
                        pending.update(r.date for r in page if isinstance(r, SearchRow) and not r.final)
                        yield page
                day += dt.timedelta(days=1)
        return read


def open_search_console(settings: Any, options: Any, request: Any = None) -> SearchConsoleReaders:
    """The readers of SEARCH_CONSOLE_SITE_URL's property, with the GA4_CREDENTIALS_FILE key (else Application
    Default Credentials), at SEARCH_CONSOLE_API_ENDPOINT when set; raises naming the variable to set when the
    property is missing or not one, or the credentials cannot be loaded. Nothing is asked of Search Console yet."""
    site = site_url(settings)
    client = make_client(settings.ga4_credentials_file, settings.search_console_api_endpoint)
    return SearchConsoleReaders(client, site, row_limit=options.page_size, policy=source_policy(options.retry_minutes))


def demo_readers(outage: Any = None) -> dict[str, Reader]:
    """The demo blog's search rows (every day final)."""
    return {"rows": demo.read_search_rows}


def web_site(settings: Any) -> str | None:
    """The property the web app's links open (None when unset)."""
    return site_of(settings) or None


# the environment variables it reads (the flow reads them and hands the values over)
SETTINGS = (
    Setting("search_console_site_url", doc="the property: https://www.example.com/ or sc-domain:example.com"),
    Setting("ga4_credentials_file", "path", "the service-account JSON it shares with GA4", block=KEY_BLOCK),
    Setting("search_console_api_endpoint", doc="root URL override (proxies, tests)"),
)
SPEC = SourceSpec("search_console", settings=SETTINGS,
                  account=("SEARCH_CONSOLE_SITE_URL",),
                  limit=("search-console-api", MAX_CONCURRENCY), open=open_search_console, demo=demo_readers,
                  account_of=site_of, web_account=web_site, shared_limit=project_limit)
