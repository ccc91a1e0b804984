"""GA4 sync: plan the reports from the map, fetch days in parallel, commit each day, resume after a stop."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from google.analytics.data_v1beta import BetaAnalyticsDataClient
from sqlalchemy import Engine

from connectors.errors import ConnectorError, QuotaExhausted, RetryPolicy
from connectors.ga4 import DayReport, ReportPlan, check_names, plan_fingerprint, plan_reports, read_day
from flows.sync import as_dict
from models.config import JourneyMap, SourceSettings
from models.landing import finished_days, mark_day, replace_ga4_day
from models.raw import GA4_ROWS
from models.rows import prepare
from models.store import get_cursor, quarantine, set_cursor, stream_of

RULE_DIMENSIONS = {"channel": "channel", "source": "source", "medium": "medium"}
GA4_METRIC_FIELDS = {"sessions": "sessions", "screenPageViews": "screen_page_views", "eventCount": "event_count",
                     "keyEvents": "key_events", "purchaseRevenue": "purchase_revenue"}


def plans_for(journey_map: JourneyMap) -> list[ReportPlan]:
    """The reports, dimensions and metrics the map's GA4 touchpoints, segments and personas need."""
    metrics: dict[str, set[str]] = {}
    dims: dict[str, set[str]] = {}
    segment_dims = set(journey_map.segments) | {d for p in journey_map.personas for d in p.where}
    for _, tp in journey_map.touchpoints():
        if tp.source != "ga4":
            continue
        report = stream_of("ga4", tp.match)
        used = metrics.setdefault(report, set())
        used.update(GA4_METRIC_FIELDS[m] for m in (tp.volume, tp.success) if m)
        used.add("event_count")  # the facts' events column
        dims.setdefault(report, set()).update(RULE_DIMENSIONS[k] for k in tp.match if k in RULE_DIMENSIONS)
    for report in metrics:
        dims[report] |= segment_dims
    return plan_reports(metrics, dims)


@dataclass
class Ga4Job:
    """Everything a GA4 sync needs, resolved from settings by the flow."""

    client: BetaAnalyticsDataClient
    property_id: str
    plans: list[ReportPlan]
    settings: SourceSettings
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    @property
    def plan_id(self) -> str:
        return plan_fingerprint(self.plans)


@dataclass
class Ga4Result:
    """What a GA4 sync did; `left` lists the days a quota stop left for the next run."""

    since: dt.date
    until: dt.date
    days: int = 0
    rows: int = 0
    quarantined: int = 0
    requests: int = 0
    left: list[dt.date] = field(default_factory=list)
    stopped: str = ""


def days_to_read(engine: Engine, job: Ga4Job, since: dt.date, until: dt.date, as_of: dt.date) -> list[dt.date]:
    """since..until less the days already committed with this plan; the lookback days are always read."""
    recent = as_of - dt.timedelta(days=job.settings.lookback_days - 1)
    with engine.connect() as conn:
        done = finished_days(conn, "ga4", job.property_id, since, until, job.plan_id)
    days = (since + dt.timedelta(days=i) for i in range((until - since).days + 1))
    return [d for d in days if d >= recent or d not in done]


def sync_days(engine: Engine, job: Ga4Job, days: list[dt.date], as_of: dt.date,
              on_day: Callable[[Ga4Result], None] | None = None) -> Ga4Result:
    """Fetch days with up to `concurrency` requests in flight; commit each finished day on its own.

    A quota stop (reserve reached, or GA4's daily quota spent) ends the sync cleanly: finished
    days stay committed and the rest are left for the next run. Other errors are raised after
    the days already fetched are committed.
    """
    log = logging.getLogger("journeymap.ga4")
    result = Ga4Result(min(days, default=as_of), max(days, default=as_of))
    if not days:
        return result
    check_names(job.client, job.property_id, job.plans, policy=job.policy)
    pending: Iterator[dt.date] = iter(days)
    error: ConnectorError | None = None
    with ThreadPoolExecutor(max_workers=job.settings.concurrency, thread_name_prefix="ga4") as pool:
        running: dict[Future[DayReport], dt.date] = {}

        def submit() -> None:
            while len(running) < job.settings.concurrency and not result.stopped and error is None:
                day = next(pending, None)
                if day is None:
                    return
                running[pool.submit(read_day, job.client, job.property_id, day, job.plans,
                                    page_size=job.settings.page_size, policy=job.policy)] = day

        submit()
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                day = running.pop(future)
                try:
                    report = future.result()
                except QuotaExhausted as exc:
                    result.stopped = str(exc)
                    result.left.append(day)
                    continue
                except ConnectorError as exc:
                    error = error or exc
                    result.left.append(day)
                    continue
                _commit(engine, job, report, as_of, result)
                limits = (job.settings.quota_reserve, job.settings.quota_tokens_per_day,
                          job.settings.quota_tokens_per_hour)
                if report.quota.below(*limits) and not result.stopped:
                    result.stopped = (f"GA4 property {job.property_id}: quota down to its reserve "
                                      f"({job.settings.quota_reserve:.0%}); stopping, the next run resumes")
                if on_day is not None:
                    on_day(result)
            submit()
    result.left = sorted(result.left + list(pending))
    if result.stopped:
        log.warning("%s; %d days left, from %s", result.stopped, len(result.left), min(result.left, default="-"))
    if error is not None:
        raise error
    return result


def _commit(engine: Engine, job: Ga4Job, report: DayReport, as_of: dt.date, result: Ga4Result) -> None:
    """One day in one transaction: rows, metadata, quarantine, the day's mark and the cursor."""
    prepared = prepare(GA4_ROWS, [as_dict(r) for r in report.rows])
    bad = prepared.bad + [(r.key, r.reason, r.payload) for r in report.rejected]
    meta = [as_dict(m) for m in report.meta]
    with engine.begin() as conn:
        result.rows += replace_ga4_day(conn, job.property_id, report.day, prepared.rows, meta)
        if bad:
            result.quarantined += quarantine(conn, "ga4", "rows", bad, as_of)
        mark_day(conn, "ga4", job.property_id, report.day, job.plan_id)
        cursor = get_cursor(conn, "ga4", "rows", job.property_id)
        if cursor is None or report.day.isoformat() > cursor:
            set_cursor(conn, "ga4", "rows", job.property_id, report.day.isoformat())
    result.days += 1
    result.requests += report.requests
