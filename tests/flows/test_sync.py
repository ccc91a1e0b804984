"""Sync windows and cursors: late data is re-read, and a cursor never passes uncommitted rows."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from connectors.errors import Rejected
from connectors.ga4 import Ga4ReportRow
from connectors.mailchimp.records import EmailActivity
from flows.sync import incremental_window, sync_stream
from models.config import SourceSettings
from models.db import make_engine, migrate
from models.raw import GA4_ROWS, MAILCHIMP_ACTIVITY
from models.store import get_cursor
from models.tables import Ga4Row, MailchimpActivity, Quarantine

AS_OF = dt.date(2026, 9, 30)
SETTINGS = SourceSettings(lag_days=2, lookback_days=3, history_days=30)


def test_first_sync_reads_the_history() -> None:
    assert incremental_window(None, AS_OF, SETTINGS) == (dt.date(2026, 9, 1), AS_OF)


def test_later_syncs_reread_the_lookback_days() -> None:
    assert incremental_window("2026-09-30", AS_OF, SETTINGS) == (dt.date(2026, 9, 27), AS_OF)
    assert incremental_window("2026-09-20", AS_OF, SETTINGS) == (dt.date(2026, 9, 18), AS_OF)
    assert incremental_window("2026-01-01", AS_OF, SETTINGS) == (dt.date(2026, 9, 1), AS_OF)  # never beyond the history
    assert incremental_window("2026-10-15", AS_OF, SETTINGS) == (dt.date(2026, 9, 27), AS_OF)  # an older --as-of


def row(day: dt.date, sessions: int = 5) -> Ga4ReportRow:
    return Ga4ReportRow("p1", "traffic", day, "/", "Direct", "(direct)", "(none)", "mobile", "new", "GB",
                        sessions, sessions, 0, 0.0, 0.0)


def test_cursor_stops_at_the_last_committed_page(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)

    def reader(since: dt.date, until: dt.date) -> Iterator[list[Ga4ReportRow]]:
        yield [row(since), row(since + dt.timedelta(days=1), sessions=-4)]  # one bad row: quarantined
        for day in range(2, 6):
            yield [row(since + dt.timedelta(days=day))]
        raise TimeoutError("the API went away")

    with pytest.raises(TimeoutError):
        sync_stream(engine, GA4_ROWS, reader, "p1", AS_OF, SETTINGS)
    with engine.connect() as conn:
        assert get_cursor(conn, "ga4", "rows", "p1") == "2026-09-06"
        assert conn.execute(select(func.count()).select_from(Ga4Row)).scalar_one() == 5
        reasons = conn.execute(select(Quarantine.reason)).scalars().all()
    assert reasons == ["sessions must be a number ≥ 0, got -4"]

    seen: list[tuple[dt.date, dt.date]] = []

    def resume(since: dt.date, until: dt.date) -> Iterator[list[Ga4ReportRow]]:
        seen.append((since, until))
        yield [row(since)]

    result = sync_stream(engine, GA4_ROWS, resume, "p1", AS_OF, SETTINGS)
    assert seen == [(dt.date(2026, 9, 4), AS_OF)]  # resumes at the cursor less the lookback, not from scratch
    assert (result.rows, result.pages) == (1, 1)
    engine.dispose()


def test_what_a_connector_could_not_read_is_quarantined_with_its_reason(db_url: str) -> None:
    """A connector hands over an unreadable record as `Rejected`: its reason is kept, addresses are hashed."""
    engine = make_engine(db_url)
    migrate(engine)

    def reader(since: dt.date, until: dt.date) -> Iterator[list[Ga4ReportRow | Rejected]]:
        yield [row(since), Rejected("cs_1", "unreadable checkout.session: ValueError: created is missing",
                                    {"id": "cs_1", "customer_email": "ann@example.com"})]

    result = sync_stream(engine, GA4_ROWS, reader, "p1", AS_OF, SETTINGS)
    with engine.connect() as conn:
        stored = conn.execute(select(Quarantine.record_key, Quarantine.reason, Quarantine.payload)).all()
    engine.dispose()
    assert (result.rows, result.quarantined) == (1, 1)
    assert [(k, r) for k, r, _ in stored] == [("cs_1", "unreadable checkout.session: ValueError: created is missing")]
    assert "ann@example.com" not in stored[0][2]
    assert "sha256" in stored[0][2]


def activity(campaign: str, who: int, action: str, day: dt.date, hour: int = 9) -> EmailActivity:
    return EmailActivity(campaign, hashlib.sha256(str(who).encode()).hexdigest(), action,
                         dt.datetime.combine(day, dt.time(hour), dt.UTC))


def test_a_covered_stream_replaces_what_its_read_covers_and_nothing_else(db_url: str) -> None:
    """Mailchimp activity keeps no unique index: a re-read replaces the window's rows of the campaigns read.
    Twice the same read leaves one copy; an action gone upstream goes; other campaigns and days stay."""
    engine = make_engine(db_url)
    migrate(engine)
    window = (dt.date(2026, 9, 20), dt.date(2026, 9, 22))
    first = [activity("c1", i, "open", dt.date(2026, 9, 21)) for i in range(600)]  # big pages: the bulk path
    first += [activity("c2", i, "click", dt.date(2026, 9, 21)) for i in range(3)]
    first += [activity("c1", 7, "open", dt.date(2026, 9, 21))]  # the same action twice in one second: one row

    def load(records: list[EmailActivity], scope: set[str], days: tuple[dt.date, dt.date] = window) -> int:
        done = sync_stream(engine, MAILCHIMP_ACTIVITY, lambda s, u: iter([records]), "acct", AS_OF, SETTINGS,
                           window=days, in_date_order=False, scope=scope)
        return done.rows

    def stored() -> list[tuple[str, str, str, dt.datetime]]:
        with engine.connect() as conn:
            return sorted(conn.execute(select(MailchimpActivity.campaign_id, MailchimpActivity.email_hash,
                                              MailchimpActivity.action, MailchimpActivity.timestamp)).all())

    assert load(first, {"c1", "c2"}) == 603
    once = stored()
    assert len(once) == 603
    assert load(first, {"c1", "c2"}) == 603
    assert stored() == once  # a rerun changes nothing
    earlier = [activity("c1", 1, "open", dt.date(2026, 9, 10))]
    load(earlier, {"c1"}, (dt.date(2026, 9, 10), dt.date(2026, 9, 10)))
    # c1 re-read without subscriber 0's open (erased upstream); c2 was not read this time: its rows stay
    load([r for r in first if r.campaign_id == "c1" and r.email_hash != first[0].email_hash], {"c1"})
    after = stored()
    assert len(after) == 603 - 1 + 1
    assert (first[0].campaign_id, first[0].email_hash, "open", first[0].timestamp.replace(tzinfo=None)) not in after
    assert sum(r[0] == "c2" for r in after) == 3  # outside the scope read
    assert sum(r[3].day == 10 for r in after) == 1  # outside the window read
    with engine.connect() as conn:
        assert get_cursor(conn, "mailchimp", "activity", "acct") == "2026-09-21"
    # what cannot be stored is quarantined with its reason, the address hashed; the rest of the page lands
    unhashed = EmailActivity("c3", "ann@example.com", "open", dt.datetime(2026, 9, 21, 9, tzinfo=dt.UTC))
    done = sync_stream(engine, MAILCHIMP_ACTIVITY, lambda s, u: iter([[unhashed, activity("c3", 1, "open",
                                                                                          window[0])]]),
                       "acct", AS_OF, SETTINGS, window=window, in_date_order=False, scope={"c3"})
    assert (done.rows, done.quarantined) == (1, 1)
    assert done.reasons == ["email_hash is not a SHA-256 hex digest; addresses must be hashed before storage"]
    with engine.connect() as conn:
        payload = conn.execute(select(Quarantine.payload).where(Quarantine.stream == "activity")).scalar_one()
    assert "ann@example.com" not in str(payload)
    engine.dispose()
