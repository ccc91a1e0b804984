"""Upserts, window replacement, cursors and quarantine on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, select

import models.backfill
import models.outbox
import models.sources.registry  # noqa: F401  (every table of the schema, as a run has them)
from connectors.pii import EmailHasher
from models.db import MIGRATIONS, DatabaseConfigError, make_engine, migrate
from models.sources.ga4.streams import GA4_ROWS
from models.sources.ga4.tables import Ga4Row
from models.sources.mailchimp.streams import MAILCHIMP_ACTIVITY
from models.store import replace_window, upsert
from models.sync.rows import prepare
from models.sync.state import get_cursor, quarantine, set_cursor
from models.tables import Base, Quarantine, UnmappedDaily, table_of

HASHER = EmailHasher("test-salt")  # the project's one email hash, salted

D1, D2 = dt.date(2026, 9, 1), dt.date(2026, 9, 2)


def ga4(day: dt.date, item: str, sessions: int) -> dict[str, object]:
    return {"property_id": "p1", "report": "pages", "date": day, "item": item, "channel": "Direct",
            "source": "(direct)", "medium": "(none)", "device": "mobile", "user_type": "new", "country": "GB",
            "sessions": sessions, "screen_page_views": sessions * 2, "event_count": 0, "key_events": 0.0,
            "purchase_revenue": 0.0}


def test_migrate_twice_is_a_no_op_and_the_migrations_build_the_models_schema(engine: Engine) -> None:
    migrate(engine)
    with engine.connect() as conn:
        head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
        assert conn.exec_driver_sql("select version_num from alembic_version").scalar() == head
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_a_large_upsert_inserts_then_updates_by_natural_key(engine: Engine) -> None:
    """Big pages take PostgreSQL's COPY-then-merge path; the result is the same as row by row."""
    first = prepare(GA4_ROWS, [ga4(D1, f"/p{i}", i) for i in range(3000)], HASHER)
    again = prepare(GA4_ROWS, [ga4(D1, f"/p{i}", i + 1) for i in range(1000, 4000)], HASHER)
    with engine.begin() as conn:
        assert upsert(conn, table_of(Ga4Row), first.rows) == 3000
    with engine.begin() as conn:
        assert upsert(conn, table_of(Ga4Row), again.rows) == 3000
    with engine.connect() as conn:
        rows = dict(conn.execute(select(Ga4Row.item, Ga4Row.sessions)).all())
    assert len(rows) == 4000
    assert (rows["/p0"], rows["/p999"], rows["/p1000"], rows["/p3999"]) == (0, 999, 1001, 4000)


def test_upsert_inserts_then_updates_by_natural_key(engine: Engine) -> None:
    first = prepare(GA4_ROWS, [ga4(D1, "/a", 10), ga4(D1, "/b", 5)], HASHER)
    again = prepare(GA4_ROWS, [ga4(D1, "/a", 12), ga4(D1, "/a", 13)], HASHER)  # same key twice: the last wins
    with engine.begin() as conn:
        assert upsert(conn, table_of(Ga4Row), first.rows) == 2
        assert upsert(conn, table_of(Ga4Row), again.rows) == 1
    with engine.connect() as conn:
        rows = dict(conn.execute(select(Ga4Row.item, Ga4Row.sessions).order_by(Ga4Row.item)).all())
    assert rows == {"/a": 13, "/b": 5}


def test_replace_window_removes_rows_that_no_longer_exist(engine: Engine) -> None:
    table = table_of(UnmappedDaily)
    rows = [{"date": d, "source": "ga4", "stream": "pages", "item": i, "volume": 1.0} for d in (D1, D2)
            for i in ("/x", "/y")]
    with engine.begin() as conn:
        replace_window(conn, table, D1, D2, rows)
        replace_window(conn, table, D2, D2, rows[2:3])
    with engine.connect() as conn:
        left = conn.execute(select(UnmappedDaily.date, UnmappedDaily.item).order_by("date", "item")).all()
    assert left == [(D1, "/x"), (D1, "/y"), (D2, "/x")]


def test_bad_records_are_quarantined_with_reason_and_payload(engine: Engine) -> None:
    page = [ga4(D1, "/ok", 3), ga4(D1, "/neg", -1), {**ga4(D1, "/r", 1), "report": "funnels"}]
    prepared = prepare(GA4_ROWS, page, HASHER)
    assert [r["item"] for r in prepared.rows] == ["/ok"]
    naive = {"account": "a1", "campaign_id": "c1", "email_hash": "a" * 64, "action": "open",
             "timestamp": dt.datetime(2026, 9, 1)}
    bad_activity = prepare(MAILCHIMP_ACTIVITY, [naive, {**naive, "email_hash": "someone@example.com",
                                                        "timestamp": dt.datetime(2026, 9, 1, tzinfo=dt.UTC)}], HASHER)
    assert bad_activity.rows == []
    with engine.begin() as conn:
        quarantine(conn, "ga4", "rows", prepared.bad, D1)
        quarantine(conn, "mailchimp", "activity", bad_activity.bad, D1)
        quarantine(conn, "ga4", "rows", prepared.bad, D1)  # idempotent
    with engine.connect() as conn:
        stored = conn.execute(select(Quarantine.source, Quarantine.reason, Quarantine.payload)
                              .order_by(Quarantine.source, Quarantine.reason)).all()
    reasons = [r.reason for r in stored]
    assert len(stored) == 4
    assert any("sessions must be a number ≥ 0" in r for r in reasons)
    assert any("report 'funnels' is not one of traffic, pages, events" in r for r in reasons)
    assert any("has no timezone" in r for r in reasons)
    assert any("not a SHA-256" in r for r in reasons)
    assert all("someone@example.com" not in r.reason + r.payload for r in stored)
    assert '"item": "/neg"' in next(r.payload for r in stored if "sessions" in r.reason)


