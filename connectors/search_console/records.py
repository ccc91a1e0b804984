"""Typed Search Console rows: one row per date and dimension combination of a report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class SearchRow:
    """One row of a Search Analytics report (search type web), dimension values as Search Console spells them.

    Clicks and impressions are additive over days and dimension values. `ctr` and `position` are not: `position`
    is the mean top position of the site's result per impression, and must never be summed (nor `ctr`); roll it
    up through `position_sum`, weighted by impressions, and divide by the impressions of the same rows.
    """

    site_url: str  # the property: "https://www.example.com/" or "sc-domain:example.com"
    report: str  # a key of settings.REPORTS
    date: date  # the Pacific Time day Search Console counts in
    page: str  # the canonical URL shown in the result
    query: str  # "" in the pages report
    device: str  # DESKTOP / MOBILE / TABLET; "" in the queries report
    country: str  # ISO 3166-1 alpha-3, lower case ("gbr"); "" in the queries report
    clicks: int
    impressions: int
    ctr: float  # clicks / impressions, 0..1
    position: float  # mean position per impression, 1 = top; not additive
    final: bool  # False while Search Console is still counting the day (it may grow)

    @property
    def position_sum(self) -> float:
        """position × impressions: additive, so that a roll-up's position is Σ position_sum / Σ impressions."""
        return self.position * self.impressions
