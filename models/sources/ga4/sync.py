"""GA4's sync: what the map asks of the property, the days to read, read in parallel and committed each on its
own, resumed after a stop. The reading is the connector's (`connectors.ga4`'s `SPEC.open` builds the readers);
its errors are the run's kinds (`SyncRun.errors`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

from models.config import JourneyMap
from models.sources import stream_of
from models.sources.ga4.landing import replace_ga4_day
from models.sources.ga4.streams import GA4_AMOUNTS, GA4_COUNTS, GA4_ROWS
from models.sync import SourceResult, StreamResult, SyncRun, as_dict, refused_writes
from models.sync.ledger import (
    OK,
    Stream,
    after_read,
    clear_empty_before_data,
    confirm_gaps,
    history,
    plan_reads,
    read_marks,
    write_marks,
)
from models.sync.rows import Hasher, prepare, resolve_repeats
from models.sync.state import get_cursor, quarantine, set_cursor

RULE_DIMENSIONS = {"channel": "channel", "source": "source", "medium": "medium"}
GA4_METRIC_FIELDS = {"sessions": "sessions", "screenPageViews": "screen_page_views", "eventCount": "event_count",
                     "keyEvents": "key_events", "purchaseRevenue": "purchase_revenue"}
ROW_KEY = ("report", "date", "row_key")  # the natural key of a GA4 row inside one property


@dataclass(frozen=True)
class Ga4Request:
    """What the map asks of GA4: per report, the metric and dimension fields (of its records) its touchpoints,
    segments and personas use; the connector plans the reports from it."""

    metrics: Mapping[str, frozenset[str]]
    dimensions: Mapping[str, frozenset[str]]


def request(journey_map: JourneyMap) -> Ga4Request:
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
    return Ga4Request({r: frozenset(m) for r, m in metrics.items()}, {r: frozenset(d) for r, d in dims.items()})


class Refused(Protocol):
    """A row the connector could not read, kept whole for the quarantine."""

    @property
    def key(self) -> str: ...

    @property
    def reason(self) -> str: ...

    @property
    def payload(self) -> dict[str, Any]: ...


class QuotaLeft(Protocol):
    """The property's tokens left after a day's read."""

    def below(self, reserve: float, per_day: int, per_hour: int) -> bool: ...


class DayRead(Protocol):
    """Everything read for one day: its rows (records of GA4_ROWS), the rows refused, each report's metadata."""

    @property
    def day(self) -> dt.date: ...

    @property
    def rows(self) -> Sequence[Any]: ...

    @property
    def rejected(self) -> Sequence[Refused]: ...

    @property
    def meta(self) -> Sequence[Any]: ...

    @property
    def quota(self) -> QuotaLeft: ...

    @property
    def requests(self) -> int: ...


class Ga4Readers(Protocol):
    """One property's planned reports, as the connector's `open` builds them."""

    @property
    def property_id(self) -> str: ...

    @property
    def plan_id(self) -> str: ...

    def check(self) -> None:
        """Raise (a `failed` error naming the closest names) when the property lacks a planned name."""

    def read_day(self, day: dt.date) -> DayRead:
        """Every planned report of one day."""


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


def ledger_of(readers: Ga4Readers) -> Stream:
    """The day ledger of the property's rows."""
    return Stream("ga4", "rows", readers.property_id)


def sync(run: SyncRun, readers: Ga4Readers) -> SourceResult:
    """One run's GA4 sync: the days the ledger says (or the run's backfill window), read and committed."""
    since, until = run.window or history(run.as_of, run.settings)
    days = days_to_read(run, readers, since, until, backfill=run.window is not None)
    with run.tracked(len(days), "sync-ga4", f"Loading GA4 property {readers.property_id}") as progress:
        done = sync_days(run, readers, days,
                         on_day=lambda r: progress.step(f"ga4 {r.days}/{len(days)} days ({r.rows:,} rows)"))
    run.log.info("ga4/rows: %s..%s, %d days, %d rows, %d quarantined, %d requests", done.since, done.until,
                 done.days, done.rows, done.quarantined, done.requests)
    read = (done.since, done.until) if days else (until, until)
    stream = StreamResult("ga4", "rows", *read, done.rows, done.quarantined, done.days)
    warnings = [f"GA4 property {readers.property_id}: {len(done.empty)} day(s) came back empty "
                f"({', '.join(map(str, done.empty[:5]))}{' …' if len(done.empty) > 5 else ''}); they are asked again "
                f"for {run.settings.empty_retry_days} days, then recorded as gaps"] if done.empty else []
    return SourceResult("ga4", [stream], note=done.stopped, warnings=warnings)


