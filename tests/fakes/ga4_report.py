"""Answering a RunReportRequest from day frames: filter, group-by, sort, page and format as GA4 does."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from connectors.ga4.records import REPORTS
from tests.fakes.ga4_data import ANY_ITEM, DayCache, normalize
from tests.fakes.ga4_request import ReportRequest, filter_mask
from tests.fakes.ga4_schema import DIMENSIONS, MEAN_METRICS, METRIC_TYPE_NUMBERS, METRICS, NOT_SET
from tests.fakes.ga4_state import DEFAULT_SAMPLING, FakeState, RepeatRow

if TYPE_CHECKING:
    from tests.fakes.clock import FakeClock

ITEM_DIMENSIONS = tuple(REPORTS.values())  # landingPage, pagePath, eventName
_AGG_LABELS = {"TOTAL": ("totals", "RESERVED_TOTAL", "sum"), "MAXIMUM": ("maximums", "RESERVED_MAX", "max"),
               "MINIMUM": ("minimums", "RESERVED_MIN", "min")}


def select_item(dimensions: tuple[str, ...], keys: list[str]) -> str:
    """The report a request reads: the first requested item dimension, else the source's first frame."""
    for name in dimensions:
        if name in keys or name in ITEM_DIMENSIONS:
            return name
    return keys[0] if keys and keys[0] != ANY_ITEM else ITEM_DIMENSIONS[0]


def format_metric(values: np.ndarray, name: str) -> list[str]:
    """Metric values as GA4 writes them: integers without a decimal point, other numbers shortest-repr."""
    if METRICS[name][1] == "TYPE_INTEGER":
        return np.rint(values).astype(np.int64).astype(str).tolist()
    floats = values.astype(np.float64)
    integral = np.isfinite(floats) & (floats == np.floor(floats))
    whole = np.where(integral, floats, 0).astype(np.int64).astype(str)
    return np.where(integral, whole, floats.astype(str)).tolist()


@dataclass(slots=True)
class Table:
    """The full, sorted answer to one request shape; pages are cut from it."""

    dimensions: list[str]
    metrics: list[str]
    frame: pd.DataFrame  # dimension columns, then metric columns (numbers, or text once raw rows are merged)
    aggregates: dict[str, list[dict[str, Any]]]

    def rows_json(self, offset: int, limit: int) -> RawJson | None:
        """The page's `rows` array as JSON text (string-built: dicts + json.dumps cost 4x more at 250k rows)."""
        page = self.frame.iloc[offset:offset + limit]
        if not len(page):
            return None
        dims = [_escaped(page[d]) for d in self.dimensions]
        mets = [_escaped(page[m]) if page[m].dtype == object else
                [f'"{v}"' for v in format_metric(page[m].to_numpy(), m)] for m in self.metrics]
        dim_part = ['"dimensionValues":[{"value":' + '},{"value":'.join(t) + "}]" for t in zip(*dims, strict=True)]
        met_part = ['"metricValues":[{"value":' + '},{"value":'.join(t) + "}]" for t in zip(*mets, strict=True)]
        if dims and mets:
            rows = ["{" + d + "," + m + "}" for d, m in zip(dim_part, met_part, strict=True)]
        else:
            rows = ["{" + part + "}" for part in (dim_part or met_part)]
        return RawJson("[" + ",".join(rows) + "]")


class RawJson(str):
    """Already-encoded JSON, spliced in as is by `dumps`."""


