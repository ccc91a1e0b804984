"""Report plans: exactly the dimensions and metrics the map needs, validated against the property."""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.analytics.data_v1beta.types import DateRange, Dimension, GetMetadataRequest, Metric, RunReportRequest

from connectors.errors import DEFAULT_POLICY, PermanentError, RetryPolicy, with_retries
from connectors.ga4.client import classify
from connectors.ga4.settings import DIMENSIONS, METRICS, REPORT_ITEMS, REQUEST_TIMEOUT

BASE_METRIC = {"traffic": "sessions", "pages": "screen_page_views", "events": "event_count"}


@dataclass(frozen=True)
class ReportPlan:
    """One GA4 report: its item dimension, the segment/rule dimensions and the metrics it asks for.

    Dimensions and metrics are record field names (see settings.DIMENSIONS / METRICS).
    """

    report: str
    dimensions: tuple[str, ...]
    metrics: tuple[str, ...]

    @property
    def api_dimensions(self) -> list[str]:
        return ["date", REPORT_ITEMS[self.report], *(DIMENSIONS[d] for d in self.dimensions)]

    @property
    def api_metrics(self) -> list[str]:
        return [METRICS[m] for m in self.metrics]

    def request(self, property_id: str, day: dt.date, *, limit: int, offset: int = 0) -> RunReportRequest:
        """The runReport request for one day and one page."""
        return RunReportRequest(
            property=f"properties/{property_id}",
            date_ranges=[DateRange(start_date=day.isoformat(), end_date=day.isoformat())],
            dimensions=[Dimension(name=n) for n in self.api_dimensions],
            metrics=[Metric(name=n) for n in self.api_metrics],
            limit=limit, offset=offset, return_property_quota=True, keep_empty_rows=False,
        )


def plan_reports(metrics: Mapping[str, Iterable[str]], dimensions: Mapping[str, Iterable[str]]) -> list[ReportPlan]:
    """Plans for the reports the map reads.

    Args:
        metrics: report → metric fields its touchpoints use (the report's base volume is always added,
            so unmapped volume can be measured).
        dimensions: report → dimension fields its rules, segments and personas use.
    """
    plans = []
    for report in REPORT_ITEMS:
        if report not in metrics:
            continue
        wanted = {BASE_METRIC[report], *metrics[report]}
        plans.append(ReportPlan(report, tuple(d for d in DIMENSIONS if d in set(dimensions.get(report, ()))),
                                tuple(m for m in METRICS if m in wanted)))
    return plans


def plan_fingerprint(plans: Iterable[ReportPlan]) -> str:
    """Changes when the map needs other dimensions or metrics, so stored days are fetched again."""
    text = ";".join(f"{p.report}:{','.join(p.api_dimensions)}:{','.join(p.api_metrics)}" for p in plans)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def check_names(client: BetaAnalyticsDataClient, property_id: str, plans: Iterable[ReportPlan], *,
                policy: RetryPolicy = DEFAULT_POLICY, sleep: Callable[[float], None] = time.sleep) -> None:
    """Fail early, naming the closest valid names, when the property lacks a dimension or metric."""
    request = GetMetadataRequest(name=f"properties/{property_id}/metadata")
    metadata = with_retries(lambda: client.get_metadata(request=request, timeout=REQUEST_TIMEOUT),
                            lambda exc: classify(exc, property_id), policy=policy, sleep=sleep)
    known_dims = {d.api_name for d in metadata.dimensions}
    known_metrics = {m.api_name for m in metadata.metrics}
    problems = []
    for plan in plans:
        for kind, names, known in (("dimension", plan.api_dimensions, known_dims),
                                   ("metric", plan.api_metrics, known_metrics)):
            for name in names:
                if name not in known:
                    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.5)
                    hint = f"; closest: {', '.join(close)}" if close else ""
                    problems.append(f"GA4 property {property_id} has no {kind} '{name}' ({plan.report} "
                                    f"report){hint}")
    if problems:
        raise PermanentError("; ".join(problems))
