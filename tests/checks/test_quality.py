"""The data-quality suite on a crafted warehouse, SQLite and PostgreSQL: every check passes on good data and
fails, naming its rows, on the bad input it is there for."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, text, update

from checks.quality import CheckResult, run_checks, unusable
from checks.quality_suite import build_suite, suite_inputs
from models.mapfile import load_map
from models.sources.ga4.tables import Ga4ReportMeta, Ga4Row
from models.sources.mailchimp.tables import MailchimpActivity
from models.sources.stripe.tables import StripeCheckoutSession
from models.tables import Quarantine, TouchpointDaily, UnmappedDaily, table_of

AS_OF = dt.date(2026, 9, 30)
SINCE = dt.date(2026, 9, 1)
MAP = load_map(Path(__file__).resolve().parents[2] / "journey.yaml")
DAYS = [SINCE - dt.timedelta(days=35) + dt.timedelta(days=i) for i in range(35 + 30)]


def ga4(day: dt.date, item: str = "/", sessions: int = 100) -> dict[str, Any]:
    return {"property_id": "p1", "report": "traffic", "date": day, "row_key": item, "item": item,
            "channel": "Direct", "source": "(direct)", "medium": "(none)", "device": "mobile", "user_type": "new",
            "country": "GB", "sessions": sessions, "screen_page_views": sessions, "event_count": 0,
            "key_events": 0.0, "purchase_revenue": 0.0}


def activity(day: dt.date, who: int) -> dict[str, Any]:
    return {"account": "a1", "campaign_id": "c1", "email_hash": hashlib.sha256(str(who).encode()).hexdigest(),
            "action": "sent", "timestamp": dt.datetime.combine(day, dt.time(7))}


def checkout(day: dt.date, n: int, **change: Any) -> dict[str, Any]:
    return {"account": "a1", "session_id": f"cs_{day}_{n}", "created": dt.datetime.combine(day, dt.time(9, n % 60)),
            "status": "complete", "payment_status": "paid", "mode": "payment", "amount_total": 4900,
            "currency": "gbp", "product_id": "prod_course", "product_name": "Sourdough Masterclass",
            "customer_hash": "", "expires_at": None, "payment_intent": "", **change}


def meta(day: dt.date, **flags: bool) -> dict[str, Any]:
    return {"property_id": "p1", "report": "traffic", "date": day, "row_count": 1, "sampled": False,
            "subject_to_thresholding": False, "data_loss_from_other_row": False, "samples_read": 0,
            "sampling_space": 0, "currency_code": "GBP", "time_zone": "Europe/London", **flags}


@pytest.fixture
def warehouse(engine: Engine) -> Engine:
    """Five weeks of history and a clean September: every check passes."""
    with engine.begin() as conn:
        conn.execute(insert(table_of(Ga4Row)), [ga4(d, f"/p{i}") for d in DAYS for i in range(10)])
        conn.execute(insert(table_of(MailchimpActivity)), [activity(d, i) for d in DAYS for i in range(20)])
        conn.execute(insert(table_of(StripeCheckoutSession)), [checkout(d, i) for d in DAYS for i in range(20)])
        conn.execute(insert(table_of(Ga4ReportMeta)), [meta(d) for d in DAYS if d >= SINCE])
        conn.execute(insert(table_of(TouchpointDaily)), [
            {"date": d, "touchpoint_id": "checkout", "segment": "all", "journey_id": "masterclass", "volume": 20.0,
             "success": 12.0, "events": 20.0, "revenue": 0.0} for d in DAYS if d >= SINCE])
        conn.execute(insert(table_of(UnmappedDaily)), [{"date": SINCE, "source": "stripe", "stream":
                                                        "checkout_sessions", "item": "Gift card", "volume": 3.0}])
    return engine


def judge(engine: Engine) -> dict[str, CheckResult]:
    url = engine.url.render_as_string(hide_password=False)
    with engine.connect() as conn:
        history, mapped = suite_inputs(conn, MAP, SINCE, AS_OF)
    results = run_checks(url, build_suite(MAP, SINCE, AS_OF, AS_OF, history, mapped), MAP.quality.severity)
    return {r.check.name: r for r in results}


def failed(results: dict[str, CheckResult]) -> dict[str, CheckResult]:
    return {name: r for name, r in results.items() if not r.success}


def test_a_clean_warehouse_passes_every_check(warehouse: Engine) -> None:
    results = judge(warehouse)
    assert len(results) > 25
    assert failed(results) == {}


def test_each_kind_of_bad_data_fails_its_check_and_names_the_rows(warehouse: Engine) -> None:
    day = dt.date(2026, 9, 15)
    with warehouse.begin() as conn:
        conn.execute(text("DELETE FROM raw_ga4_rows WHERE date = :d"), {"d": day})  # a missing day
        conn.execute(insert(table_of(MailchimpActivity)), [activity(day, 3)])  # a duplicated key
        conn.execute(update(table_of(StripeCheckoutSession)).where(StripeCheckoutSession.session_id ==
                                                                  f"cs_{day}_1").values(amount_total=-4900))
        conn.execute(update(table_of(StripeCheckoutSession)).where(StripeCheckoutSession.session_id ==
                                                                  f"cs_{day}_2").values(currency="xyz"))
        conn.execute(text("DELETE FROM raw_stripe_checkout_sessions WHERE created >= :lo AND created < :hi "
                          "AND session_id <> :keep"),  # a collapse: one session of the usual 20
                     {"lo": dt.datetime(2026, 9, 22), "hi": dt.datetime(2026, 9, 23), "keep": "cs_2026-09-22_1"})
        conn.execute(insert(table_of(StripeCheckoutSession)), [checkout(AS_OF + dt.timedelta(days=3), 1),  # future
                                                               checkout(day, 99, session_id="")])  # no id
        conn.execute(update(table_of(TouchpointDaily)).where(TouchpointDaily.date == day)
                     .values(success=34.0))  # a rate of 1.7
        conn.execute(insert(table_of(UnmappedDaily)), [{"date": day, "source": "ga4", "stream": "pages",
                                                        "item": "/courses/masterclass-2/", "volume": 9000.0}])
        conn.execute(update(table_of(Ga4ReportMeta)).where(Ga4ReportMeta.date == day)
                     .values(subject_to_thresholding=True))
        conn.execute(insert(table_of(Quarantine)), [{"source": "stripe", "stream": "checkout_sessions",
                                                     "record_key": "cs_bad", "reason": "amount_total is missing",
                                                     "payload": "{}", "seen_on": AS_OF}])
    bad = failed(judge(warehouse))
    by_kind = {r.check.kind: r for r in bad.values()}
    assert set(by_kind) == {"freshness", "unique", "not_null", "non_negative", "currency", "volume", "in_window",
                            "facts", "coverage", "ga4_flags", "quarantine"}
    assert by_kind["not_null"].sample == [{"account": "a1", "session_id": ""}]
    assert by_kind["freshness"].sample == [{"day": "2026-09-15", "usual": 10.0}]  # GA4 usually has 10 rows a day
    assert by_kind["unique"].check.table == "raw_mailchimp_activity"
    assert by_kind["unique"].sample[0]["copies"] == 2
    assert by_kind["non_negative"].sample[0]["session_id"] == "cs_2026-09-15_1"
    assert by_kind["currency"].sample[0]["session_id"] == "cs_2026-09-15_2"
    assert [s["day"] for s in by_kind["volume"].sample] == ["2026-09-22"]  # one session of the usual 20
    assert by_kind["in_window"].unexpected == 1
    assert by_kind["facts"].sample[0]["touchpoint_id"] == "checkout"
    assert by_kind["coverage"].sample[0]["item"] == "/courses/masterclass-2/"  # the renamed page, by name
    assert by_kind["ga4_flags"].sample[0]["report"] == "traffic"
    assert by_kind["quarantine"].sample[0]["reason"] == "amount_total is missing"
    assert {r.severity for r in bad.values() if r.check.kind in ("coverage", "ga4_flags", "quarantine")} == \
        {"warning"}
    held = unusable(list(bad.values()))
    assert set(held) == {"ga4", "mailchimp", "stripe", "map"}
    assert "raw_stripe_checkout_sessions: amount_total are ≥ 0" in held["stripe"]


def test_a_long_gap_keeps_every_missing_day_for_the_baselines(warehouse: Engine) -> None:
    """Twelve missing GA4 days: the freshness result names all twelve (later runs leave each out of their
    baselines), not the first ten of a sample."""
    gap = [dt.date(2026, 9, 5) + dt.timedelta(days=i) for i in range(12)]
    with warehouse.begin() as conn:
        conn.execute(text("DELETE FROM raw_ga4_rows WHERE date >= :lo AND date <= :hi"), {"lo": gap[0], "hi": gap[-1]})
    fresh = next(r for r in failed(judge(warehouse)).values() if r.check.kind == "freshness")
    assert fresh.unexpected == 12
    assert [s["day"] for s in fresh.sample] == [d.isoformat() for d in gap]


@pytest.mark.parametrize("gap_days", [40, 130])
def test_a_gap_longer_than_the_weekday_history_fails_freshness_for_every_matured_day(engine: Engine,
                                                                                    gap_days: int) -> None:
    """GA4 delivered ten rows a day, then nothing for the last `gap_days` days (longer than the 5 weeks read
    before the window): each matured day of the window is missing, judged against the weeks before the gap."""
    last = AS_OF - dt.timedelta(days=gap_days + 1)
    with engine.begin() as conn:
        conn.execute(insert(table_of(Ga4Row)), [ga4(last - dt.timedelta(days=i), f"/p{j}")
                                                for i in range(42) for j in range(10)])
    fresh = next(r for r in judge(engine).values() if r.check.kind == "freshness" and r.check.source == "ga4")
    matured = [SINCE + dt.timedelta(days=i) for i in range((AS_OF - SINCE).days - MAP.source_settings("ga4").lag_days
                                                          + 1)]
    assert not fresh.success
    assert fresh.unexpected == len(matured)
    assert [s["day"] for s in fresh.sample] == [d.isoformat() for d in matured]
    assert {s["usual"] for s in fresh.sample} == {10.0}


def test_a_row_dated_after_as_of_is_still_judged_by_every_check_of_its_table(warehouse: Engine) -> None:
    """The batch reads the window's days and, apart, any rows after as_of: a future checkout with a negative amount
    fails both the window check and its own."""
    later = AS_OF + dt.timedelta(days=40)
    with warehouse.begin() as conn:
        conn.execute(insert(table_of(StripeCheckoutSession)), [checkout(later, 1, amount_total=-1)])
        conn.execute(insert(table_of(MailchimpActivity)), [activity(later, 1), activity(later, 1)])
    bad = {(r.check.kind, r.check.table): r for r in failed(judge(warehouse)).values()}
    assert set(bad) == {("in_window", "raw_stripe_checkout_sessions"), ("non_negative", "raw_stripe_checkout_sessions"),
                        ("in_window", "raw_mailchimp_activity"), ("unique", "raw_mailchimp_activity")}
    assert bad["non_negative", "raw_stripe_checkout_sessions"].sample[0]["session_id"] == f"cs_{later}_1"
    assert bad["in_window", "raw_mailchimp_activity"].unexpected == 2
    assert bad["unique", "raw_mailchimp_activity"].sample[0]["copies"] == 2
