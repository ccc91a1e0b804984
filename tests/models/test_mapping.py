"""Mapping raw records onto touchpoints, per segment and persona, with unmapped volume kept."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, select

from connectors.pii import EmailHasher
from models.db import make_engine, migrate
from models.mapfile import parse_map
from models.mapping import map_window
from models.sources.ga4.streams import GA4_ROWS
from models.sources.mailchimp.streams import MAILCHIMP_ACTIVITY, MAILCHIMP_CAMPAIGNS
from models.sources.stripe.streams import STRIPE_CHECKOUTS, STRIPE_PAYMENT_INTENTS, STRIPE_REFUNDS, STRIPE_SUBSCRIPTIONS
from models.sources.stripe.tables import StripeCheckoutSession
from models.store import insert_rows, upsert
from models.sync.rows import prepare
from models.tables import TouchpointDaily, TouchpointMetricDaily, UnmappedDaily, table_of

HASHER = EmailHasher("test-salt")  # the project's one email hash, salted

MAP = """\
business: {name: Shop, timezone: Europe/London, currency: GBP}
stages: [{id: awareness, name: Awareness}, {id: purchase, name: Purchase}]
personas:
  - {name: mobile-social, where: {device: mobile, channel: Paid Social}}
journeys:
  - id: shop
    name: Shop
    goal: a sale
    value: 20
    touchpoints:
      - {id: ads, name: Ads, stage: awareness, source: ga4, match: {source: facebook, medium: cpc},
         volume: sessions, success: keyEvents}
      - {id: welcome, name: Welcome email, stage: awareness, source: mailchimp,
         match: {automation: 'Welcome.*', email: 1}, volume: sent, success: opens}
      - {id: cart, name: Cart, stage: purchase, source: ga4, match: {page_path: '/cart'}, volume: screenPageViews}
      - {id: checkout, name: Checkout, stage: purchase, source: stripe, match: {product: 'Course'},
         volume: checkouts, success: completed}
