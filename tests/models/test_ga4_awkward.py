"""GA4 as it really is, through the official SDK against the fake Data API, on both warehouses: rows repeated
across pages, days that settle over three days, days that come back empty, and token budgets that run out."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select

from connectors.errors import AccessDenied, ConnectorError, QuotaExhausted, RetryPolicy
from connectors.ga4 import PropertyReader, plans_of
from connectors.pii import EmailHasher
from models.config import SourceSettings
from models.mapfile import load_map
from models.sources.ga4.sync import days_to_read, request, sync_days
from models.sources.ga4.tables import Ga4Row
from models.sync import ReadErrors, SyncRun
from models.sync.ledger import EMPTY, GAP, OK, Stream, history, read_marks
from models.tables import Quarantine, SyncedDay
from tests.conftest import EXAMPLE_MAP
from tests.connectors.test_ga4 import demo_totals, reader_for
from tests.fakes.clock import FakeClock
from tests.fakes.ga4 import FakeGA4

AS_OF = dt.date(2026, 9, 30)
FAST = RetryPolicy(attempts=3, base_seconds=0.01, max_seconds=0.05)
SETTINGS = SourceSettings(history_days=10, settle_days=3, empty_retry_days=7, concurrency=3)
LEDGER = Stream("ga4", "rows", "123")
READ_ERRORS = ReadErrors(quota=(QuotaExhausted,), refused=(AccessDenied,), failed=(ConnectorError,))  # the flow's


@dataclass(frozen=True)
class Job:
    """A property's reader (what `SPEC.open` builds) and the source's settings of the runs that sync it."""

    reader: PropertyReader
    settings: SourceSettings

    def run(self, engine: Engine, as_of: dt.date) -> SyncRun:
        """The GA4 sync of a run on `as_of` (its hashes salted with the property, as without JOURNEY_HASH_SALT)."""
        return SyncRun(engine, load_map(EXAMPLE_MAP), "ga4", as_of, None, self.settings, hasher=EmailHasher,
                       errors=READ_ERRORS)


def job_for(fake: FakeGA4, settings: SourceSettings = SETTINGS) -> Job:
    """The example map's plans on the fake property, paged by `settings`."""
    plans = plans_of(request(load_map(EXAMPLE_MAP)))
    return Job(reader_for(fake, plans, page_size=settings.page_size, policy=FAST), settings)


def daily_run(engine: Engine, job: Job, as_of: dt.date) -> list[dt.date]:
    """What a daily run of the GA4 source does: read the days the ledger says, up to the day before `as_of`."""
    run = job.run(engine, as_of)
    days = days_to_read(run, job.reader, *history(as_of, job.settings))
    sync_days(run, job.reader, days)
    return days


def sessions(engine: Engine, day: dt.date) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.sum(Ga4Row.sessions), 0)).where(
            Ga4Row.report == "traffic", Ga4Row.date == day)).scalar_one())


def table_rows(engine: Engine, table: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(table.__table__).order_by(*table.__table__.primary_key))]


