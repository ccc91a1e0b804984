"""GA4 constants: API names, report shapes, paging and quota defaults."""

from __future__ import annotations

SCOPES = ("https://www.googleapis.com/auth/analytics.readonly",)
DEFAULT_PAGE_SIZE = 100_000
MAX_PAGE_SIZE = 250_000  # the Data API's limit per request
QUOTA_RESERVE = 0.10  # stop while this share of the daily or hourly tokens is left
MAX_CONCURRENCY = 10  # concurrent requests per property allowed by GA4
REQUEST_TIMEOUT = 120.0  # seconds per request
MAX_ITEM_LENGTH = 2000  # longer page paths are quarantined, not stored

# Record field → GA4 dimension. `item` is the report's own dimension (REPORT_ITEMS).
DIMENSIONS = {
    "channel": "sessionDefaultChannelGroup",
    "source": "sessionSource",
    "medium": "sessionMedium",
    "device": "deviceCategory",
    "user_type": "newVsReturning",
    "country": "country",
}
REPORT_ITEMS = {"traffic": "landingPage", "pages": "pagePath", "events": "eventName"}
# Record field → GA4 metric; every one of them is additive over days and dimension values.
METRICS = {
    "sessions": "sessions",
    "screen_page_views": "screenPageViews",
    "event_count": "eventCount",
    "key_events": "keyEvents",
    "purchase_revenue": "purchaseRevenue",
}
INTEGER_METRICS = frozenset({"sessions", "screenPageViews", "eventCount"})
