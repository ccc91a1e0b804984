"""GA4 as the sync opens it: one property's readers from the settings and the map's request (its report plans),
the plan's fingerprint, and the demo business's reader (the connector's `SPEC`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from google.analytics.data_v1beta import BetaAnalyticsDataClient

from connectors.errors import NotConfigured, RetryPolicy, source_policy
from connectors.ga4.client import make_client
from connectors.ga4.reader import DayReport, read_day
from connectors.ga4.reports import ReportPlan, check_names, plan_fingerprint, plan_reports
from connectors.ga4.settings import DEFAULT_PAGE_SIZE, MAX_CONCURRENCY
from connectors.google_auth import KEY_BLOCK, project_limit
from connectors.spec import Reader, Setting, SourceSpec


class ReportRequest(Protocol):
    """What the map asks of GA4 (the storing half's `request`): per report, the metric and dimension fields its
    touchpoints, segments and personas use."""

    @property
    def metrics(self) -> Mapping[str, Iterable[str]]: ...

    @property
    def dimensions(self) -> Mapping[str, Iterable[str]]: ...


class Ga4Settings(Protocol):
    """The settings GA4 reads (GA4_PROPERTY_ID, GA4_CREDENTIALS_FILE, GA4_API_ENDPOINT)."""

    @property
    def ga4_property_id(self) -> str | None: ...

    @property
    def ga4_credentials_file(self) -> Path | None: ...

    @property
    def ga4_api_endpoint(self) -> str | None: ...


class Options(Protocol):
    """The source's `sources:` settings GA4's readers use."""

    @property
    def page_size(self) -> int: ...

    @property
    def retry_minutes(self) -> float: ...


def plans_of(request: ReportRequest) -> list[ReportPlan]:
    """The report plans that give the map exactly the metrics and dimensions it asks for."""
    return plan_reports(request.metrics, request.dimensions)


@dataclass(frozen=True)
class PropertyReader:
    """One property's planned reports, read a day at a time (what `open_property` builds for the sync)."""

    client: BetaAnalyticsDataClient
    property_id: str
    plans: list[ReportPlan]
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    page_size: int = DEFAULT_PAGE_SIZE

    @property
    def plan_id(self) -> str:
        """The plans' fingerprint: a day read with other dimensions or metrics is read again."""
        return plan_fingerprint(self.plans)

    def check(self) -> None:
        """Fail early, naming the closest valid names, when the property lacks a planned dimension or metric."""
        check_names(self.client, self.property_id, self.plans, policy=self.policy)

    def read_day(self, day: dt.date) -> DayReport:
        """Every planned report of one day (see `connectors.ga4.read_day`)."""
        return read_day(self.client, self.property_id, day, self.plans, page_size=self.page_size, policy=self.policy)


def account_of(settings: Ga4Settings) -> str:
    """The property whose rows the map reads: GA4_PROPERTY_ID."""
    return (settings.ga4_property_id or "").strip()


def open_property(settings: Ga4Settings, options: Options, request: ReportRequest) -> PropertyReader:
    """The property's reader from the settings.

    Raises:
        NotConfigured: GA4_PROPERTY_ID is missing or not a property id; the message says what to set.
        PermanentError: the credentials cannot be loaded; the message says how to fix it.
    """
    property_id = account_of(settings)
    if not property_id:
        raise NotConfigured("GA4_PROPERTY_ID is not set; set it to the numeric id of the GA4 property "
                            "(GA4 Admin › Property details), or run with --demo")
    if not property_id.isdigit():
        raise NotConfigured(f"GA4_PROPERTY_ID {property_id!r} is not a property id; use the number shown in "
                            "GA4 Admin › Property details (not the G-… measurement id)")
    client = make_client(settings.ga4_credentials_file, settings.ga4_api_endpoint)
    return PropertyReader(client, property_id, plans_of(request), source_policy(options.retry_minutes),
                          options.page_size)


def fingerprint(request: ReportRequest) -> str:
    """What a read depends on besides its days: the plans the request makes."""
    return plan_fingerprint(plans_of(request))


def demo(outage: dt.date | None) -> dict[str, Reader]:
    """The demo business's report rows (none on the `outage` day)."""
    from connectors.demo import read_ga4_rows  # the demo's records are this package's: imported when asked for

    return {"rows": lambda since, until: read_ga4_rows(since, until, outage=outage)}


# the environment variables it reads (the flow reads them and hands the values over)
SETTINGS = (
    Setting("ga4_property_id", doc="the numeric GA4 property id"),
    Setting("ga4_credentials_file", "path", "service-account JSON (Application Default Credentials when unset)",
            block=KEY_BLOCK),
    Setting("ga4_api_endpoint", doc="REST endpoint override (proxies, tests)"),
)
SPEC = SourceSpec("ga4", settings=SETTINGS,
                  account=("GA4_PROPERTY_ID",), limit=("ga4-api", MAX_CONCURRENCY), open=open_property,
                  demo=demo, account_of=account_of, fingerprint=fingerprint, demo_outage=True,
                  shared_limit=project_limit)