def test_a_row_repeated_on_a_later_page_never_stops_the_source(engine: Engine) -> None:
    """GA4 repeats a dimension combination while a day is processing: an identical repeat is stored once, one with
    other numbers keeps the larger and goes to the quarantine with both versions; the day commits, nothing is
    stuck, and a rerun leaves every table as it was."""
    same, conflicting = AS_OF - dt.timedelta(days=5), AS_OF - dt.timedelta(days=4)
    with FakeGA4(property_id="123", today=AS_OF) as fake:
        fake.repeat_row(same, "pagePath", index=0)
        fake.repeat_row(conflicting, "landingPage", index=1, conflicting=True)
        job = job_for(fake, SETTINGS.model_copy(update={"page_size": 200}))  # several pages a report
        result = sync_days(job.run(engine, AS_OF), job.reader, [same, conflicting])
        assert (result.days, result.left, result.stopped) == (2, [], "")
        assert sum(1 for r in fake.requests.snapshot() if r.rpc == "runReport") > 2  # the repeats came on page 2+
        first = {t: table_rows(engine, t) for t in (Ga4Row, Quarantine, SyncedDay)}
        sync_days(job.run(engine, AS_OF), job.reader, [same, conflicting])
        assert {t: table_rows(engine, t) for t in first} == first
    assert sessions(engine, same) == demo_totals(same, "traffic", "sessions")
    with engine.connect() as conn:
        (key, reason, payload), = conn.execute(select(Quarantine.record_key, Quarantine.reason, Quarantine.payload))
        marks = read_marks(conn, LEDGER, same, conflicting)
    assert key.startswith(f"traffic|{conflicting}|")
    assert "2 times with different numbers" in reason
    assert "kept the largest" in reason
    versions = json.loads(payload)["versions"]
    assert len(versions) == 2
    assert abs(versions[0]["sessions"] - versions[1]["sessions"]) == 1
    kept = max(v["sessions"] for v in versions)
    assert sessions(engine, conflicting) == demo_totals(conflicting, "traffic", "sessions") + 1  # the larger
    assert kept > 0
    assert sorted(marks) == [same, conflicting]


def test_a_daily_schedule_ends_with_every_settled_day_exactly_what_ga4_finally_reports(engine: Engine) -> None:
    """GA4 serves a day at 85 %, then 95 %, then 100 % as it processes: each run reads the days still settling
    again, so once settled every day equals GA4's final numbers, and the ledger says which days are not yet."""
    clock = FakeClock(dt.datetime(2026, 9, 20, 6, tzinfo=dt.UTC))
    watched = dt.date(2026, 9, 21)
    seen: list[int] = []
    with FakeGA4(property_id="123", clock=clock) as fake:
        fake.settling({0: 0.5, 1: 0.85, 2: 0.95})
        job = job_for(fake)
        reads: list[list[dt.date]] = []
        for _ in range(8):
            reads.append(daily_run(engine, job, clock.today()))
            if watched < clock.today() <= watched + dt.timedelta(days=3):
                seen.append(sessions(engine, watched))
            clock.advance(days=1)
        as_of = clock.today() - dt.timedelta(days=1)
    final = demo_totals(watched, "traffic", "sessions")
    assert seen[-1] == final
    assert seen[0] < seen[1] < final  # read at 85 %, then 95 %
    assert 0.8 * final <= seen[0] <= 0.9 * final  # 85 % of each row, rounded row by row
    assert all(len(days) == 3 for days in reads[1:])  # each later run: the new day and the two still settling
    since, until = history(as_of, SETTINGS)
    for day in (since + dt.timedelta(days=i) for i in range((until - since).days + 1)):
        if (as_of - day).days >= 3:
            assert sessions(engine, day) == demo_totals(day, "traffic", "sessions"), day
    with engine.connect() as conn:
        marks = read_marks(conn, LEDGER, since, until)
    assert [d for d, m in marks.items() if not m.settled] == [until - dt.timedelta(days=1), until]


def test_an_empty_day_is_asked_again_and_lands_when_ga4_fills_it_in(engine: Engine) -> None:
    clock = FakeClock(dt.datetime(2026, 9, 20, 6, tzinfo=dt.UTC))
    late = dt.date(2026, 9, 14)
    with FakeGA4(property_id="123", clock=clock) as fake:
        fake.empty_day(late, until=dt.date(2026, 9, 23))  # processing stalled for three days
        job = job_for(fake)
        run = job.run(engine, clock.today())
        first = sync_days(run, job.reader, days_to_read(run, job.reader, *history(clock.today(), SETTINGS)))
        assert first.empty == [late]
        with engine.connect() as conn:
            assert read_marks(conn, LEDGER, late, late)[late].status == EMPTY
        for _ in range(3):
            clock.advance(days=1)
            assert late in daily_run(engine, job, clock.today())
        clock.advance(days=1)
        assert late not in daily_run(engine, job, clock.today())  # filled in on the last read: done
    assert sessions(engine, late) == demo_totals(late, "traffic", "sessions")
    with engine.connect() as conn:
        mark = read_marks(conn, LEDGER, late, late)[late]
    assert (mark.status, mark.empty_since, mark.settled) == (OK, None, True)


