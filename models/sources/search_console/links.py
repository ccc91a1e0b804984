"""A Search Console touchpoint's own report: the property's search performance (an alert's link)."""

from __future__ import annotations

from urllib.parse import quote

from models.config import Touchpoint


def link(tp: Touchpoint, site: str) -> tuple[str, str] | None:
    """(label, URL) of the property's performance report."""
    return ("Search Console performance", "https://search.google.com/search-console/performance/search-analytics"
                                          f"?resource_id={quote(site, safe='')}")
