"""Google Search Console: Search Analytics rows of pages and top queries, a day at a time, partial days flagged."""

from __future__ import annotations

from connectors.search_console.client import classify, make_client
from connectors.search_console.reader import read_day
from connectors.search_console.records import SearchRow
from connectors.search_console.settings import REPORTS, SPEC

__all__ = ["REPORTS", "SPEC", "SearchRow", "classify", "make_client", "read_day"]
