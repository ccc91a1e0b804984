"""A map's fit to the data, read from a hand-made warehouse on SQLite and PostgreSQL: the volume it covers, another
map's share of it, uncovered pages grouped by folder, a renamed page, a new automation email — and the proposal
built from the same rows."""

from __future__ import annotations

import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, insert

from checks.discovery.drift import coverage, map_drift
from checks.discovery.observed import Observed, observe
from checks.discovery.proposal import propose
from models.config import Business, Journey, JourneyMap, Stage, Touchpoint
from models.sources.ga4.tables import Ga4Row
from models.sources.mailchimp.tables import MailchimpActivity, MailchimpCampaign, MailchimpReport
from models.sources.stripe.tables import StripeCheckoutSession
from models.tables import table_of

DAY = dt.date(2026, 9, 10)
UTC = ZoneInfo("UTC")
WELCOME = "Starter guide welcome"


def ga4(report: str, item: str, volume: int, source: str = "google", key_events: float = 0.0) -> dict[str, object]:
    column = {"traffic": "sessions", "pages": "screen_page_views", "events": "event_count"}[report]
    return {"property_id": "1", "report": report, "date": DAY, "row_key": hashlib.sha1(f"{report}{item}{source}"
            .encode()).hexdigest(), "item": item, "channel": "Organic Search", "source": source, "medium": "organic",
            "device": "", "user_type": "", "country": "", "sessions": 0, "screen_page_views": 0, "event_count": 0,
            "key_events": key_events, "purchase_revenue": 0.0, column: volume}


def tp(tid: str, source: str, volume: str, **match: str | int) -> Touchpoint:
    return Touchpoint(id=tid, name=tid, stage="consideration", source=source, match=match, volume=volume)


def a_map(*tps: Touchpoint) -> JourneyMap:
    return JourneyMap(business=Business(name="Shop"), stages=[Stage(id="consideration", name="Consideration")],
                      journeys=[Journey(id="j", name="j", goal="g", value=1, touchpoints=list(tps))])


@pytest.fixture
def observed(engine: Engine) -> Observed:
    """A day of a small site: a renamed lead magnet, four recipe pages, a welcome sequence that grew an email, a
    receipt email known by its report, and a course sold through Stripe."""
    pages = [ga4("pages", "/free-sourdough-starter-guide/", 300, key_events=90),
             ga4("pages", "/shop/sourdough-course/", 200, key_events=20), ga4("pages", "/cart/", 100)]
    pages += [ga4("pages", f"/recipes/loaf-{i}/", 100) for i in range(4)]
    emails = [{"account": "a", "campaign_id": f"w{n}", "title": f"Welcome {n}", "kind": "automation", "list_id": "l",
               "workflow_id": "wf", "workflow_title": WELCOME, "position": n, "send_time": None} for n in (1, 2, 3)]
    emails.append({**emails[0], "campaign_id": "r1", "title": "Your receipt", "workflow_id": "wf2",
                   "workflow_title": "Order notifications", "position": 1})
    sent = dt.datetime.combine(DAY, dt.time(9))
    with engine.begin() as conn:
        conn.execute(insert(table_of(Ga4Row)), [*pages, ga4("traffic", "/recipes/loaf-0/", 400),
                                                ga4("events", "sign_up", 90, key_events=90),
                                                ga4("events", "page_view", 5000)])
        conn.execute(insert(table_of(MailchimpCampaign)), emails)
        conn.execute(insert(table_of(MailchimpActivity)), [
            {"account": "a", "campaign_id": f"w{n}", "email_hash": f"h{i}", "action": "sent", "timestamp": sent}
            for n in (1, 2, 3) for i in range(10)] + [  # a receipt: opens on record, its sends only in its report
            {"account": "a", "campaign_id": "r1", "email_hash": "h0", "action": "open", "timestamp": sent}])
        conn.execute(insert(table_of(MailchimpReport)), [
            {"account": "a", "campaign_id": "r1", "taken_on": DAY, "emails_sent": 42, "unique_opens": 1,
             "unique_clicks": 0, "hard_bounces": 0, "unsubscribed": 0}])
        conn.execute(insert(table_of(StripeCheckoutSession)), [
            {"account": "a", "session_id": f"cs{i}", "created": sent, "status": "complete" if i < 3 else "expired",
             "payment_status": "paid" if i < 3 else "unpaid", "mode": "payment", "amount_total": 9900,
             "currency": "gbp", "product_id": "prod_course", "product_name": "Sourdough Course", "customer_hash": "",
             "expires_at": None, "payment_intent": ""} for i in range(5)])
        return observe(conn, DAY, DAY, UTC)


