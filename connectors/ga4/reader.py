"""Read one day of every planned report: batched, paged, retried, with quota and response metadata."""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any

from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.analytics.data_v1beta.types import BatchRunReportsRequest, RunReportResponse

from connectors.errors import DEFAULT_POLICY, PermanentError, Rejected, RetryPolicy, with_retries
from connectors.ga4.client import classify
from connectors.ga4.records import Ga4ReportRow
from connectors.ga4.reports import ReportPlan
from connectors.ga4.settings import (
    DEFAULT_PAGE_SIZE,
    DIMENSIONS,
    INTEGER_METRICS,
    MAX_ITEM_LENGTH,
    MAX_PAGE_SIZE,
    METRICS,
    REQUEST_TIMEOUT,
)

API_TO_FIELD = {v: k for k, v in METRICS.items()}


@dataclass(frozen=True)
class ReportMeta:
    """What GA4 said about one report of one day: its size and whether its numbers are whole."""

    report: str
    date: dt.date
    row_count: int
    data_loss_from_other_row: bool
    subject_to_thresholding: bool
    sampled: bool
    samples_read: int
    sampling_space: int
    currency_code: str
    time_zone: str


@dataclass(frozen=True)
class Quota:
    """Tokens left of the property's daily and hourly budgets (None where GA4 did not say)."""

    day_consumed: int = 0
    day_remaining: int | None = None
    hour_consumed: int = 0
    hour_remaining: int | None = None

    def below(self, reserve: float, per_day: int, per_hour: int) -> bool:
        """True when the daily or hourly budget (`per_day`, `per_hour` tokens) has less than `reserve` left.

        GA4 reports what a request consumed and what is left, not the budget itself:
        standard properties get 200 000 tokens a day and 40 000 an hour, 360 properties ten times that.
        """
        return any(remaining is not None and remaining < reserve * budget
                   for remaining, budget in ((self.day_remaining, per_day), (self.hour_remaining, per_hour)))


@dataclass
class DayReport:
    """Everything read for one day."""

    day: dt.date
    rows: list[Ga4ReportRow] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    meta: list[ReportMeta] = field(default_factory=list)
    quota: Quota = field(default_factory=Quota)
    requests: int = 0


def read_day(client: BetaAnalyticsDataClient, property_id: str, day: dt.date, plans: Sequence[ReportPlan], *,
             page_size: int = DEFAULT_PAGE_SIZE, policy: RetryPolicy = DEFAULT_POLICY,
             sleep: Callable[[float], None] = time.sleep, timeout: float = REQUEST_TIMEOUT) -> DayReport:
    """All planned reports of one day: one batchRunReports call, then runReport for further pages.

    Raises:
        TransientError: retries ran out. PermanentError: fix the request or access.
        QuotaExhausted: GA4's daily quota is spent; resume on the next run.
    """
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise PermanentError(f"GA4 page size {page_size} is outside 1..{MAX_PAGE_SIZE}")
    if not 1 <= len(plans) <= 5:
        raise PermanentError(f"GA4 batches hold 1 to 5 reports, not {len(plans)}")
    out = DayReport(day)

    def call(fn: Callable[[], Any]) -> Any:
        out.requests += 1
        return with_retries(fn, lambda exc: classify(exc, property_id), policy=policy, sleep=sleep)

    batch = BatchRunReportsRequest(property=f"properties/{property_id}",
                                   requests=[p.request(property_id, day, limit=page_size) for p in plans])
    first = call(lambda: client.batch_run_reports(request=batch, timeout=timeout)).reports
    for plan, response in zip(plans, first, strict=True):
        total = int(response.row_count)
        seen = _take(out, plan, property_id, response)
        while seen < total:
            request = plan.request(property_id, day, limit=page_size, offset=seen)
            page = call(partial(client.run_report, request=request, timeout=timeout))
            got = _take(out, plan, property_id, page)
            if got == 0:  # an empty page before rowCount would loop forever: stop loudly
                raise PermanentError(f"GA4 returned no rows at offset {seen} of {total} for the {plan.report} "
                                     f"report of {day}; the report changed while paging, run again")
            seen += got
        out.meta.append(_meta(plan.report, day, total, response))
    return out


