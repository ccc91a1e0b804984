"""A seeded, deterministic demo business (a sourdough blog) yielding GA4, Search Console, Mailchimp, Stripe and survey
records."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import TypeVar

from connectors.demo import feedback, mail, search, site
from connectors.demo.business import DEMO_PROPERTY_ID, INCIDENTS, DemoIncident
from connectors.ga4.records import Ga4ReportRow
from connectors.mailchimp.records import EmailActivity, EmailCampaign
from connectors.search_console.records import SearchRow
from connectors.stripe.records import CheckoutSession
from connectors.surveys.records import SurveyResponse

__all__ = [
    "DEMO_PROPERTY_ID",
    "INCIDENTS",
    "DemoIncident",
    "read_checkout_sessions",
    "read_email_activity",
    "read_email_campaigns",
    "read_ga4_rows",
    "read_search_rows",
    "read_survey_responses",
]

Record = TypeVar("Record")


def _pages(since: date, until: date, page_days: int, day_records: Callable[[date], list[Record]],
           ) -> Iterator[list[Record]]:
    """One page per `page_days` calendar days of [since, until], in date order (checked before the first page)."""
    if page_days < 1:
        raise ValueError(f"page_days must be at least 1, got {page_days}")

    def pages() -> Iterator[list[Record]]:
        first = since
        while first <= until:
            last = min(first + timedelta(days=page_days - 1), until)
            yield [r for i in range((last - first).days + 1) for r in day_records(first + timedelta(days=i))]
            first = last + timedelta(days=1)

    return pages()


def read_ga4_rows(since: date, until: date, *, seed: int = 7, page_days: int = 7,
                  outage: date | None = None) -> Iterator[list[Ga4ReportRow]]:
    """Rows of the traffic (landingPage), pages (pagePath) and events (eventName) reports of property "demo".

    Each day's rows depend only on (seed, day); only rows with a non-zero metric are yielded. On `outage` the
    property records nothing (a tracking tag that fell off the site): what the data-quality checks are for.
    """
    return _pages(since, until, page_days, lambda day: [] if day == outage else site.ga4_rows(seed, day))


def read_search_rows(since: date, until: date, *, seed: int = 7, page_days: int = 7) -> Iterator[list[SearchRow]]:
    """Search Console rows of the demo blog's pages (pages and queries reports), every day final."""
    return _pages(since, until, page_days, lambda day: search.search_rows(seed, day))


def read_email_campaigns(since: date, until: date, *, seed: int = 7) -> Iterator[list[EmailCampaign]]:
    """The automation emails (one page), then the weekly newsletters sent in [since, until] (one page).

    Campaigns are the same for every seed; the argument is there for symmetry with the other readers.
    """
    del seed
    if since > until:
        return
    yield mail.automation_campaigns()
    days = (since + timedelta(days=i) for i in range((until - since).days + 1))
    yield [c for c in map(mail.newsletter, days) if c is not None]


def read_email_activity(since: date, until: date, *, seed: int = 7, page_days: int = 7,
                        ) -> Iterator[list[EmailActivity]]:
    """Per-subscriber actions (sent, open, click, bounce, unsub) whose UTC timestamp falls in [since, until].

    Opens and clicks come up to three days after the send, so an email's activity can straddle pages.
    """
    return _pages(since, until, page_days, lambda day: mail.activity(seed, day))


def read_checkout_sessions(since: date, until: date, *, seed: int = 7, page_days: int = 7,
                           ) -> Iterator[list[CheckoutSession]]:
    """Stripe Checkout sessions created in [since, until], with their final status (complete or expired)."""
    return _pages(since, until, page_days, lambda day: list(site.checkout_day(seed, day.toordinal())))


def read_survey_responses(since: date, until: date, *, seed: int = 7, page_days: int = 28,
                          ) -> Iterator[list[SurveyResponse]]:
    """NPS answers submitted in [since, until] to the demo's post-purchase and onboarding surveys."""
    return _pages(since, until, page_days, lambda day: feedback.responses(seed, day))
