"""Parsing and validating a RunReportRequest (proto3 JSON), and evaluating its dimensionFilter on a frame."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from tests.fakes.ga4_schema import (
    AGGREGATIONS,
    DEFAULT_LIMIT,
    DIMENSIONS,
    MATCH_TYPES,
    MAX_DATE_RANGES,
    MAX_DIMENSIONS,
    MAX_LIMIT,
    MAX_METRICS,
    METRICS,
    NOT_SET,
    SCHEMA_URL,
)

_UNSUPPORTED = ("metricFilter", "cohortSpec", "comparisons", "pivots")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DAYS_AGO = re.compile(r"(\d+)daysAgo")


class ApiError(Exception):
    """An error answer: HTTP status, google.rpc.Status message, extra headers and details."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None,
                 details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status, self.message = status, message
        self.headers = headers or {}
        self.details = details or []


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """A validated RunReportRequest; `result_key` is what the rows depend on (not paging, not quota)."""

    dimensions: tuple[str, ...]
    metrics: tuple[str, ...]
    date_ranges: tuple[tuple[date, date, str], ...]
    limit: int
    offset: int
    keep_empty_rows: bool
    return_property_quota: bool
    dimension_filter: str  # canonical JSON, "" when absent
    aggregations: tuple[str, ...]

    @property
    def result_key(self) -> tuple[object, ...]:
        return (self.dimensions, self.metrics, self.date_ranges, self.keep_empty_rows, self.dimension_filter)

    @property
    def days(self) -> list[date]:
        return sorted({start + timedelta(days=i) for start, end, _ in self.date_ranges
                       for i in range((end - start).days + 1)})


def _int(body: dict[str, Any], name: str) -> int:
    # int64 fields arrive as JSON strings from the SDK ("limit": "100000"), int32 as numbers.
    value = body.get(name, 0)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Invalid value at '{name}' (TYPE_INT64), \"{value}\"") from None


def parse_date(text: str, today: date) -> date:
    """A GA4 date: YYYY-MM-DD, NdaysAgo, yesterday or today."""
    relative = {"today": 0, "yesterday": 1}
    if (ago := _DAYS_AGO.fullmatch(text)) is not None:
        relative[text] = int(ago[1])
    if text in relative:
        return today - timedelta(days=relative[text])
    try:
        if _DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise ApiError(400, f"Invalid date: {text}. Date must be in the format YYYY-MM-DD, NdaysAgo, yesterday, "
                        "or today.")


def _names(body: dict[str, Any], field: str, known: dict[str, Any], kind: str, most: int) -> tuple[str, ...]:
    names = tuple(str(item.get("name", "")) for item in body.get(field, []))
    for name in names:
        if name not in known:
            raise ApiError(400, f"Field {name} is not a valid {kind}. For a list of valid dimensions and metrics, "
                                f"see {SCHEMA_URL} ")
    if len(set(names)) < len(names):
        raise ApiError(400, f"Duplicate {kind} names are not allowed: {', '.join(names)}.")
    if len(names) > most:
        raise ApiError(400, f"Requests are limited to {most} {kind}s; this one has {len(names)}.")
    return names


def _date_ranges(body: dict[str, Any], today: date) -> tuple[tuple[date, date, str], ...]:
    raw = body.get("dateRanges", [])
    if not raw:
        raise ApiError(400, "Must specify at least one date range (dateRanges) for a non-cohort request.")
    if len(raw) > MAX_DATE_RANGES:
        raise ApiError(400, f"Requests are limited to {MAX_DATE_RANGES} date ranges; this one has {len(raw)}.")
    ranges = []
    for i, item in enumerate(raw):
        start = parse_date(str(item.get("startDate", "")), today)
        end = parse_date(str(item.get("endDate", "")), today)
        if start > end:
            raise ApiError(400, f"Invalid date range: startDate {start} is after endDate {end}.")
        ranges.append((start, end, str(item.get("name") or f"date_range_{i}")))
    return tuple(ranges)


