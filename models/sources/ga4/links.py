"""A GA4 touchpoint's own report in the GA4 web app (an alert's link)."""

from __future__ import annotations

from models.config import Touchpoint

# GA4's standard reports per report of the map's rules: pages, landing pages, events
GA4_REPORTS = {"page_path": "all-pages-and-screens", "landing_page": "landing-page", "event_name": "top-events"}


def link(tp: Touchpoint, property_id: str) -> tuple[str, str] | None:
    """(label, URL) of the GA4 report the touchpoint's rule reads, in the property's explorer."""
    key = next((k for k in GA4_REPORTS if k in tp.match), "page_path")
    return ("GA4 report", f"https://analytics.google.com/analytics/web/#/p{property_id}/reports/"
                          f"explorer?r={GA4_REPORTS[key]}")
