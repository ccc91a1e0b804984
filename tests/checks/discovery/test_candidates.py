"""Product families and checkouts of a proposal: a bundle joins its base product by name or by shared buyers,
and a family sold both once and by subscription gets a checkout per plan."""

from __future__ import annotations

import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, insert

from checks.discovery.candidates import checkouts
from checks.discovery.observed import observe
from checks.discovery.parts import families
from models.sources.stripe.tables import StripeCheckoutSession
from models.tables import table_of

DAY = dt.date(2026, 9, 14)


def test_a_bundle_named_after_its_base_product_joins_its_family_despite_filler_words() -> None:
    names = {"p1": "The Profitable Blog Course", "p2": "Profitable Blog Course + Templates Bundle",
             "p3": "Blog Photography Presets"}
    assert families(names) == {"The Profitable Blog Course": ["p1", "p2"], "Blog Photography Presets": ["p3"]}


def test_most_of_a_long_name_is_the_same_family_and_one_shared_word_is_not() -> None:
    names = {"a": "Sourdough Masterclass Complete Edition", "b": "Sourdough Masterclass Complete Workbook",
             "c": "Sourdough Starter Jar"}
    assert families(names) == {"Sourdough Masterclass Complete Edition": ["a", "b"], "Sourdough Starter Jar": ["c"]}


def test_products_whose_buyers_buy_both_are_one_family() -> None:
    names = {"course": "Profit Course", "kit": "Creator Toolkit"}
    shared = {f"h{i}" for i in range(5)}
    assert families(names, {"course": shared | {"x1", "x2"}, "kit": shared}) == {"Creator Toolkit": ["kit", "course"]}
    assert len(families(names, {"course": {"h1", "h2"}, "kit": {"h1"}})) == 2  # one buyer in common is chance


def session(i: int, mode: str, product: str, name: str, customer: str = "", paid: bool = True) -> dict[str, object]:
    return {"account": "a", "session_id": f"cs_{mode}_{i}", "created": dt.datetime.combine(DAY, dt.time(9, i)),
            "status": "complete" if paid else "expired", "payment_status": "paid" if paid else "unpaid",
            "mode": mode, "amount_total": 9900 if mode == "payment" else 1900, "currency": "gbp",
            "product_id": product, "product_name": name, "customer_hash": customer, "expires_at": None,
            "payment_intent": ""}


def test_one_time_and_monthly_plans_of_a_family_get_a_checkout_each(engine: Engine) -> None:
    rows = [session(i, "payment", "prod_course", "The Profitable Blog Course", paid=i < 4) for i in range(6)]
    rows += [session(i, "subscription", "prod_monthly", "The Profitable Blog Course Monthly", paid=i < 1)
             for i in range(3)]
    with engine.begin() as conn:
        conn.execute(insert(table_of(StripeCheckoutSession)), rows)
        observed = observe(conn, DAY, DAY, ZoneInfo("UTC"))
    found, journeys, _, family_of = checkouts(observed)
    assert [j.id for j in journeys] == ["the-profitable-blog-course"]
    assert set(family_of.values()) == {"the-profitable-blog-course"}
    by_mode = {str(item.match["mode"]): item for item in found}
    assert sorted(by_mode) == ["payment", "subscription"]
    assert (by_mode["payment"].volume, by_mode["subscription"].volume) == (6, 3)
    assert by_mode["payment"].name == "Checkout: The Profitable Blog Course (one-time)"
    assert by_mode["subscription"].match["product"] == by_mode["payment"].match["product"]


@pytest.mark.parametrize("mode", ["payment", "subscription"])
def test_a_family_sold_one_way_keeps_one_checkout(engine: Engine, mode: str) -> None:
    with engine.begin() as conn:
        conn.execute(insert(table_of(StripeCheckoutSession)),
                     [session(i, mode, "prod_course", "Course") for i in range(3)])
        observed = observe(conn, DAY, DAY, ZoneInfo("UTC"))
    found, *_ = checkouts(observed)
    assert [(item.name, dict(item.match)) for item in found] == [("Checkout: Course", {"product": "Course"})]


def ga4(report: str, item: str, volume: int, medium: str = "organic", key_events: float = 0.0) -> dict[str, object]:
    column = {"traffic": "sessions", "pages": "screen_page_views", "events": "event_count"}[report]
    email = medium == "email"
    return {"property_id": "1", "report": report, "date": DAY, "item": item,
            "row_key": hashlib.sha1(f"{report}|{item}|{medium}".encode()).hexdigest(),
            "channel": "Email" if email else "Organic Search", "source": "newsletter" if email else "google",
            "medium": medium, "device": "", "user_type": "", "country": "", "sessions": 0, "screen_page_views": 0,
            "event_count": 0, "key_events": key_events, "purchase_revenue": 0.0, column: volume}


def test_a_page_the_emails_send_people_to_comes_after_the_emails(engine: Engine) -> None:
    """landing → page → event → email → the page the emails link to, although that page has the most views."""
    from checks.discovery.proposal import propose
    from models.sources.ga4.tables import Ga4Row
    from models.sources.mailchimp.tables import MailchimpActivity, MailchimpCampaign

    welcome = "Blog welcome"
    emails = [{"account": "a", "campaign_id": f"w{n}", "title": f"Welcome {n}", "kind": "automation",
               "list_id": "l", "workflow_id": "wf", "workflow_title": welcome, "position": n, "send_time": None}
              for n in (1, 2)]
    sent = dt.datetime.combine(DAY, dt.time(9))
    with engine.begin() as conn:
        conn.execute(insert(table_of(Ga4Row)), [
            ga4("pages", "/free-blogging-checklist/", 300, key_events=60), ga4("pages", "/course/", 900),
            ga4("traffic", "/free-blogging-checklist/", 250), ga4("traffic", "/course/", 100),
            ga4("traffic", "/course/", 500, medium="email"), ga4("events", "sign_up", 60, key_events=60)])
        conn.execute(insert(table_of(MailchimpCampaign)), emails)
        conn.execute(insert(table_of(MailchimpActivity)), [
            {"account": "a", "campaign_id": f"w{n}", "email_hash": f"h{i}", "action": "sent", "timestamp": sent}
            for n in (1, 2) for i in range(40)])
        observed = observe(conn, DAY, DAY, ZoneInfo("UTC"))
    journey = propose(observed).journey_map.journeys[0]
    order = [dict(t.match) for t in journey.touchpoints if t.stage == "consideration"]
    assert order == [{"page_path": "/free-blogging-checklist/"}, {"event_name": "sign_up"},
                     {"automation": welcome, "email": 1}, {"automation": welcome, "email": 2},
                     {"page_path": "/course/"}]
