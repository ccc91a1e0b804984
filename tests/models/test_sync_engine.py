"""The sync engine: a run reads the days the ledger says, commits each page with the marks of the days it
completes, keeps what it read before a failure, and lands a covered stream exactly once per key."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from connectors.errors import Rejected
from connectors.ga4 import Ga4ReportRow
from connectors.mailchimp.records import EmailActivity
from connectors.pii import EmailHasher, email_hash
from models.config import SourceSettings
from models.sources.ga4.streams import GA4_ROWS
from models.sources.ga4.tables import Ga4Row
from models.sources.mailchimp.streams import MAILCHIMP_ACTIVITY
from models.sources.mailchimp.tables import MailchimpActivity
from models.sync import StreamResult, land_covered, sync_stream, window_to_read
from models.sync import engine as sync
from models.sync.ledger import Stream, read_marks
from models.tables import Quarantine

AS_OF = dt.date(2026, 9, 30)
SETTINGS = SourceSettings(lag_days=2, settle_days=3, history_days=30)
HASHER = EmailHasher("test-salt")
LEDGER = Stream("ga4", "rows", "p1")


def row(day: dt.date, sessions: int = 5) -> Ga4ReportRow:
    return Ga4ReportRow("p1", "traffic", day, "/", "Direct", "(direct)", "(none)", "mobile", "new", "GB",
                        sessions, sessions, 0, 0.0, 0.0)


def every_day(since: dt.date, until: dt.date) -> Iterator[list[Ga4ReportRow]]:
    day = since
    while day <= until:
        yield [row(day)]
        day += dt.timedelta(days=1)


def test_a_first_sync_reads_the_history_before_today_and_a_rerun_only_the_days_still_settling(
        engine: Engine) -> None:
    assert window_to_read(engine, GA4_ROWS, "p1", AS_OF, SETTINGS) == (dt.date(2026, 8, 31), dt.date(2026, 9, 29))
    seen: list[tuple[dt.date, dt.date]] = []

    def reader(since: dt.date, until: dt.date) -> Iterator[list[Ga4ReportRow]]:
        seen.append((since, until))
        return every_day(since, until)

    first = sync_stream(engine, GA4_ROWS, reader, "p1", AS_OF, SETTINGS, hasher=HASHER)
    assert (first.since, first.until, first.rows) == (dt.date(2026, 8, 31), dt.date(2026, 9, 29), 30)
    with engine.connect() as conn:
        marks = read_marks(conn, LEDGER, dt.date(2026, 8, 1), AS_OF)
    assert sorted(marks) == [dt.date(2026, 8, 31) + dt.timedelta(days=i) for i in range(30)]  # never today
    assert [d for d, m in marks.items() if not m.settled] == [dt.date(2026, 9, 28), dt.date(2026, 9, 29)]
    sync_stream(engine, GA4_ROWS, reader, "p1", AS_OF + dt.timedelta(days=1), SETTINGS, hasher=HASHER)
    assert seen[-1] == (dt.date(2026, 9, 28), dt.date(2026, 9, 30))  # 28 settles now; 29 and 30 are still settling


def test_a_stop_keeps_every_committed_day_and_the_rerun_resumes_at_the_first_unfinished_one(engine: Engine) -> None:
    def failing(since: dt.date, until: dt.date) -> Iterator[list[Ga4ReportRow]]:
        yield [row(since), row(since + dt.timedelta(days=1), sessions=-4)]  # one bad row: quarantined
        for day in range(2, 6):
            yield [row(since + dt.timedelta(days=day))]
        raise TimeoutError("the API went away")

    with pytest.raises(TimeoutError):
        sync_stream(engine, GA4_ROWS, failing, "p1", AS_OF, SETTINGS, hasher=HASHER)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Ga4Row)).scalar_one() == 5
        marked = sorted(read_marks(conn, LEDGER, dt.date(2026, 8, 1), AS_OF))
        reasons = conn.execute(select(Quarantine.reason)).scalars().all()
    # the last page's day (Sept 5) may have more pages to come: marked only once a later day or the end arrives
    assert marked == [dt.date(2026, 8, 31) + dt.timedelta(days=i) for i in range(5)]
    assert reasons == ["sessions must be a number ≥ 0, got -4"]

    seen: list[tuple[dt.date, dt.date]] = []

    def resume(since: dt.date, until: dt.date) -> Iterator[list[Ga4ReportRow]]:
        seen.append((since, until))
        return every_day(since, until)

    result = sync_stream(engine, GA4_ROWS, resume, "p1", AS_OF, SETTINGS, hasher=HASHER)
    assert seen == [(dt.date(2026, 9, 5), dt.date(2026, 9, 29))]  # not from scratch
    assert result.rows == 25


def test_a_refused_write_names_the_table_and_reason_but_never_the_sql_or_its_values(engine: Engine) -> None:
    from sqlalchemy import text

    from models.sync import LandingError

    with engine.begin() as conn:  # a warehouse that refuses every GA4 row (a constraint added by a DBA)
        if engine.dialect.name == "sqlite":
            conn.execute(text("CREATE TRIGGER no_rows BEFORE INSERT ON raw_ga4_rows "
                              "BEGIN SELECT RAISE(ABORT, 'raw_ga4_rows is read-only'); END"))
        else:
            conn.execute(text("ALTER TABLE raw_ga4_rows ADD CONSTRAINT no_rows CHECK (sessions < 0) NOT VALID"))
    with pytest.raises(LandingError) as caught:
        sync_stream(engine, GA4_ROWS, lambda s, u: iter([[row(s, sessions=12345)]]), "p1", AS_OF, SETTINGS,
                    hasher=HASHER)
    message = str(caught.value)
    assert "raw_ga4_rows" in message
    assert "ga4 rows" in message
    assert "INSERT" not in message
    assert "12345" not in message
    assert "\n" not in message


def test_what_a_connector_could_not_read_is_quarantined_with_its_reason_and_the_salted_hash(engine: Engine) -> None:
    """A connector hands over an unreadable record as `Rejected`: its reason is kept, and an address becomes the
    project's salted hash (the landing tables' own), which a dictionary of plain SHA-256 digests cannot reverse."""
    def reader(since: dt.date, until: dt.date) -> Iterator[list[Ga4ReportRow | Rejected]]:
        yield [row(since), Rejected("cs_1", "unreadable checkout.session: ValueError: created is missing",
                                    {"id": "cs_1", "customer_email": "Ann@Example.com"})]

    result = sync_stream(engine, GA4_ROWS, reader, "p1", AS_OF, SETTINGS, hasher=HASHER)
    with engine.connect() as conn:
        stored = conn.execute(select(Quarantine.record_key, Quarantine.reason, Quarantine.payload)).all()
    assert (result.rows, result.quarantined) == (1, 1)
    assert [(k, r) for k, r, _ in stored] == [("cs_1", "unreadable checkout.session: ValueError: created is missing")]
    payload = stored[0][2]
    assert "ann@example.com" not in payload.lower()
    assert email_hash("ann@example.com", "test-salt") in payload
    assert hashlib.sha256(b"ann@example.com").hexdigest() not in payload  # not the unsalted digest


def activity(campaign: str, who: int, action: str, day: dt.date, hour: int = 9) -> EmailActivity:
    return EmailActivity(campaign, hashlib.sha256(str(who).encode()).hexdigest(), action,
                         dt.datetime.combine(day, dt.time(hour), dt.UTC))


def stored_activity(engine: Engine) -> list[tuple[str, str, str, dt.datetime]]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(MailchimpActivity.campaign_id, MailchimpActivity.email_hash,
                                          MailchimpActivity.action, MailchimpActivity.timestamp)).all())


def land(engine: Engine, pages: list[list[EmailActivity]], scope: set[str] | None,
         days: tuple[dt.date, dt.date]) -> StreamResult:
    result = StreamResult("mailchimp", "activity", *days)
    with engine.begin() as conn:
        land_covered(conn, MAILCHIMP_ACTIVITY, pages, "acct", *days, scope, AS_OF, result, HASHER)
    return result


def test_a_covered_stream_replaces_what_its_read_covers_and_nothing_else(engine: Engine) -> None:
    """Mailchimp activity keeps no unique index: a re-read replaces the window's rows of the campaigns read.
    Twice the same read leaves one copy; an action gone upstream goes; other campaigns and days stay."""
    window = (dt.date(2026, 9, 20), dt.date(2026, 9, 22))
    first = [activity("c1", i, "open", dt.date(2026, 9, 21)) for i in range(600)]  # big pages: the bulk path
    first += [activity("c2", i, "click", dt.date(2026, 9, 21)) for i in range(3)]
    first += [activity("c1", 7, "open", dt.date(2026, 9, 21))]  # the same action twice in one second: one row

    assert land(engine, [first], {"c1", "c2"}, window).rows == 603
    once = stored_activity(engine)
    assert len(once) == 603
    assert land(engine, [first], {"c1", "c2"}, window).rows == 603
    assert stored_activity(engine) == once  # a rerun changes nothing
    land(engine, [[activity("c1", 1, "open", dt.date(2026, 9, 10))]], {"c1"}, (dt.date(2026, 9, 10),) * 2)
    # c1 re-read without subscriber 0's open (erased upstream); c2 was not read this time: its rows stay
    land(engine, [[r for r in first if r.campaign_id == "c1" and r.email_hash != first[0].email_hash]], {"c1"},
         window)
    after = stored_activity(engine)
    assert len(after) == 603 - 1 + 1
    assert (first[0].campaign_id, first[0].email_hash, "open", first[0].timestamp.replace(tzinfo=None)) not in after
    assert sum(r[0] == "c2" for r in after) == 3  # outside the scope read
    assert sum(r[3].day == 10 for r in after) == 1  # outside the window read
    # what cannot be stored is quarantined with its reason, the address hashed; the rest of the page lands
    unhashed = EmailActivity("c3", "ann@example.com", "open", dt.datetime(2026, 9, 21, 9, tzinfo=dt.UTC))
    done = land(engine, [[unhashed, activity("c3", 1, "open", window[0])]], {"c3"}, window)
    assert (done.rows, done.quarantined) == (1, 1)
    assert done.reasons == ["email_hash is not a SHA-256 hex digest; addresses must be hashed before storage"]
    with engine.connect() as conn:
        payload = conn.execute(select(Quarantine.payload).where(Quarantine.stream == "activity")).scalar_one()
    assert "ann@example.com" not in str(payload)


def test_a_key_repeated_on_pages_far_apart_is_stored_once_whatever_the_order(engine: Engine,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Offset paging over a list that changes repeats a subscriber on two pages; the repeat may fall into another
    write batch than the original. Every order of the same pages stores exactly the same rows."""
    monkeypatch.setattr(sync, "BULK_BATCH", 4)  # a write batch of 4 rows: the repeat lands batches apart
    window = (dt.date(2026, 9, 20), dt.date(2026, 9, 22))
    pages = [[activity("c1", i, "open", dt.date(2026, 9, 21)) for i in range(p * 3, p * 3 + 3)] for p in range(4)]
    pages.append([pages[0][0], pages[2][1]])  # two subscribers served again on a later page
    stored = []
    for order in (pages, pages[::-1], pages[2:] + pages[:2]):
        land(engine, order, {"c1"}, window)
        stored.append(stored_activity(engine))
    assert len(stored[0]) == 12
    assert stored[0] == stored[1] == stored[2]