def parse_report_request(body: object, today: date) -> ReportRequest:
    """Validate a RunReportRequest as GA4 does; ApiError(400) names the offending field."""
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid JSON payload received. Expected an object.")
    for field in _UNSUPPORTED:
        if body.get(field):
            raise ApiError(400, f"The fake GA4 server does not implement {field}.")
    dims = _names(body, "dimensions", DIMENSIONS, "dimension", MAX_DIMENSIONS)
    metrics = _names(body, "metrics", METRICS, "metric", MAX_METRICS)
    if not dims and not metrics:
        raise ApiError(400, "A report must request at least one dimension or metric.")
    limit, offset = _int(body, "limit"), _int(body, "offset")
    if limit < 0 or offset < 0:
        raise ApiError(400, f"limit ({limit}) and offset ({offset}) must not be negative.")
    aggs = tuple(AGGREGATIONS.get(a, "") if isinstance(a, int) else str(a) for a in body.get("metricAggregations", []))
    dim_filter = body.get("dimensionFilter")
    if dim_filter:
        check_filter(dim_filter)
    return ReportRequest(dims, metrics, _date_ranges(body, today), min(limit or DEFAULT_LIMIT, MAX_LIMIT), offset,
                         bool(body.get("keepEmptyRows", False)), bool(body.get("returnPropertyQuota", False)),
                         json.dumps(dim_filter, sort_keys=True) if dim_filter else "", aggs)


def check_filter(expr: dict[str, Any]) -> None:
    """Reject filter expressions the fake cannot evaluate, or that name unknown dimensions."""
    for group in ("andGroup", "orGroup"):
        if group in expr:
            for sub in expr[group].get("expressions", []):
                check_filter(sub)
            return
    if "notExpression" in expr:
        check_filter(expr["notExpression"])
        return
    flt = expr.get("filter", {})
    name = flt.get("fieldName", "")
    if name not in DIMENSIONS:
        raise ApiError(400, f"Field {name} is not a valid dimension. For a list of valid dimensions and metrics, "
                            f"see {SCHEMA_URL} ")
    if not {"stringFilter", "inListFilter", "emptyFilter"} & flt.keys():
        raise ApiError(400, f"The fake GA4 server only implements string, inList and empty dimension filters: "
                            f"{json.dumps(flt)}")


def _matches(values: pd.Index, flt: dict[str, Any]) -> np.ndarray:
    """Which text values pass one filter (GA4 string matching is case-insensitive unless told otherwise)."""
    if "emptyFilter" in flt:
        return np.asarray(values == "")
    spec = flt.get("stringFilter") or flt.get("inListFilter") or {}
    case = bool(spec.get("caseSensitive", False))
    text = values if case else values.str.lower()
    if "inListFilter" in flt:
        wanted = [str(v) if case else str(v).lower() for v in spec.get("values", [])]
        return np.asarray(text.isin(wanted))
    raw_kind = spec.get("matchType", "EXACT")
    kind = MATCH_TYPES.get(raw_kind, "EXACT") if isinstance(raw_kind, int) else str(raw_kind)
    value = str(spec.get("value", ""))
    needle = value if case else value.lower()
    if kind in ("FULL_REGEXP", "PARTIAL_REGEXP"):
        flags = 0 if case else re.IGNORECASE
        found = values.str.fullmatch(value, flags=flags) if kind == "FULL_REGEXP" else values.str.contains(
            value, flags=flags, regex=True)
        return np.asarray(found, dtype=bool)
    ops = {"BEGINS_WITH": text.str.startswith, "ENDS_WITH": text.str.endswith,
           "CONTAINS": lambda v: text.str.contains(v, regex=False)}
    return np.asarray(ops[kind](needle) if kind in ops else text == needle, dtype=bool)


def filter_mask(expr: dict[str, Any], frame: pd.DataFrame) -> np.ndarray:
    """Rows of `frame` that pass a (checked) FilterExpression; a missing column reads as "(not set)"."""
    n = len(frame)
    if "andGroup" in expr or "orGroup" in expr:
        is_and = "andGroup" in expr
        masks = [filter_mask(e, frame) for e in expr["andGroup" if is_and else "orGroup"].get("expressions", [])]
        if not masks:
            return np.full(n, is_and)
        return np.logical_and.reduce(masks) if is_and else np.logical_or.reduce(masks)
    if "notExpression" in expr:
        return ~filter_mask(expr["notExpression"], frame)
    flt = expr["filter"]
    name = flt["fieldName"]
    if name not in frame.columns:
        return np.full(n, bool(_matches(pd.Index([NOT_SET]), flt)[0]))
    column = frame[name]
    if isinstance(column.dtype, pd.CategoricalDtype):
        passed = _matches(pd.Index(column.cat.categories.astype(str)), flt)
        codes = column.cat.codes.to_numpy()
        return np.where(codes >= 0, passed[np.maximum(codes, 0)], False)
    return _matches(pd.Index(column.astype(str)), flt)
