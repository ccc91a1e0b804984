"""Typed GA4 report rows: one row per date and dimension combination of a report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# The three reports the map reads. Each report has one "item" dimension besides the
# segment dimensions (channel, source, medium, device, user type, country):
#   traffic: landingPage   — where sessions start (ads, guest posts, search)
#   pages:   pagePath      — every page viewed in a session
#   events:  eventName     — sign_up, generate_lead, purchase, share ...
REPORTS: dict[str, str] = {"traffic": "landingPage", "pages": "pagePath", "events": "eventName"}


@dataclass(frozen=True, slots=True)
class Ga4ReportRow:
    """One row of a GA4 Data API report, dimension values as GA4 spells them.

    Metrics are additive over days and dimension values (sessions, screenPageViews,
    eventCount, keyEvents, purchaseRevenue); non-additive ones (totalUsers) are not
    carried here on purpose.
    """

    property_id: str
    report: str  # a key of REPORTS
    date: date
    item: str  # landingPage / pagePath / eventName, per report
    channel: str  # sessionDefaultChannelGroup, e.g. "Paid Social"
    source: str  # sessionSource
    medium: str  # sessionMedium
    device: str  # deviceCategory: desktop / mobile / tablet
    user_type: str  # newVsReturning: new / returning
    country: str
    sessions: int
    screen_page_views: int
    event_count: int
    key_events: float
    purchase_revenue: float
