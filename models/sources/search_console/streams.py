"""Search Console's landing streams: what its records become as rows of its tables, and which checks they pass
first (records that fail go to the quarantine; see `models.sync.rows`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from models.sources.search_console.tables import SearchConsoleRow
from models.store import row_key
from models.sync.rows import (
    BadRecord,
    Cover,
    RawStream,
    Record,
    account_of,
    day_of,
    number,
    one_of,
)
from models.tables import table_of

SEARCH_REPORTS = ("pages", "queries")

SEARCH_FIELDS = ("report", "date", "page", "query", "device", "country", "clicks", "impressions", "position_sum",
                 "final")

SEARCH_COLUMNS = ("site_url", "report", "date", "row_key", "page", "query", "device", "country", "clicks",
                  "impressions", "position_sum", "final")

def _search_values(site_url: str, report: Any, date: Any, page: Any, query: Any, device: Any, country: Any,
                   clicks: Any, impressions: Any, position_sum: Any, final: Any) -> tuple[Any, ...]:
    """The checks of a Search Console row but the property's (checked once per batch in the bulk shape)."""
    if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
        raise BadRecord(f"date must be a date, got {date!r}")
    if not isinstance(final, bool):
        raise BadRecord(f"final must be true or false, got {final!r}")
    counts = {"clicks": clicks, "impressions": impressions, "position_sum": position_sum}
    clicks, impressions = (int(number(counts, m, whole=True)) for m in ("clicks", "impressions"))
    weighted = float(number(counts, "position_sum", whole=False))
    if clicks > impressions:
        raise BadRecord(f"clicks {clicks} exceed impressions {impressions}")
    if weighted < impressions * (1 - 1e-9):  # every impression's position is 1 (the top) or lower down
        raise BadRecord(f"position_sum {weighted!r} is under impressions {impressions} (a position is ≥ 1)")
    dims = tuple(str(v) for v in (page, query, device, country))
    return (site_url, one_of(report, "report", SEARCH_REPORTS), date, row_key(*dims), *dims, clicks, impressions,
            weighted, final)

def _search_row(r: Record) -> dict[str, Any]:
    return dict(zip(SEARCH_COLUMNS, _search_values(account_of(r["site_url"]), *(r[c] for c in SEARCH_FIELDS)),
                    strict=True))

# a read of a property's days replaces them whole: a day still settling ends equal to Search Console's final numbers,
# and a row it no longer reports goes
SEARCH_CONSOLE_ROWS = RawStream("search_console", "rows", table_of(SearchConsoleRow), _search_row,
                                lambda r: f"{r['report']}|{r['date']}|{r['page']}|{r['query']}", day_of("date"),
                                Cover("date", "report", ("report", "date", "row_key"), SEARCH_FIELDS, _search_values,
                                      account="site_url", scopes=SEARCH_REPORTS))

assert tuple(c.name for c in SEARCH_CONSOLE_ROWS.table.columns) == SEARCH_COLUMNS  # the bulk shape's order
