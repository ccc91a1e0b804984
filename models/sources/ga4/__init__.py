"""Google Analytics 4 as the map knows it: traffic, pages and events reports by channel, device and visitor."""

from __future__ import annotations

from models.sources.spec import SourceModel

SOURCE = SourceModel(
    name="ga4", title="GA4",
    # landing_page → traffic report, page_path → pages report, event_name → events report
    keys=("landing_page", "page_path", "event_name", "channel", "source", "medium"),
    regex_keys=frozenset({"landing_page", "page_path", "event_name", "channel", "source", "medium"}),
    metrics=("sessions", "screenPageViews", "eventCount", "keyEvents", "purchaseRevenue"),
    money={"purchaseRevenue": "keyEvents, or eventCount on the purchase event"},
    defaults={"lag_days": 2, "settle_days": 3, "empty_retry_days": 7},
    dated=(("rows", "date"),), daily=("rows", "date"),
    what_to_check="Open the page as a visitor would (mobile too) and check that its events still fire in GA4 › "
                  "Admin › DebugView; compare with the last change to the page.",
    segments=("device", "channel", "user_type", "country"),
    account_per_key=False,
    page_keys=("page_path", "landing_page"), main_stream="traffic",
    stream_by_key=(("event_name", "events"), ("page_path", "pages")),
)