"""
DAY = dt.date(2026, 9, 1)
UTC = dt.UTC


def ga4(report: str, item: str, device: str, channel: str, source: str, medium: str, sessions: int,
        views: int = 0, key_events: float = 0.0) -> dict[str, object]:
    return {"property_id": "p", "report": report, "date": DAY, "item": item, "channel": channel, "source": source,
            "medium": medium, "device": device, "user_type": "new", "country": "GB", "sessions": sessions,
            "screen_page_views": views, "event_count": 0, "key_events": key_events, "purchase_revenue": 0.0}


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    migrate(engine)
    rows = [
        ga4("traffic", "/kit", "mobile", "Paid Social", "facebook", "cpc", 100, key_events=7),
        ga4("traffic", "/kit", "desktop", "Paid Social", "facebook", "cpc", 50, key_events=5),
        ga4("traffic", "/", "desktop", "Direct", "(direct)", "(none)", 40),
        ga4("pages", "/cart", "mobile", "Paid Social", "facebook", "cpc", 9, views=12),
        ga4("pages", "/cart", "desktop", "Direct", "(direct)", "(none)", 6, views=8),
        ga4("pages", "/about", "desktop", "Direct", "(direct)", "(none)", 3, views=3),
    ]
    campaigns = [{"account": "a1", "campaign_id": c, "title": t, "kind": "automation", "list_id": "l",
                  "workflow_id": "w", "workflow_title": "Welcome sequence", "position": p, "send_time": None}
                 for c, t, p in (("c1", "Welcome 1", 1), ("c2", "Welcome 2", 2))]
    # 23:30 UTC on 31 August is already 1 September in London (BST).
    late = dt.datetime(2026, 8, 31, 23, 30, tzinfo=UTC)
    activity = [{"account": "a1", "campaign_id": "c1", "email_hash": f"{i:064x}", "action": a, "timestamp": late}
                for i in range(4) for a in (("sent", "open") if i < 3 else ("sent",))]
    activity += [{"account": "a1", "campaign_id": "c1", "email_hash": f"{0:064x}", "action": "open",
                  "timestamp": dt.datetime(2026, 9, 1, 9, tzinfo=UTC)},  # opened twice: one unique open
                 {"account": "a1", "campaign_id": "c2", "email_hash": f"{0:064x}", "action": "sent",
                  "timestamp": late}]
    sessions = [{"account": "a1", "session_id": f"cs_{i}", "created": dt.datetime(2026, 9, 1, 12, tzinfo=UTC),
                 "status": s, "payment_status": "paid" if s == "complete" else "unpaid", "mode": "payment",
                 "amount_total": 19900, "currency": "gbp", "product_id": "prod_1", "product_name": n,
                 "customer_hash": ""}
                for i, (s, n) in enumerate([("complete", "Course"), ("expired", "Course"), ("open", "Course"),
                                            ("complete", "Ebook")])]
    with engine.begin() as conn:
        for stream, records in ((GA4_ROWS, rows), (MAILCHIMP_CAMPAIGNS, campaigns), (MAILCHIMP_ACTIVITY, activity),
                                (STRIPE_CHECKOUTS, sessions)):
            prepared = prepare(stream, records, HASHER)
            assert not prepared.bad, prepared.bad
            (insert_rows if stream.cover else upsert)(conn, stream.table, prepared.rows)
    yield engine
    engine.dispose()


def facts(engine: Engine) -> dict[tuple[str, str], tuple[float, float | None, float]]:
    with engine.connect() as conn:
        rows = conn.execute(select(table_of(TouchpointDaily)).where(TouchpointDaily.date == DAY)).all()
    return {(r.touchpoint_id, r.segment): (r.volume, r.success, r.revenue) for r in rows}


def test_ga4_rules_segments_and_personas(engine: Engine) -> None:
    with engine.begin() as conn:
        map_window(conn, parse_map(MAP), DAY, DAY)
    got = facts(engine)
    assert got[("ads", "all")] == (150.0, 12.0, 0.0)
    assert got[("ads", "device=mobile")] == (100.0, 7.0, 0.0)
    assert got[("ads", "persona=mobile-social")] == (100.0, 7.0, 0.0)
    assert got[("cart", "all")] == (20.0, None, 0.0)
    assert got[("cart", "channel=Direct")] == (8.0, None, 0.0)
    assert ("ads", "channel=Direct") not in got


def test_email_counts_unique_subscribers_per_business_day(engine: Engine) -> None:
    with engine.begin() as conn:
        map_window(conn, parse_map(MAP), DAY, DAY)
    assert facts(engine)[("welcome", "all")] == (4.0, 3.0, 0.0)


def test_stripe_checkouts_completed_and_revenue(engine: Engine) -> None:
    with engine.begin() as conn:
        map_window(conn, parse_map(MAP), DAY, DAY)
    assert facts(engine)[("checkout", "all")] == (3.0, 1.0, 199.0)


def test_unmapped_volume_is_kept_by_item(engine: Engine) -> None:
    with engine.begin() as conn:
        result = map_window(conn, parse_map(MAP), DAY, DAY)
    with engine.connect() as conn:
        left = {(r.source, r.item): r.volume for r in conn.execute(select(table_of(UnmappedDaily))).all()}
    assert left == {("ga4", "/"): 40.0, ("ga4", "/about"): 3.0, ("mailchimp", "Welcome 2"): 1.0,
                    ("stripe", "Ebook"): 1.0}
    assert result.unmapped_volume == {"ga4": 43.0, "search_console": 0.0, "mailchimp": 1.0, "stripe": 1.0,
                                      "surveys": 0.0}


def test_mapping_twice_gives_the_same_facts(engine: Engine) -> None:
    journey_map = parse_map(MAP)
    with engine.begin() as conn:
        map_window(conn, journey_map, DAY, DAY)
    first = facts(engine)
    with engine.begin() as conn:
        map_window(conn, journey_map, DAY - dt.timedelta(days=3), DAY)
    assert facts(engine) == first


def test_opens_count_for_the_day_their_email_was_sent(engine: Engine) -> None:
    """An open two days after the send belongs to the send day's cohort (so opens ≤ sends per day)."""
    later = dt.datetime(2026, 9, 3, 8, tzinfo=UTC)
    activity = [{"account": "a1", "campaign_id": "c1", "email_hash": f"{9:064x}", "action": a, "timestamp": t}
                for a, t in (("sent", dt.datetime(2026, 9, 1, 7, tzinfo=UTC)), ("open", later))]
    with engine.begin() as conn:
        insert_rows(conn, MAILCHIMP_ACTIVITY.table, prepare(MAILCHIMP_ACTIVITY, activity, HASHER).rows)
        map_window(conn, parse_map(MAP), DAY, DAY + dt.timedelta(days=3))
    got = facts(engine)
    assert got[("welcome", "all")] == (5.0, 4.0, 0.0)
    with engine.connect() as conn:
        days = conn.execute(select(TouchpointDaily.date).where(TouchpointDaily.touchpoint_id == "welcome")).all()
    assert [d for (d,) in days] == [DAY]


