"""Search Console constants: API names, report shapes, paging and quota defaults."""

from __future__ import annotations

SCOPES = ("https://www.googleapis.com/auth/webmasters.readonly",)
API_NAME = "searchconsole"
API_VERSION = "v1"
ROW_LIMIT = 25_000  # the API's largest rowLimit per request
SETTLE_DAYS = 3  # the last days are partial (dataState "all"): a day is re-read until it is this many days old
SEARCH_TYPE = "web"
DATA_STATE = "all"  # partial days too, flagged by the response's metadata.firstIncompleteDate
# Requests in flight per site at once. Search Console's short-term quota is 1,200 queries a minute per site and
# per user, and load-heavy queries (page × query) spend it faster; a thread needs a client of its own, as the
# client's HTTP connection is not thread-safe.
MAX_CONCURRENCY = 4

# The dimensions the API groups by; every key of a row is one of them, in the order asked for.
DIMENSIONS = ("date", "page", "query", "device", "country")
# Report → its dimensions, in key order. `pages` is every click and impression of a page by device and country;
# `queries` only the top queries of each page (Search Console leaves out rare, anonymised queries), so its
# totals are smaller than the pages report's.
REPORTS: dict[str, tuple[str, ...]] = {
    "pages": ("date", "page", "device", "country"),
    "queries": ("date", "page", "query"),
}
