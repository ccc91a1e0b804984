"""Google Search Console: Search Analytics rows of pages and top queries, a day at a time, partial days flagged."""

from __future__ import annotations

from connectors.search_console.client import classify, make_client
from connectors.search_console.reader import read_day
from connectors.search_console.records import SearchRow
from connectors.search_console.settings import REPORTS
from connectors.search_console.source import SPEC, SearchConsoleReaders, open_search_console, site_url

__all__ = ["REPORTS", "SPEC", "SearchConsoleReaders", "SearchRow", "classify", "make_client", "open_search_console",
           "read_day", "site_url"]