def test_an_open_whose_send_came_before_the_loaded_history_is_not_a_success_without_volume(engine: Engine) -> None:
    """Subscriber 8 opens on the window's last day an email sent to them before anything was loaded: on that
    day it would be a success without a send (opens > sends); it is left out, the others' cohort stays."""
    orphan = [{"account": "a1", "campaign_id": "c1", "email_hash": f"{8:064x}", "action": "open",
               "timestamp": dt.datetime(2026, 9, 3, 9, tzinfo=UTC)}]
    with engine.begin() as conn:
        insert_rows(conn, MAILCHIMP_ACTIVITY.table, prepare(MAILCHIMP_ACTIVITY, orphan, HASHER).rows)
        map_window(conn, parse_map(MAP), DAY, DAY + dt.timedelta(days=3))
    got = facts(engine)
    assert got[("welcome", "all")] == (4.0, 3.0, 0.0)  # the seeded sends and opens of 09-01, without the orphan
    with engine.connect() as conn:
        rows = conn.execute(select(TouchpointDaily.date, TouchpointDaily.volume, TouchpointDaily.success)
                            .where(TouchpointDaily.touchpoint_id == "welcome")).all()
    assert all(success <= volume for _, volume, success in rows)


def test_cart_abandonment_counts_lapsed_sessions_but_not_a_customer_who_paid_that_day(engine: Engine) -> None:
    """Expired, and open past expires_at, are abandoned — unless the same customer completed one that day."""
    buyer, other = f"{1:064x}", f"{2:064x}"
    noon = dt.datetime(2026, 9, 1, 11, tzinfo=UTC)
    rows = [("cs_a", "expired", buyer, None), ("cs_b", "complete", buyer, None),  # retried and paid: not lost
            ("cs_c", "expired", other, None),
            ("cs_d", "open", "", noon + dt.timedelta(hours=2)),  # open, already past expiry by the day's end
            ("cs_e", "open", "", noon + dt.timedelta(days=3))]  # still open: not (yet) abandoned
    sessions = [{"account": "a1", "session_id": sid, "created": noon, "status": status,
                 "payment_status": "paid" if status == "complete" else "unpaid", "mode": "payment",
                 "amount_total": 19900, "currency": "gbp", "product_id": "prod_1", "product_name": "Course",
                 "customer_hash": customer, "expires_at": expires} for sid, status, customer, expires in rows]
    text = MAP.replace("volume: checkouts, success: completed", "volume: checkouts, success: abandoned")
    with engine.begin() as conn:
        conn.execute(delete(table_of(StripeCheckoutSession)))
        upsert(conn, STRIPE_CHECKOUTS.table, prepare(STRIPE_CHECKOUTS, sessions, HASHER).rows)
        map_window(conn, parse_map(text), DAY, DAY)
    assert facts(engine)[("checkout", "all")][:2] == (5.0, 2.0)  # cs_c and cs_d


def test_subscription_starts_and_cancellations_count_for_their_days(engine: Engine) -> None:
    """Churn per product: subscriptions know only the product id; the name comes from the checkout sessions."""
    noon = dt.datetime(2026, 9, 1, 11, tzinfo=UTC)
    subs = [{"account": "a1", "subscription_id": f"sub_{i}", "created": noon - dt.timedelta(days=40 * (i % 2)),
             "status": "canceled" if i % 2 else "active", "customer": f"cus_{i}", "product_id": "prod_1",
             "amount": 900, "currency": "gbp", "interval": "month",
             "canceled_at": noon if i % 2 else None} for i in range(5)]
    text = MAP.replace("volume: checkouts, success: completed",
                       "volume: subscriptions_started, success: subscriptions_canceled")
    with engine.begin() as conn:
        upsert(conn, STRIPE_SUBSCRIPTIONS.table, prepare(STRIPE_SUBSCRIPTIONS, subs, HASHER).rows)
        map_window(conn, parse_map(text), DAY, DAY)
    assert facts(engine)[("checkout", "all")][:2] == (3.0, 2.0)  # 3 started today, 2 older ones cancelled today