def test_an_outage_is_a_confirmed_gap_after_empty_retry_days_and_a_backfill_reads_it_again(engine: Engine) -> None:
    clock = FakeClock(dt.datetime(2026, 9, 20, 6, tzinfo=dt.UTC))
    outage = dt.date(2026, 9, 14)
    with FakeGA4(property_id="123", clock=clock) as fake:
        fake.empty_day(outage)  # for good
        job = job_for(fake, SETTINGS.model_copy(update={"history_days": 20}))
        asked = 0
        for _ in range(10):
            asked += outage in daily_run(engine, job, clock.today())
            clock.advance(days=1)
        assert asked == 8  # the first read and 7 days of asking again
        with engine.connect() as conn:
            assert read_marks(conn, LEDGER, outage, outage)[outage].status == GAP
        fake.empty_day(outage, until=clock.today())  # GA4 recovered the day after all
        run = job.run(engine, clock.today())
        assert days_to_read(run, job.reader, outage, outage) == []  # a daily run leaves a gap alone
        backfill = days_to_read(run, job.reader, outage, outage, backfill=True)
        sync_days(run, job.reader, backfill)
    assert backfill == [outage]
    assert sessions(engine, outage) == demo_totals(outage, "traffic", "sessions")


def test_a_property_younger_than_the_history_has_no_outages_before_its_first_data(engine: Engine) -> None:
    with FakeGA4(property_id="123", today=AS_OF) as fake:
        for days_ago in range(6, 11):  # the property began collecting 5 days ago
            fake.empty_day(AS_OF - dt.timedelta(days=days_ago))
        job = job_for(fake)
        run = job.run(engine, AS_OF)
        result = sync_days(run, job.reader, days_to_read(run, job.reader, *history(AS_OF, SETTINGS)))
        assert result.empty == []  # nothing to ask again: not outages
        assert days_to_read(run, job.reader, *history(AS_OF, SETTINGS)) == \
            [AS_OF - dt.timedelta(days=d) for d in (2, 1)]  # only the days still settling


def test_a_spent_token_budget_stops_cleanly_naming_it_and_the_next_run_reads_only_what_is_missing(
        engine: Engine) -> None:
    with FakeGA4(property_id="123", today=AS_OF) as fake:
        job = job_for(fake, SETTINGS.model_copy(update={"quota_reserve": 0.0}))  # no reserve: GA4 itself says stop
        fake.quota(tokens_per_day=200_000, tokens_per_hour=12)  # 4 days of 3 reports, then the hour is spent
        run = job.run(engine, AS_OF)
        first = sync_days(run, job.reader, days_to_read(run, job.reader, *history(AS_OF, SETTINGS)))
        assert "hourly token quota is spent" in first.stopped
        assert "Exhausted property tokens per hour" in first.stopped
        assert 1 <= first.days < 10
        assert len(first.left) == 10 - first.days
        fake.quota(tokens_per_day=200_000)  # the next hour
        assert days_to_read(run, job.reader, *history(AS_OF, SETTINGS)) == first.left
        second = sync_days(run, job.reader, first.left)
    assert (second.days, second.left, second.stopped) == (len(first.left), [], "")


def test_a_budget_spent_before_any_day_is_read_stops_cleanly_too(engine: Engine) -> None:
    with FakeGA4(property_id="123", today=AS_OF) as fake:
        fake.quota(tokens_per_day=0)
        job = job_for(fake)
        run = job.run(engine, AS_OF)
        days = days_to_read(run, job.reader, *history(AS_OF, SETTINGS))
        result = sync_days(run, job.reader, days)
    assert "daily token quota is spent" in result.stopped
    assert result.left == days
    assert result.days == 0
