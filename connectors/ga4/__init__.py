"""Google Analytics 4: report rows shaped as the Data API returns them."""

from __future__ import annotations

from connectors.ga4.records import REPORTS, Ga4ReportRow

__all__ = ["REPORTS", "Ga4ReportRow"]
