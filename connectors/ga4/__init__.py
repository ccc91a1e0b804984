"""Google Analytics 4 Data API: report rows, response metadata and quota, a day at a time."""

from __future__ import annotations

from connectors.ga4.client import classify, make_client
from connectors.ga4.reader import DayReport, Quota, ReportMeta, read_day
from connectors.ga4.records import REPORTS, Ga4ReportRow
from connectors.ga4.reports import ReportPlan, check_names, plan_fingerprint, plan_reports
from connectors.ga4.source import SPEC, PropertyReader, ReportRequest, open_property, plans_of

__all__ = ["REPORTS", "SPEC", "DayReport", "Ga4ReportRow", "PropertyReader", "Quota", "ReportMeta", "ReportPlan",
           "ReportRequest", "check_names", "classify", "make_client", "open_property", "plan_fingerprint",
           "plan_reports", "plans_of", "read_day"]
