"""Where to look: a touchpoint's own report in its source's web app, for the links of an alert. Pure: the flow
hands over what it knows of the accounts (a GA4 property, a Search Console site, a Mailchimp data centre, a Stripe
account)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from models.config import Touchpoint

# GA4's standard reports per report of the map's rules: pages, landing pages, events
GA4_REPORTS = {"page_path": "all-pages-and-screens", "landing_page": "landing-page", "event_name": "top-events"}


@dataclass(frozen=True)
class Campaign:
    """A Mailchimp campaign as a touchpoint's rule sees it, with the id of its report in the web app."""

    title: str
    workflow_title: str
    position: int
    web_id: int
    sent: str = ""  # ISO send time ("" for automation emails): the newest matching campaign is linked


@dataclass(frozen=True)
class Accounts:
    """What the links need to know of the accounts behind the map (None: not known, no link)."""

    ga4_property: str | None = None
    mailchimp_dc: str | None = None  # the data centre of the key (`us6` of `…-us6`)
    stripe_account: str | None = None  # `acct_…`
    mailchimp_campaigns: tuple[Campaign, ...] = ()
    search_console_site: str | None = None  # "https://www.example.com/" or "sc-domain:example.com"


def source_link(tp: Touchpoint, accounts: Accounts) -> tuple[str, str] | None:
    """(label, URL) of the touchpoint's own report, or None when its source has no web report or the account is
    not known."""
    if tp.source == "ga4" and accounts.ga4_property:
        key = next((k for k in GA4_REPORTS if k in tp.match), "page_path")
        return ("GA4 report", f"https://analytics.google.com/analytics/web/#/p{accounts.ga4_property}/reports/"
                              f"explorer?r={GA4_REPORTS[key]}")
    if tp.source == "search_console" and accounts.search_console_site:
        return ("Search Console performance", "https://search.google.com/search-console/performance/search-analytics"
                                              f"?resource_id={quote(accounts.search_console_site, safe='')}")
    if tp.source == "mailchimp" and accounts.mailchimp_dc:
        base = f"https://{accounts.mailchimp_dc}.admin.mailchimp.com"
        campaign = _newest_campaign(tp, accounts.mailchimp_campaigns)
        if campaign is not None:
            return ("Mailchimp report", f"{base}/reports/summary?id={campaign.web_id}")
        where = "customer-journey" if "automation" in tp.match else "reports"
        return ("Mailchimp reports", f"{base}/{where}/")
    if tp.source == "stripe" and accounts.stripe_account:
        base = f"https://dashboard.stripe.com/{quote(accounts.stripe_account)}"
        product = str(tp.match.get("product") or "")
        if re.fullmatch(r"prod_[A-Za-z0-9]+", product):
            return ("Stripe product", f"{base}/products/{product}")
        return ("Stripe payments", f"{base}/payments")
    return None


def _newest_campaign(tp: Touchpoint, campaigns: tuple[Campaign, ...]) -> Campaign | None:
    """The newest campaign the touchpoint's rule takes (as the mapping reads it: `campaign` and `automation` full-
    match the title and the workflow title, `email` is the position), among those whose web id is known."""
    def takes(c: Campaign) -> bool:
        for key, value in tp.match.items():
            if key == "email" and c.position != int(value):
                return False
            if key in ("campaign", "automation") and not re.fullmatch(
                    str(value), c.title if key == "campaign" else c.workflow_title):
                return False
        return True

    taken = [c for c in campaigns if c.web_id and takes(c)]
    return max(taken, key=lambda c: c.sent) if taken else None


def mailchimp_dc(api_key: str | None) -> str | None:
    """The data centre a Mailchimp key belongs to (its suffix after the dash)."""
    if not api_key or "-" not in api_key:
        return None
    return api_key.rsplit("-", 1)[1] or None
