"""What an alert points at: the touchpoint's own report in its source, and the step's 90-day rate as a picture."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from connectors.mailchimp.links import data_centre
from models.config import Touchpoint
from models.sources.mailchimp.links import Campaign, MailchimpLinks
from reports.rate_chart import rate_png
from reports.source_links import source_link

ACCOUNTS = {"ga4": "123456789", "mailchimp": MailchimpLinks("us6"), "stripe": "acct_1Abc",
            "search_console": "sc-domain:example.com"}


def tp(source: str, **match: str | int) -> Touchpoint:
    metric = {"ga4": "sessions", "mailchimp": "sent", "stripe": "checkouts", "search_console": "impressions"}[source]
    return Touchpoint(id="t", name="T", stage="purchase", source=source, match=match, volume=metric)


@pytest.mark.parametrize(("touchpoint", "label", "url"), [
    (tp("ga4", landing_page="^/$"), "GA4 report",
     "https://analytics.google.com/analytics/web/#/p123456789/reports/explorer?r=landing-page"),
    (tp("ga4", page_path="^/cart$"), "GA4 report",
     "https://analytics.google.com/analytics/web/#/p123456789/reports/explorer?r=all-pages-and-screens"),
    (tp("ga4", event_name="purchase"), "GA4 report",
     "https://analytics.google.com/analytics/web/#/p123456789/reports/explorer?r=top-events"),
    (tp("mailchimp", automation="Welcome", email=2), "Mailchimp reports", "https://us6.admin.mailchimp.com/customer-journey/"),
    (tp("mailchimp", campaign="Newsletter.*"), "Mailchimp reports", "https://us6.admin.mailchimp.com/reports/"),
    (tp("stripe", product="prod_Course1"), "Stripe product", "https://dashboard.stripe.com/acct_1Abc/products/prod_Course1"),
    (tp("stripe", product="Sourdough course"), "Stripe payments", "https://dashboard.stripe.com/acct_1Abc/payments"),
    (tp("search_console", page=".*/recipes/.*"), "Search Console performance",
     "https://search.google.com/search-console/performance/search-analytics?resource_id=sc-domain%3Aexample.com"),
])
def test_each_source_links_to_its_own_report(touchpoint: Touchpoint, label: str, url: str) -> None:
    assert source_link(touchpoint, ACCOUNTS) == (label, url)


def test_no_link_without_the_account_and_the_data_centre_comes_from_the_key() -> None:
    assert source_link(tp("ga4", page_path="^/$"), {}) is None
    assert source_link(tp("stripe", product="x"), {"ga4": "1"}) is None
    assert source_link(tp("search_console", page="x"), {"ga4": "1"}) is None
    assert data_centre("0123abcd-us21") == "us21"
    assert data_centre("nodash") is None
    assert data_centre(None) is None


def test_the_rate_picture_is_a_small_stable_png_and_days_without_volume_are_not_zero() -> None:
    from PIL import Image

    days = [dt.date(2026, 7, 1) + dt.timedelta(days=i) for i in range(90)]
    n = [0.0 if i in (10, 11) else 200.0 for i in range(90)]
    k = [0.0 if i in (10, 11) else (60.0 if i < 70 else 30.0) for i in range(90)]
    png = rate_png("Checkout → paid", days, k, n, usual=0.3, since=days[70])
    assert png == rate_png("Checkout → paid", days, k, n, usual=0.3, since=days[70])  # byte-identical
    assert Image.open(io.BytesIO(png)).size == (800, 300)
    assert len(png) < 100_000
    assert png != rate_png("Checkout → paid", days, [60.0] * 90, [200.0] * 90, usual=0.3)  # it draws the data
    with pytest.raises(ValueError, match="must match"):
        rate_png("x", days, k[:-1], n)


def test_a_mailchimp_touchpoint_links_the_report_of_the_newest_campaign_its_rule_takes() -> None:
    campaigns = (Campaign("Weekly #11", "", 0, 111, "2026-09-07 08:00:00"),
                 Campaign("Weekly #12", "", 0, 112, "2026-09-14 08:00:00"),
                 Campaign("Offer", "", 0, 900, "2026-09-20 08:00:00"),
                 Campaign("Welcome 1", "Starter guide welcome", 1, 201),
                 Campaign("Welcome 2", "Starter guide welcome", 2, 202))
    accounts = {"mailchimp": MailchimpLinks("us6", campaigns)}
    report = "https://us6.admin.mailchimp.com/reports/summary?id="
    assert source_link(tp("mailchimp", campaign="Weekly #.*"), accounts) == ("Mailchimp report", report + "112")
    assert source_link(tp("mailchimp", automation="Starter guide.*", email=2), accounts) == (
        "Mailchimp report", report + "202")
    assert source_link(tp("mailchimp", campaign="Nothing"), accounts) == (  # no campaign known: the reports list
        "Mailchimp reports", "https://us6.admin.mailchimp.com/reports/")
