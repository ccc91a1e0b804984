"""Read one day of a Search Analytics report page by page: retried, paged by startRow, partial days flagged."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, cast

from googleapiclient.discovery import Resource

from connectors.errors import (
    DEFAULT_POLICY,
    PermanentError,
    Rejected,
    RetryBudget,
    RetryPolicy,
    TransientError,
    with_retries,
)
from connectors.paging import Page, paginate
from connectors.search_console.client import classify
from connectors.search_console.records import SearchRow
from connectors.search_console.settings import DATA_STATE, REPORTS, ROW_LIMIT, SEARCH_TYPE

OnRetry = Callable[[int, TransientError, float], None] | None
METRICS = ("clicks", "impressions", "ctr", "position")
UNREADABLE = dt.date.min  # a firstIncompleteDate that cannot be parsed: no row of the page is taken as final


def read_day(service: Resource, site_url: str, day: dt.date, report: str, *, row_limit: int = ROW_LIMIT,
             policy: RetryPolicy = DEFAULT_POLICY, budget: RetryBudget | None = None,
             sleep: Callable[[float], None] = time.sleep,
             on_retry: OnRetry = None) -> Iterator[list[SearchRow | Rejected]]:
    """One day of one report (a key of settings.REPORTS) of a property, a page of up to `row_limit` rows at a time,
    most clicked first.

    Rows on or after the response's `metadata.firstIncompleteDate` are still being counted and come with
    `final=False`. A row that cannot be read comes as `Rejected`, for the quarantine; the day goes on.

    Args:
        service: a client from `make_client`.
        site_url: the property, "https://www.example.com/" or "sc-domain:example.com".
        budget: seconds of retry waiting shared with the source's other reads (else the policy's own).

    Raises:
        TransientError: retries ran out. AccessDenied: the service account is not a user of the property.
        PermanentError: fix the request or the credentials. PagingLoop: the server ignored startRow.
    """
    if report not in REPORTS:
        raise PermanentError(f"Search Console has no report {report!r} here; use one of {', '.join(REPORTS)}")
    if not 1 <= row_limit <= ROW_LIMIT:
        raise PermanentError(f"Search Console row limit {row_limit} is outside 1..{ROW_LIMIT}")
    if budget is not None:
        policy = dataclasses.replace(policy, budget=budget)
    dimensions = REPORTS[report]

    def fetch(start: int | None) -> Page[tuple[Any, dt.date | None], int]:
        body = {"startDate": day.isoformat(), "endDate": day.isoformat(), "dimensions": list(dimensions),
                "type": SEARCH_TYPE, "dataState": DATA_STATE, "rowLimit": row_limit, "startRow": start or 0}
        answer = with_retries(partial(_query, service, site_url, body), partial(classify, site_url=site_url),
                              policy=policy, sleep=sleep, on_retry=on_retry)
        rows = _rows(answer, site_url, report, day)
        incomplete = _first_incomplete(answer) if rows else None
        # a short page is the last; a server that ignores startRow is caught by the paginator's loop guard
        return Page([(raw, incomplete) for raw in rows], (start or 0) + len(rows) if len(rows) == row_limit else None)

    for page in paginate(fetch, what=f"Search Console {site_url} {report} report of {day}",
                         identity=lambda item: repr(item[0])):
        yield [_readable(site_url, report, day, raw, incomplete) for raw, incomplete in page]


def _query(service: Resource, site_url: str, body: dict[str, Any]) -> dict[str, Any]:
    """One searchAnalytics.query request (built anew for every try)."""
    return cast(dict[str, Any], service.searchanalytics().query(siteUrl=site_url, body=body).execute())


def _rows(answer: Any, site_url: str, report: str, day: dt.date) -> list[Any]:
    """The response's rows; Search Console leaves `rows` out when there are none."""
    rows = answer.get("rows", []) if isinstance(answer, dict) else None
    if not isinstance(rows, list):
        raise PermanentError(f"Search Console property {site_url} answered the {report} report of {day} with "
                             f"{type(rows).__name__} rows, not a list")
    return rows


def _first_incomplete(answer: dict[str, Any]) -> dt.date | None:
    """The first day Search Console is still counting (None: every day asked for is final)."""
    metadata = answer.get("metadata")
    text = metadata.get("firstIncompleteDate") if isinstance(metadata, dict) else None
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError:
        return UNREADABLE


def _readable(site_url: str, report: str, day: dt.date, raw: Any, incomplete: dt.date | None) -> SearchRow | Rejected:
    try:
        return _row(site_url, report, day, raw, incomplete)
    except ValueError as exc:
        keys = raw.get("keys") if isinstance(raw, dict) else None
        text = "|".join(map(str, keys)) if isinstance(keys, list) else repr(keys)
        return Rejected(f"{site_url}|{report}|{text}"[:300], str(exc),
                        {"site_url": site_url, "report": report, "date": day.isoformat(), "row": raw})


def _row(site_url: str, report: str, day: dt.date, raw: Any, incomplete: dt.date | None) -> SearchRow:
    if not isinstance(raw, dict):
        raise ValueError(f"row is {type(raw).__name__}, not an object")
    dimensions = REPORTS[report]
    keys = raw.get("keys")
    if not isinstance(keys, list) or len(keys) != len(dimensions) or not all(isinstance(k, str) for k in keys):
        raise ValueError(f"keys {keys!r} are not {len(dimensions)} strings ({', '.join(dimensions)})")
    values = dict(zip(dimensions, keys, strict=True))
    try:
        date = dt.date.fromisoformat(values["date"])
    except ValueError:
        raise ValueError(f"date {values['date']!r} is not YYYY-MM-DD") from None
    if date != day:
        raise ValueError(f"row is dated {date}, not {day} as asked")
    clicks, impressions = _count(raw, "clicks"), _count(raw, "impressions")
    ctr, position = _number(raw, "ctr"), _number(raw, "position")
    if impressions and position < 1:
        raise ValueError(f"position is {position!r}, not ≥ 1 (the top result is 1)")
    return SearchRow(site_url=site_url, report=report, date=date, page=values["page"],
                     query=values.get("query", ""), device=values.get("device", ""),
                     country=values.get("country", ""), clicks=clicks, impressions=impressions, ctr=ctr,
                     position=position, final=incomplete is None or date < incomplete)


def _number(raw: dict[str, Any], name: str) -> float:
    """A metric as the API sends it: a JSON number, finite and ≥ 0."""
    if name not in raw:
        raise ValueError(f"metric {name} is missing")
    value = raw[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"metric {name} is {value!r}, not a number")
    if math.isnan(value) or math.isinf(value) or value < 0:
        raise ValueError(f"metric {name} is {value!r}, not a number ≥ 0")
    return float(value)


def _count(raw: dict[str, Any], name: str) -> int:
    """Clicks and impressions: numbers in the API's schema (doubles), whole in fact."""
    value = _number(raw, name)
    if value != int(value):
        raise ValueError(f"metric {name} is {raw[name]!r}, not a whole number")
    return int(value)