CURRENT = a_map(tp("lead-magnet", "ga4", "screenPageViews", page_path="/free-starter-guide/"),
                tp("cart", "ga4", "screenPageViews", page_path="/cart/"),
                tp("welcome-1", "mailchimp", "sent", automation=WELCOME, email=1),
                tp("welcome-2", "mailchimp", "sent", automation=WELCOME, email=2),
                tp("checkout", "stripe", "checkouts", product="Sourdough Course"))


def test_drift_names_the_renamed_page_the_new_email_and_the_uncovered_folder(observed: Observed) -> None:
    drift = map_drift(observed, CURRENT)
    assert [(d.touchpoint, d.closest) for d in drift.dead] == [("lead-magnet", "/free-sourdough-starter-guide/")]
    assert [(e.automation, e.position, e.title) for e in drift.new_emails] == [(WELCOME, 3, "Welcome 3")]
    uncovered = {(u.kind, u.item): round(u.share, 3) for u in drift.uncovered}
    assert uncovered[("page", "/recipes/… (4 pages)")] == round(400 / 1000, 3)  # grouped by folder
    assert uncovered[("page", "/free-sourdough-starter-guide/")] == round(300 / 1000, 3)
    assert ("event", "page_view") not in uncovered  # GA4's automatic events are not the map's business
    assert ("event", "sign_up") in uncovered


def test_coverage_is_the_share_of_the_reference_maps_volume_the_other_map_takes(observed: Observed) -> None:
    own = coverage(observed, CURRENT)  # of all volume: cart 100 of 1000 page views + 400 sessions + 90 sign-ups
    assert own["ga4"] == pytest.approx(100 / (1000 + 400 + 90))  # (page_view, GA4's own event, weighs nothing)
    assert own["mailchimp"] == pytest.approx(20 / 30)
    assert own["stripe"] == 1.0
    half = a_map(tp("welcome-1", "mailchimp", "sent", automation=WELCOME, email=1),
                 tp("cart", "ga4", "screenPageViews", page_path="/cart/"))
    share = coverage(observed, CURRENT, half)  # CURRENT maps cart 100 + welcome 1 and 2 (20 sends) + 5 checkouts
    assert share["mailchimp"] == pytest.approx(0.5)
    assert share["ga4"] == 1.0
    assert share["stripe"] == 0.0
    assert share["all"] == pytest.approx((100 + 10) / (100 + 20 + 5))


def test_the_proposal_from_the_same_rows_orders_the_funnel_and_covers_the_current_map(observed: Observed) -> None:
    made = propose(observed)
    proposal = made.journey_map
    assert [j.id for j in proposal.journeys] == ["sourdough-course"]
    journey = proposal.journeys[0]
    order = [(t.stage, dict(t.match)) for t in journey.touchpoints]
    purchase = [m for stage, m in order if stage == "purchase"]
    assert purchase == [{"page_path": "/shop/sourdough-course/"}, {"page_path": "/cart/"},
                        {"product": "Sourdough Course"}, {"automation": "Order notifications", "email": 1}]
    receipt = next(t.id for t in journey.touchpoints if t.match.get("automation") == "Order notifications")
    assert made.notes[receipt].startswith("42 sends in all, by Mailchimp's report (no send times on record) — "
                                          "email 1 of the automation 'Order notifications'")
    assert made.notes[next(t.id for t in journey.touchpoints if t.match.get("email") == 1)].startswith(
        "10 sends in 1 day — email 1 of the automation 'Starter guide welcome'")
    emails = [m["email"] for _, m in order if m.get("automation") == WELCOME]
    assert emails == [1, 2, 3]
    assert journey.goal_touchpoint == next(t.id for t in journey.touchpoints if t.source == "stripe")
    assert journey.value == 99.0
    assert proposal.business.currency == "GBP"
    assert coverage(observed, CURRENT, proposal)["all"] == pytest.approx(1.0)