def test_refunds_count_for_the_product_of_the_checkout_they_return(engine: Engine) -> None:
    noon = dt.datetime(2026, 8, 20, 11, tzinfo=UTC)
    session = {"account": "a1", "session_id": "cs_paid", "created": noon, "status": "complete",
               "payment_status": "paid", "mode": "payment", "amount_total": 19900, "currency": "gbp",
               "product_id": "prod_1", "product_name": "Course", "customer_hash": "", "payment_intent": "pi_1"}
    refunds = [{"account": "a1", "refund_id": f"re_{i}", "created": dt.datetime(2026, 9, 1, 9, tzinfo=UTC),
                "status": status, "amount": 19900, "currency": "gbp", "payment_intent": pi, "reason": ""}
               for i, (status, pi) in enumerate([("succeeded", "pi_1"), ("failed", "pi_1"), ("succeeded", "pi_x")])]
    text = MAP.replace("volume: checkouts, success: completed", "volume: refunds")
    with engine.begin() as conn:
        upsert(conn, STRIPE_CHECKOUTS.table, prepare(STRIPE_CHECKOUTS, [session], HASHER).rows)
        upsert(conn, STRIPE_REFUNDS.table, prepare(STRIPE_REFUNDS, refunds, HASHER).rows)
        map_window(conn, parse_map(text), DAY, DAY)
    assert facts(engine)[("checkout", "all")][0] == 1.0  # the failed one and the one of another payment do not count


def test_failed_and_paid_payments_count_for_the_product_of_their_checkout(engine: Engine) -> None:
    """Payment intents reach the checkout step through the session that made them: a declined card counts as a
    failed payment of that product; an intent of no checkout (an invoice, say) counts for none."""
    nine = dt.datetime(2026, 9, 1, 9, tzinfo=UTC)
    sessions = [{"account": "a1", "session_id": f"cs_{n}", "created": nine, "status": status,
                 "payment_status": "paid" if status == "complete" else "unpaid", "mode": "payment",
                 "amount_total": 19900, "currency": "gbp", "product_id": "prod_1", "product_name": "Course",
                 "customer_hash": "", "payment_intent": pi}
                for n, (status, pi) in enumerate([("complete", "pi_ok"), ("open", "pi_declined"),
                                                  ("expired", "pi_gone")])]
    intents = [{"account": "a1", "payment_intent_id": pi, "created": nine, "status": status, "amount": 19900,
                "amount_received": 19900 if status == "succeeded" else 0, "currency": "gbp", "customer": "",
                "failure_code": code, "decline_code": "insufficient_funds" if code else "",
                "canceled_at": nine if status == "canceled" else None}
               for pi, status, code in [("pi_ok", "succeeded", ""), ("pi_declined", "requires_payment_method",
                                                                     "card_declined"),
                                        ("pi_gone", "canceled", "card_declined"),
                                        ("pi_invoice", "requires_payment_method", "card_declined")]]
    prepared = prepare(STRIPE_PAYMENT_INTENTS, intents, HASHER)
    assert not prepared.bad
    with engine.begin() as conn:
        conn.execute(delete(STRIPE_CHECKOUTS.table))
        upsert(conn, STRIPE_CHECKOUTS.table, prepare(STRIPE_CHECKOUTS, sessions, HASHER).rows)
        upsert(conn, STRIPE_PAYMENT_INTENTS.table, prepared.rows)
        map_window(conn, parse_map(MAP), DAY, DAY)
    with engine.connect() as conn:
        rows = {(r.touchpoint_id, r.metric): r.value for r in conn.execute(select(table_of(TouchpointMetricDaily)))}
    assert (rows[("checkout", "payments_succeeded")], rows[("checkout", "payments_failed")]) == (1.0, 2.0)
    bad = prepare(STRIPE_PAYMENT_INTENTS, [{**intents[0], "currency": "zzz"}, {**intents[0], "amount": None}], HASHER)
    assert [reason for _, reason, _ in bad.bad] == [
        "currency 'zzz' is not a currency Stripe charges in (ISO 4217, e.g. gbp)",
        "amount must be a number ≥ 0, got None"]


def test_every_metric_of_email_and_sales_touchpoints_is_kept_per_day(engine: Engine) -> None:
    with engine.begin() as conn:
        map_window(conn, parse_map(MAP), DAY, DAY)
    with engine.connect() as conn:
        rows = {(r.touchpoint_id, r.metric): r.value for r in conn.execute(select(table_of(TouchpointMetricDaily)))}
    assert (rows[("welcome", "sent")], rows[("welcome", "opens")]) == (4.0, 3.0)  # as the step counts them
    assert ("welcome", "clicks") not in rows  # nobody clicked: no row, not a zero
    assert (rows[("checkout", "checkouts")], rows[("checkout", "completed")], rows[("checkout", "expired")]) == \
        (3.0, 1.0, 1.0)
    assert rows[("checkout", "revenue")] == 199.0