def dumps(value: Any) -> str:
    """json.dumps (UTF-8 text, compact) that splices RawJson fragments in unchanged."""
    if isinstance(value, RawJson):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _escaped(column: pd.Series) -> list[str]:
    """Each value as a JSON string literal; a categorical's values are escaped once per distinct value."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        used, inverse = np.unique(column.cat.codes.to_numpy(), return_inverse=True)
        cats = column.cat.categories
        text = np.array([json.dumps(str(cats[c]) if c >= 0 else NOT_SET, ensure_ascii=False) for c in used.tolist()],
                        dtype=object)
        return list(text[inverse])
    return [json.dumps(str(v), ensure_ascii=False) for v in column.tolist()]


class ReportEngine:
    """Builds RunReportResponses; whole results are cached per request shape so paging stays cheap."""

    def __init__(self, days: DayCache, state: FakeState, today: date, currency: str, time_zone: str,
                 clock: FakeClock | None = None) -> None:
        self.days, self.state, self.clock = days, state, clock
        self.currency, self.time_zone = currency, time_zone
        self._fixed_today = today
        self._lock = threading.Lock()
        self._tables: OrderedDict[tuple[object, ...], Table] = OrderedDict()

    @property
    def today(self) -> date:
        """The clock's day in the property's time zone when there is a clock (read afresh for each request: GA4's
        days, "today" and "yesterday" are the property's), else the fixed one."""
        if self.clock is None:
            return self._fixed_today
        return self.clock.now().astimezone(ZoneInfo(self.time_zone)).date()

    def run(self, req: ReportRequest, enum_ints: bool, today: date | None = None) -> dict[str, Any]:
        """The RunReportResponse JSON (without propertyQuota, which the caller adds once charged).

        `today` is the day the request's relative dates were resolved against (defaults to `self.today`).
        """
        table = self._table(req, today or self.today)
        body: dict[str, Any] = {}
        if table.dimensions:
            body["dimensionHeaders"] = [{"name": d} for d in table.dimensions]
        if req.metrics:
            body["metricHeaders"] = [{"name": m, "type": METRIC_TYPE_NUMBERS[METRICS[m][1]] if enum_ints
                                      else METRICS[m][1]} for m in req.metrics]
        rows = table.rows_json(req.offset, req.limit)
        if rows is not None:  # proto3 JSON leaves out empty lists and zero numbers, and so does GA4
            body["rows"] = rows
        for agg in req.aggregations:
            if agg in _AGG_LABELS and table.aggregates.get(agg):
                body[_AGG_LABELS[agg][0]] = table.aggregates[agg]
        if len(table.frame):
            body["rowCount"] = len(table.frame)
        body["metadata"] = self._metadata(req)
        body["kind"] = "analyticsData#runReport"
        return body

    def _metadata(self, req: ReportRequest) -> dict[str, Any]:
        flags = self.state.flags_for(req.days)
        meta: dict[str, Any] = {"currencyCode": self.currency, "timeZone": self.time_zone}
        if flags.data_loss_from_other_row:
            meta["dataLossFromOtherRow"] = True
        if flags.subject_to_thresholding:
            meta["subjectToThresholding"] = True
        if flags.sampled:
            read, space = flags.sampled if isinstance(flags.sampled, tuple) else DEFAULT_SAMPLING
            meta["samplingMetadatas"] = [{"samplesReadCount": str(read), "samplingSpaceSize": str(space)}
                                         for _ in req.date_ranges]  # int64 → JSON string
        return meta

    def _table(self, req: ReportRequest, today: date) -> Table:
        # Settling, empty days and the future all depend on today: a moved clock must not reuse a table.
        key = (*req.result_key, self.state.version, today)
        with self._lock:
            if key in self._tables:
                self._tables.move_to_end(key)
                return self._tables[key]
        table = self._build(req, today)
        with self._lock:
            self._tables[key] = table
            while len(self._tables) > 4:
                self._tables.popitem(last=False)
        return table

    def _hidden(self, day: date, today: date) -> bool:
        """Whether GA4 has no rows for `day` yet: the future (only known with a clock), or a day still empty."""
        return (self.clock is not None and day > today) or self.state.is_empty(day, today)

    def _day_frame(self, day: date, item: str, range_name: str | None, expr: dict[str, Any] | None,
                   today: date) -> pd.DataFrame:
        frames = self.days.get(day)
        frame = frames.get(item, frames.get(ANY_ITEM, next(iter(frames.values()))))
        if self._hidden(day, today):
            frame = frame.iloc[:0]  # keep the columns, so that the day still rolls up like any other
        factor = self.state.factor(day, today)
        frame = frame.copy(deep=False)  # new columns below must not reach the cached frame
        frame["date"] = pd.Categorical.from_codes(np.zeros(len(frame), np.int8), [f"{day:%Y%m%d}"])
        if factor != 1.0:
            for m in (c for c in frame.columns if c in METRICS):
                scaled = frame[m].to_numpy() * factor
                frame[m] = np.rint(scaled).astype(np.int64) if frame[m].dtype.kind in "iu" else scaled
        if range_name is not None:
            frame["dateRange"] = pd.Categorical.from_codes(np.zeros(len(frame), np.int8), [range_name])
        return frame[filter_mask(expr, frame)] if expr else frame

    def _build(self, req: ReportRequest, today: date) -> Table:
        expr = json.loads(req.dimension_filter) if req.dimension_filter else None
        multi = len(req.date_ranges) > 1
        item = select_item(req.dimensions, list(self.days.get(req.date_ranges[0][0]).keys()))
        dims = [*req.dimensions, *(["dateRange"] if multi else [])]
        parts, raw_rows = [], []
        for day, name in _range_days(req):
            parts.append(self._day_frame(day, item, name if multi else None, expr, today))
            if not self._hidden(day, today):
                raw_rows += [(day, name, row) for row in self.state.injected(day, item)]
        parts = [part for part in parts if len(part)] or parts[:1]  # an empty day adds nothing but dtype noise
        raw = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
        agg = aggregate(raw, dims, list(req.metrics))
        if not req.keep_empty_rows and req.metrics and len(agg):
            agg = agg[(agg[list(req.metrics)] != 0).any(axis=1).to_numpy()]
        aggregates = {a: self._aggregates(agg, dims, list(req.metrics), a) for a in req.aggregations
                      if a in _AGG_LABELS and req.metrics}
        if raw_rows:
            agg = merge_raw_rows(agg, dims, list(req.metrics), raw_rows, expr)
        agg = self._with_repeats(agg.reset_index(drop=True), dims, list(req.metrics), item, req.days, today)
        return Table(dims, list(req.metrics), agg.reset_index(drop=True), aggregates)

    def _with_repeats(self, agg: pd.DataFrame, dims: list[str], metrics: list[str], item: str, days: list[date],
                      today: date) -> pd.DataFrame:
        """The result with each repeated row's copy appended, after every other row (so on the last page)."""
        copies = [copy for day in days if not self._hidden(day, today)
                  for repeat in self.state.repeats(day, item)
                  if (copy := repeated_row(agg, dims, metrics, day, repeat)) is not None]
        return pd.concat([agg, *copies], ignore_index=True) if copies else agg

    @staticmethod
    def _aggregates(agg: pd.DataFrame, dims: list[str], metrics: list[str], kind: str) -> list[dict[str, Any]]:
        if not len(agg):
            return []
        _, label, how = _AGG_LABELS[kind]
        values = agg[metrics].agg(how)
        return [{"dimensionValues": [{"value": label} for _ in dims],
                 "metricValues": [{"value": format_metric(np.array([values[m]]), m)[0]} for m in metrics]}]


def _range_days(req: ReportRequest) -> Iterator[tuple[date, str]]:
    """Every (day, date-range name) the request reads, range by range."""
    for start, end, name in req.date_ranges:
        for i in range((end - start).days + 1):
            yield start + timedelta(days=i), name


def repeated_row(agg: pd.DataFrame, dims: list[str], metrics: list[str], day: date, repeat: RepeatRow,
                 ) -> pd.DataFrame | None:
    """The copy of `day`'s row at `repeat.index` (rows of any day if `date` is not a dimension); None if too few."""
    if "date" in dims:
        mine = np.flatnonzero(agg["date"].astype(str).to_numpy() == f"{day:%Y%m%d}")
    else:  # without a date column the day's rows cannot be told apart from the others'
        mine = np.arange(len(agg))
    if repeat.index >= len(mine):
        return None
    copy = agg.iloc[[int(mine[repeat.index])]].copy()
    if repeat.conflicting:  # processing moved on between the two reads: same dimensions, newer counts
        for m in (m for m in metrics if METRICS[m][1] == "TYPE_INTEGER"):
            copy[m] = _plus_one(copy[m])
    return copy


def _plus_one(column: pd.Series) -> pd.Series:
    """Integer metric values plus one, whether numbers or (once raw rows are merged) text."""
    if column.dtype.kind in "iuf":
        return column + 1
    numbers = pd.to_numeric(column, errors="coerce")
    return column.where(numbers.isna(), (numbers.fillna(0) + 1).astype(np.int64).astype(str))


def aggregate(raw: pd.DataFrame, dims: list[str], metrics: list[str]) -> pd.DataFrame:
    """Roll `raw` up to exactly `dims` (sorted by their values); missing dimensions read "(not set)", metrics 0."""
    n = len(raw)
    cols: dict[str, Any] = {}
    for d in dims:
        cols[d] = raw[d] if d in raw.columns else pd.Categorical.from_codes(np.zeros(n, np.int8), [NOT_SET])
    for m in metrics:
        cols[m] = raw[m].to_numpy() if m in raw.columns else np.zeros(n, np.int64)
    frame = normalize(pd.DataFrame(cols, index=raw.index))
    how = {m: ("mean" if m in MEAN_METRICS else "sum") for m in metrics}
    if not dims:
        return frame.agg(how).to_frame().T if n and metrics else frame.iloc[:0]
    grouped = frame.groupby(dims, sort=True, observed=True)
    if not metrics:
        out = grouped.size().to_frame("_n")[[]]
    else:  # one cython pass over all columns unless a ratio needs its mean
        out = grouped[metrics].sum() if MEAN_METRICS.isdisjoint(metrics) else grouped.agg(how)
    return out.reset_index()


def merge_raw_rows(agg: pd.DataFrame, dims: list[str], metrics: list[str],
                   raw_rows: list[tuple[date, str, dict[str, str]]], expr: dict[str, Any] | None) -> pd.DataFrame:
    """Add injected rows verbatim (text metrics, not aggregated), then re-sort everything by dimension values."""
    def value(day: date, name: str, row: dict[str, str], d: str) -> str:
        defaults = {"date": f"{day:%Y%m%d}", "dateRange": name}
        return row.get(d, defaults.get(d, NOT_SET))

    named = {*dims, "date", *(k for _, _, row in raw_rows for k in row if k in DIMENSIONS)}
    extra = pd.DataFrame([{**{d: value(day, name, row, d) for d in sorted(named)},
                           **{m: row.get(m, "0") for m in metrics}} for day, name, row in raw_rows])
    if expr:
        extra = extra[filter_mask(expr, extra)]
    text = pd.DataFrame({**{d: agg[d].astype(str) for d in dims},
                         **{m: format_metric(agg[m].to_numpy(), m) for m in metrics}})
    merged = pd.concat([text, extra[[*dims, *metrics]]], ignore_index=True).astype(object)
    return merged.sort_values(dims, kind="stable") if dims else merged
