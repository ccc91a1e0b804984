"""Google Analytics 4 Data API: report rows, response metadata and quota, a day at a time."""

from __future__ import annotations

from connectors.ga4.client import classify, make_client
from connectors.ga4.reader import DayReport, Quota, ReportMeta, read_day
from connectors.ga4.records import REPORTS, Ga4ReportRow
from connectors.ga4.reports import ReportPlan, check_names, plan_fingerprint, plan_reports
from connectors.ga4.settings import SPEC

__all__ = ["REPORTS", "SPEC", "DayReport", "Ga4ReportRow", "Quota", "ReportMeta", "ReportPlan", "check_names",
           "classify", "make_client", "plan_fingerprint", "plan_reports", "read_day"]