def days_to_read(run: SyncRun, readers: Ga4Readers, since: dt.date, until: dt.date, *,
                 backfill: bool = False) -> list[dt.date]:
    """The days of since..until to read: never read with this plan, not yet settled, or empty and still asked
    again (a backfill also reads empty days and confirmed gaps again). Empty days whose retries ran out are
    recorded as confirmed gaps on the way."""
    ledger = ledger_of(readers)
    with run.engine.begin() as conn:
        reads = plan_reads(read_marks(conn, ledger, since, until), since, until, run.as_of, run.settings,
                           plan=readers.plan_id, backfill=backfill)
        confirm_gaps(conn, ledger, reads.gaps)
    return reads.days


def sync_days(run: SyncRun, readers: Ga4Readers, days: list[dt.date],
              on_day: Callable[[Ga4Result], None] | None = None) -> Ga4Result:
    """Fetch days with up to `concurrency` requests in flight; commit each finished day on its own.

    A quota stop (reserve reached, or a GA4 token budget spent) ends the sync cleanly: finished days stay
    committed and the rest are left for the next run. Other errors are raised after the days already fetched
    are committed.
    """
    result = Ga4Result(min(days, default=run.as_of), max(days, default=run.as_of))
    if not days:
        return result
    try:
        readers.check()
    except run.errors.quota as exc:
        result.stopped, result.left = str(exc), sorted(days)
        run.log.warning("%s; %d days left, from %s", result.stopped, len(result.left), result.left[0])
        return result
    error = _fetch(run, readers, days, result, on_day)
    ledger = ledger_of(readers)
    with run.engine.begin() as conn:
        clear_empty_before_data(conn, ledger)  # a property younger than the history has no outage before it
        if result.empty:
            marks = read_marks(conn, ledger, min(result.empty), max(result.empty))
            result.empty = sorted(d for d in result.empty if marks[d].status != OK)
    result.left.sort()
    if result.stopped:
        run.log.warning("%s; %d days left, from %s", result.stopped, len(result.left),
                        min(result.left, default="-"))
    if error is not None:
        raise error
    return result


def _fetch(run: SyncRun, readers: Ga4Readers, days: list[dt.date], result: Ga4Result,
           on_day: Callable[[Ga4Result], None] | None) -> Exception | None:
    """Read and commit the days, `concurrency` at a time; returns the first error that is not a quota stop."""
    pending: Iterator[dt.date] = iter(days)
    error: Exception | None = None
    hasher = run.hasher(readers.property_id)
    settings = run.settings
    with ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="ga4") as pool:
        running: dict[Future[DayRead], dt.date] = {}

        def submit() -> None:
            while len(running) < settings.concurrency and not result.stopped and error is None:
                day = next(pending, None)
                if day is None:
                    return
                running[pool.submit(readers.read_day, day)] = day

        submit()
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                day = running.pop(future)
                try:
                    report = future.result()
                except run.errors.quota as exc:
                    result.stopped = result.stopped or str(exc)
                    result.left.append(day)
                    continue
                except run.errors.failed as exc:
                    error = error or exc
                    result.left.append(day)
                    continue
                _commit(run, readers, report, result, hasher)
                limits = (settings.quota_reserve, settings.quota_tokens_per_day, settings.quota_tokens_per_hour)
                if report.quota.below(*limits) and not result.stopped:
                    result.stopped = (f"GA4 property {readers.property_id}: quota down to its reserve "
                                      f"({settings.quota_reserve:.0%}); stopping, the next run resumes")
                if on_day is not None:
                    on_day(result)
            submit()
    result.left += list(pending)
    return error


def _commit(run: SyncRun, readers: Ga4Readers, report: DayRead, result: Ga4Result, hasher: Hasher) -> None:
    """One day in one transaction: rows (a repeated row resolved, see `resolve_repeats`), metadata, quarantine,
    the day's mark in the ledger and the cursor."""
    property_id, ledger, as_of = readers.property_id, ledger_of(readers), run.as_of
    prepared = prepare(GA4_ROWS, [as_dict(r) for r in report.rows], hasher)
    rows, repeats = resolve_repeats(prepared.rows, ROW_KEY, GA4_COUNTS + GA4_AMOUNTS,
                                    lambda r: f"{r['report']}|{r['date']}|{str(r['item'])[:120]}", hasher)
    bad = prepared.bad + [(r.key, r.reason, r.payload) for r in report.rejected] + repeats
    meta = [as_dict(m) for m in report.meta]
    with refused_writes(GA4_ROWS), run.engine.begin() as conn:
        previous = read_marks(conn, ledger, report.day, report.day).get(report.day)
        result.rows += replace_ga4_day(conn, property_id, report.day, rows, meta)
        if bad:
            result.quarantined += quarantine(conn, "ga4", "rows", bad, as_of)
        write_marks(conn, ledger, [after_read(previous, report.day, len(rows), as_of, run.settings,
                                              plan=readers.plan_id)])
        cursor = get_cursor(conn, "ga4", "rows", property_id)
        if cursor is None or report.day.isoformat() > cursor:
            set_cursor(conn, "ga4", "rows", property_id, report.day.isoformat())
    if not rows:
        result.empty.append(report.day)
    result.days += 1
    result.requests += report.requests