def _take(out: DayReport, plan: ReportPlan, property_id: str, response: RunReportResponse) -> int:
    """Parse a response's rows into `out`; returns how many rows it had."""
    pb = RunReportResponse.pb(response)
    quota = pb.property_quota
    if pb.HasField("property_quota"):
        out.quota = Quota(quota.tokens_per_day.consumed, quota.tokens_per_day.remaining,
                          quota.tokens_per_hour.consumed, quota.tokens_per_hour.remaining)
    dims = [h.name for h in pb.dimension_headers]
    metrics = [API_TO_FIELD.get(h.name, h.name) for h in pb.metric_headers]
    fields = ["date", "item", *plan.dimensions]
    if len(dims) != len(fields):
        raise PermanentError(f"GA4 answered the {plan.report} report with dimensions {dims}, "
                             f"not the {len(fields)} asked for")
    for row in pb.rows:
        values = [v.value for v in row.dimension_values]
        numbers = [v.value for v in row.metric_values]
        try:
            out.rows.append(_row(plan.report, property_id, dict(zip(fields, values, strict=True)),
                                 dict(zip(metrics, numbers, strict=True))))
        except ValueError as exc:
            raw = {**dict(zip(dims, values, strict=True)),
                   **dict(zip([h.name for h in pb.metric_headers], numbers, strict=True))}
            key = f"{plan.report}|{values[0]}|{values[1][:120]}"
            out.rejected.append(Rejected(key, str(exc), {"report": plan.report, "row": raw}))
    return len(pb.rows)


def _row(report: str, property_id: str, dims: dict[str, str], numbers: dict[str, str]) -> Ga4ReportRow:
    item = dims["item"]
    if len(item) > MAX_ITEM_LENGTH:
        raise ValueError(f"{report} item is {len(item)} characters long (over {MAX_ITEM_LENGTH})")
    try:
        item.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{report} item is not valid Unicode: {exc.reason}") from None
    day = _date(dims["date"])
    parsed = {name: _number(name, numbers.get(name)) for name in METRICS}
    return Ga4ReportRow(
        property_id=property_id, report=report, date=day, item=item,
        **{d: dims.get(d, "") for d in DIMENSIONS},
        sessions=int(parsed["sessions"]), screen_page_views=int(parsed["screen_page_views"]),
        event_count=int(parsed["event_count"]), key_events=parsed["key_events"],
        purchase_revenue=parsed["purchase_revenue"],
    )


@lru_cache(maxsize=4096)
def _date(text: str) -> dt.date:
    """GA4's YYYYMMDD date (every row of a day repeats it: parse it once)."""
    return dt.datetime.strptime(text, "%Y%m%d").date()


def _number(name: str, text: str | None) -> float:
    """A metric value GA4 sent as text; metrics not asked for are 0."""
    if text is None:
        return 0.0
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"metric {METRICS[name]} is {text!r}, not a number") from None
    if math.isnan(value) or math.isinf(value) or value < 0:
        raise ValueError(f"metric {METRICS[name]} is {text!r}, not a count ≥ 0")
    if METRICS[name] in INTEGER_METRICS and value != int(value):
        raise ValueError(f"metric {METRICS[name]} is {text!r}, not a whole number")
    return value


def _meta(report: str, day: dt.date, total: int, response: RunReportResponse) -> ReportMeta:
    meta = RunReportResponse.pb(response).metadata
    samples = list(meta.sampling_metadatas)
    return ReportMeta(report, day, total, meta.data_loss_from_other_row, meta.subject_to_thresholding,
                      bool(samples), sum(s.samples_read_count for s in samples),
                      sum(s.sampling_space_size for s in samples), meta.currency_code, meta.time_zone)
