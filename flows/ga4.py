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
from connectors.pii import EmailHasher
from flows.sync import as_dict, refused_writes
from models.config import JourneyMap, SourceSettings
from models.ledger import (
    OK,
    Stream,
    after_read,
    clear_empty_before_data,
    confirm_gaps,
    plan_reads,
    read_marks,
    write_marks,
)
from models.rows import prepare, resolve_repeats
from models.sources import stream_of
from models.sources.ga4.landing import replace_ga4_day
from models.sources.ga4.streams import GA4_AMOUNTS, GA4_COUNTS, GA4_ROWS
from models.store import get_cursor, quarantine, set_cursor

RULE_DIMENSIONS = {"channel": "channel", "source": "source", "medium": "medium"}
GA4_METRIC_FIELDS = {"sessions": "sessions", "screenPageViews": "screen_page_views", "eventCount": "event_count",
                     "keyEvents": "key_events", "purchaseRevenue": "purchase_revenue"}
ROW_KEY = ("report", "date", "row_key")  # the natural key of a GA4 row inside one property


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

    @property
    def ledger(self) -> Stream:
        return Stream("ga4", "rows", self.property_id)


@dataclass
class Ga4Result:
    """What a GA4 sync did; `left` lists the days a quota stop left for the next run."""

    since: dt.date
    until: dt.date
    days: int = 0
    rows: int = 0
    quarantined: int = 0
    requests: int = 0
    empty: list[dt.date] = field(default_factory=list)  # days read empty (asked again while they stay so)
    left: list[dt.date] = field(default_factory=list)
    stopped: str = ""


def days_to_read(engine: Engine, job: Ga4Job, since: dt.date, until: dt.date, as_of: dt.date, *,
                 backfill: bool = False) -> list[dt.date]:
    """The days of since..until to read: never read with this plan, not yet settled, or empty and still asked
    again (a backfill also reads empty days and confirmed gaps again). Empty days whose retries ran out are
    recorded as confirmed gaps on the way."""
    with engine.begin() as conn:
        reads = plan_reads(read_marks(conn, job.ledger, since, until), since, until, as_of, job.settings,
                           plan=job.plan_id, backfill=backfill)
        confirm_gaps(conn, job.ledger, reads.gaps)
    return reads.days


def sync_days(engine: Engine, job: Ga4Job, days: list[dt.date], as_of: dt.date,
              on_day: Callable[[Ga4Result], None] | None = None) -> Ga4Result:
    """Fetch days with up to `concurrency` requests in flight; commit each finished day on its own.

    A quota stop (reserve reached, or a GA4 token budget spent) ends the sync cleanly: finished days stay
    committed and the rest are left for the next run. Other errors are raised after the days already fetched
    are committed.
    """
    log = logging.getLogger("journeymap.ga4")
    result = Ga4Result(min(days, default=as_of), max(days, default=as_of))
    if not days:
        return result
    try:
        check_names(job.client, job.property_id, job.plans, policy=job.policy)
    except QuotaExhausted as exc:
        result.stopped, result.left = str(exc), sorted(days)
        log.warning("%s; %d days left, from %s", result.stopped, len(result.left), result.left[0])
        return result
    error = _fetch(engine, job, days, as_of, result, on_day)
    with engine.begin() as conn:
        clear_empty_before_data(conn, job.ledger)  # a property younger than the history has no outage before it
        if result.empty:
            marks = read_marks(conn, job.ledger, min(result.empty), max(result.empty))
            result.empty = sorted(d for d in result.empty if marks[d].status != OK)
    result.left.sort()
    if result.stopped:
        log.warning("%s; %d days left, from %s", result.stopped, len(result.left), min(result.left, default="-"))
    if error is not None:
        raise error
    return result


def _fetch(engine: Engine, job: Ga4Job, days: list[dt.date], as_of: dt.date, result: Ga4Result,
           on_day: Callable[[Ga4Result], None] | None) -> ConnectorError | None:
    """Read and commit the days, `concurrency` at a time; returns the first error that is not a quota stop."""
    pending: Iterator[dt.date] = iter(days)
    error: ConnectorError | None = None
    hasher = EmailHasher(job.property_id)
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
                    result.stopped = result.stopped or str(exc)
                    result.left.append(day)
                    continue
                except ConnectorError as exc:
                    error = error or exc
                    result.left.append(day)
                    continue
                _commit(engine, job, report, as_of, result, hasher)
                limits = (job.settings.quota_reserve, job.settings.quota_tokens_per_day,
                          job.settings.quota_tokens_per_hour)
                if report.quota.below(*limits) and not result.stopped:
                    result.stopped = (f"GA4 property {job.property_id}: quota down to its reserve "
                                      f"({job.settings.quota_reserve:.0%}); stopping, the next run resumes")
                if on_day is not None:
                    on_day(result)
            submit()
    result.left += list(pending)
    return error


def _commit(engine: Engine, job: Ga4Job, report: DayReport, as_of: dt.date, result: Ga4Result,
            hasher: EmailHasher) -> None:
    """One day in one transaction: rows (a repeated row resolved, see `resolve_repeats`), metadata, quarantine,
    the day's mark in the ledger and the cursor."""
    prepared = prepare(GA4_ROWS, [as_dict(r) for r in report.rows], hasher)
    rows, repeats = resolve_repeats(prepared.rows, ROW_KEY, GA4_COUNTS + GA4_AMOUNTS,
                                    lambda r: f"{r['report']}|{r['date']}|{str(r['item'])[:120]}", hasher)
    bad = prepared.bad + [(r.key, r.reason, r.payload) for r in report.rejected] + repeats
    meta = [as_dict(m) for m in report.meta]
    with refused_writes(GA4_ROWS), engine.begin() as conn:
        previous = read_marks(conn, job.ledger, report.day, report.day).get(report.day)
        result.rows += replace_ga4_day(conn, job.property_id, report.day, rows, meta)
        if bad:
            result.quarantined += quarantine(conn, "ga4", "rows", bad, as_of)
        write_marks(conn, job.ledger, [after_read(previous, report.day, len(rows), as_of, job.settings,
                                                  plan=job.plan_id)])
        cursor = get_cursor(conn, "ga4", "rows", job.property_id)
        if cursor is None or report.day.isoformat() > cursor:
            set_cursor(conn, "ga4", "rows", job.property_id, report.day.isoformat())
    if not rows:
        result.empty.append(report.day)
    result.days += 1
    result.requests += report.requests