def test_cursor_round_trip(engine: Engine) -> None:
    with engine.begin() as conn:
        assert get_cursor(conn, "ga4", "rows", "p1") is None
        set_cursor(conn, "ga4", "rows", "p1", "2026-09-01")
        set_cursor(conn, "ga4", "rows", "p1", "2026-09-03")
    with engine.connect() as conn:
        assert get_cursor(conn, "ga4", "rows", "p1") == "2026-09-03"


def test_unsupported_database_url_is_a_clear_error() -> None:
    with pytest.raises(DatabaseConfigError, match="JOURNEY_DATABASE_URL names 'mysql'"):
        make_engine("mysql://localhost/x")
    with pytest.raises(DatabaseConfigError, match="not a database URL"):
        make_engine("journey.db")


def test_bulk_insert_keeps_every_value_exactly(engine: Engine) -> None:
    """PostgreSQL loads big batches with COPY: tabs, newlines, backslashes, NULLs and Unicode survive."""
    odd = ["tab\there", "new\nline", "back\\slash", "cr\rhere", "\\N", "", "pain-au-levain-ü-日本", "end\\"]
    rows = [{"date": D1, "source": "ga4", "stream": "pages", "item": f"{i}:{odd[i % len(odd)]}",
             "volume": float(i) / 3} for i in range(1200)]
    with engine.begin() as conn:
        assert replace_window(conn, table_of(UnmappedDaily), D1, D1, rows) == 1200
    with engine.connect() as conn:
        stored = {r.item: r.volume for r in conn.execute(select(table_of(UnmappedDaily)))}
    assert stored == {r["item"]: r["volume"] for r in rows}


def test_the_activity_migration_keeps_the_rows_and_goes_back_to_a_unique_key(db_url: str) -> None:
    """0011 drops the activity table's five-column key for one (account, campaign, time) index; stored rows stay,
    and a downgrade brings the key back."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect, text

    engine = make_engine(db_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))

    def to(revision: str, down: bool = False) -> None:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            (command.downgrade if down else command.upgrade)(cfg, revision)

    to("0010")
    with engine.begin() as conn:
        conn.execute(text("insert into raw_mailchimp_activity (account, campaign_id, email_hash, action, timestamp) "
                          "values ('a1', 'c1', :h, 'open', '2026-09-01 09:00:00')"),
                     {"h": f"{1:064x}"})
    to("head")
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from raw_mailchimp_activity")).scalar_one() == 1
        shape = inspect(conn)
        assert shape.get_pk_constraint("raw_mailchimp_activity")["constrained_columns"] == []
        assert sorted(ix["column_names"] for ix in shape.get_indexes("raw_mailchimp_activity")) == [
            ["account", "campaign_id", "timestamp"], ["timestamp"]]
    to("0010", down=True)
    with engine.connect() as conn:
        assert inspect(conn).get_pk_constraint("raw_mailchimp_activity")["constrained_columns"] == [
            "account", "campaign_id", "email_hash", "action", "timestamp"]
        assert conn.execute(text("select count(*) from raw_mailchimp_activity")).scalar_one() == 1
    engine.dispose()


def test_bulk_inserts_keep_nulls_tabs_line_breaks_and_backslashes(engine: Engine) -> None:
    """The bulk path (COPY on PostgreSQL, tuples on SQLite) stores awkward text exactly, and NULL as NULL."""
    from models.sources.mailchimp.tables import MailchimpCampaign
    from models.store import insert_rows

    awkward = ["plain", "tab\there", "two\nlines", "back\\slash", "None", "", "carriage\rreturn"]
    sent = dt.datetime(2026, 9, 1, 9, 30, 15, 250)
    rows = [{"account": "a1", "campaign_id": f"c{i}", "title": awkward[i % len(awkward)], "kind": "regular",
             "list_id": "l1", "workflow_id": "", "workflow_title": "", "position": i,
             "send_time": None if i % 2 else sent, "web_id": i} for i in range(600)]
    with engine.begin() as conn:
        assert insert_rows(conn, table_of(MailchimpCampaign), rows) == 600
    with engine.connect() as conn:
        stored = {r.campaign_id: (r.title, r.position, r.send_time)
                  for r in conn.execute(select(table_of(MailchimpCampaign)))}
    assert stored == {r["campaign_id"]: (r["title"], r["position"], r["send_time"]) for r in rows}
