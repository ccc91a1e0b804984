"""The fake GA4 Data API, driven by the official SDK over REST exactly as the connector drives Google (no patching)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import google.auth.exceptions
import google.auth.transport.requests
import pytest
import requests
from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.analytics.data_v1beta.types import (
    BatchRunReportsRequest,
    DateRange,
    Dimension,
    Filter,
    FilterExpression,
    Metric,
    RunReportRequest,
    RunReportResponse,
)
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials, Credentials
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account

from connectors.demo import read_ga4_rows
from tests.fakes.ga4 import FakeGA4, bulk_data, demo_data, make_service_account

SCOPES = ["https://www.googleapis.com/auth/analytics.readonly"]
DAY = date(2024, 3, 1)
Table = list[tuple[tuple[str, ...], tuple[str, ...]]]


@pytest.fixture
def fake() -> Iterator[FakeGA4]:
    with FakeGA4(demo_data(seed=7), property_id="123", today=date(2024, 3, 10)) as server:
        yield server


def sdk(fake: FakeGA4, credentials: Credentials | None = None) -> BetaAnalyticsDataClient:
    creds = credentials or service_account.Credentials.from_service_account_file(fake.credentials_file, scopes=SCOPES)
    return BetaAnalyticsDataClient(transport="rest", client_options={"api_endpoint": fake.url}, credentials=creds)


@pytest.fixture
def client(fake: FakeGA4) -> BetaAnalyticsDataClient:
    return sdk(fake)


def report(dims: list[str], metrics: list[str], start: date = DAY, end: date = DAY, prop: str = "123",
           **fields: object) -> RunReportRequest:
    return RunReportRequest(property=f"properties/{prop}", dimensions=[Dimension(name=d) for d in dims],
                            metrics=[Metric(name=m) for m in metrics],
                            date_ranges=[DateRange(start_date=f"{start}", end_date=f"{end}")], **fields)


def table(resp: RunReportResponse) -> Table:
    return [(tuple(v.value for v in r.dimension_values), tuple(v.value for v in r.metric_values)) for r in resp.rows]


def test_limit_and_offset_page_through_every_row_once(fake: FakeGA4, client: BetaAnalyticsDataClient) -> None:
    dims, metrics = ["date", "landingPage", "deviceCategory"], ["sessions", "keyEvents", "purchaseRevenue"]
    full = client.run_report(report(dims, metrics, DAY, DAY + timedelta(days=1)))
    n = full.row_count
    assert n == len(full.rows) > 20
    assert [d for d, _ in table(full)] == sorted(d for d, _ in table(full))  # stable order for offset paging
    half = n // 2 + 1
    first = client.run_report(report(dims, metrics, DAY, DAY + timedelta(days=1), limit=half))
    second = client.run_report(report(dims, metrics, DAY, DAY + timedelta(days=1), limit=half, offset=half))
    assert (first.row_count, second.row_count) == (n, n)
    assert (len(first.rows), len(second.rows)) == (half, n - half)
    assert table(first) + table(second) == table(full)
    assert {d[0] for d, _ in table(full)} == {"20240301", "20240302"}
    # The SDK sends int64 fields as JSON strings (proto3 JSON mapping).
    assert fake.requests[-1].body["limit"] == str(half)
    assert fake.requests[-1].body["offset"] == str(half)
    assert fake.requests[-1].date_ranges == ((DAY, DAY + timedelta(days=1)),)


def test_batch_run_reports_answers_each_request_and_charges_each(client: BetaAnalyticsDataClient) -> None:
    asks = [report(["landingPage"], ["sessions"], return_property_quota=True),
            report(["pagePath"], ["screenPageViews"]),
            report(["eventName"], ["eventCount"], return_property_quota=True)]
    resp = client.batch_run_reports(BatchRunReportsRequest(property="properties/123", requests=asks))
    assert resp.kind == "analyticsData#batchRunReports"
    assert [r.dimension_headers[0].name for r in resp.reports] == ["landingPage", "pagePath", "eventName"]
    assert all(r.row_count > 0 and r.kind == "analyticsData#runReport" for r in resp.reports)
    assert "page_view" in {d[0] for d, _ in table(resp.reports[2])}
    has_quota = [RunReportResponse.pb(r).HasField("property_quota") for r in resp.reports]
    assert has_quota == [True, False, True]
    assert resp.reports[0].property_quota.tokens_per_day.remaining == 200_000 - 3


def test_metadata_lists_the_standard_names(client: BetaAnalyticsDataClient) -> None:
    meta = client.get_metadata(name="properties/123/metadata")
    assert meta.name == "properties/123/metadata"
    dims, metrics = {d.api_name for d in meta.dimensions}, {m.api_name: m for m in meta.metrics}
    assert {"date", "landingPage", "pagePath", "eventName", "sessionDefaultChannelGroup", "sessionSource",
            "sessionMedium", "deviceCategory", "newVsReturning", "country"} <= dims
    assert {"sessions", "totalUsers", "activeUsers", "screenPageViews", "engagedSessions", "bounceRate",
            "eventCount", "keyEvents", "purchaseRevenue"} <= metrics.keys()
    assert [metrics[m].type_.name for m in ("sessions", "bounceRate", "purchaseRevenue")] == [
        "TYPE_INTEGER", "TYPE_FLOAT", "TYPE_CURRENCY"]


@pytest.mark.parametrize(("dims", "metrics", "expected"), [
    (["landingPage"], ["sessionz"], "Field sessionz is not a valid metric."),
    (["landingPageX"], ["sessions"], "Field landingPageX is not a valid dimension."),
])
def test_unknown_names_are_bad_requests(client: BetaAnalyticsDataClient, dims: list[str], metrics: list[str],
                                        expected: str) -> None:
    with pytest.raises(gexc.BadRequest) as info:
        client.run_report(report(dims, metrics))
    assert expected in info.value.message
    assert info.value.response.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_429_is_too_many_requests_with_retry_after(fake: FakeGA4, client: BetaAnalyticsDataClient) -> None:
    fake.fail_next(1, 429)
    with pytest.raises(gexc.TooManyRequests) as info:
        client.run_report(report(["landingPage"], ["sessions"]))
    assert info.value.response.headers["retry-after"] == "1"  # a requests CaseInsensitiveDict
    assert "Exhausted property tokens per hour" in info.value.message
    assert client.run_report(report(["landingPage"], ["sessions"])).row_count > 0  # only the next request failed
    assert fake.requests.statuses() == [429, 200]


@pytest.mark.parametrize(("status", "error"), [(503, gexc.ServiceUnavailable), (500, gexc.InternalServerError)])
def test_server_errors_map_to_their_exceptions(fake: FakeGA4, client: BetaAnalyticsDataClient, status: int,
                                               error: type[Exception]) -> None:
    fake.fail_next(2, status)
    for _ in range(2):
        with pytest.raises(error):
            client.run_report(report(["landingPage"], ["sessions"]))
    assert fake.requests.statuses() == [status, status]  # the SDK itself never retries


def test_a_property_the_key_may_not_read_is_forbidden(fake: FakeGA4, client: BetaAnalyticsDataClient) -> None:
    with pytest.raises(gexc.Forbidden) as info:
        client.run_report(report(["landingPage"], ["sessions"], prop="999"))
    assert "User does not have sufficient permissions for this property" in info.value.message
    fake.allowed_properties = {"123", "999"}
    assert client.run_report(report(["landingPage"], ["sessions"], prop="999")).row_count > 0


def test_missing_credentials_are_unauthenticated(fake: FakeGA4) -> None:
    raw = requests.post(f"{fake.url}/v1beta/properties/123:runReport", json={"metrics": [{"name": "sessions"}]},
                        timeout=5)
    error = gexc.from_http_response(raw)
    assert isinstance(error, gexc.Unauthorized)
    assert (raw.json()["error"]["status"], error.reason) == ("UNAUTHENTICATED", "CREDENTIALS_MISSING")
    # Through the SDK, anonymous credentials get the 401, then the session tries to refresh them.
    with pytest.raises(google.auth.exceptions.InvalidOperation):
        sdk(fake, AnonymousCredentials()).run_report(report(["landingPage"], ["sessions"]))


def test_a_forged_key_is_unauthorized_after_two_refreshes(fake: FakeGA4, tmp_path: Path) -> None:
    forged, _ = make_service_account(tmp_path, fake.token_uri, client_email=fake.service_account_email,
                                     private_key_id=fake.key_id)
    creds = service_account.Credentials.from_service_account_file(forged, scopes=SCOPES)
    with pytest.raises(gexc.Unauthorized) as info:
        sdk(fake, creds).run_report(report(["landingPage"], ["sessions"]))
    assert "invalid authentication credentials" in info.value.message
    assert fake.requests.statuses() == [401, 401, 401]  # AuthorizedSession re-signs and retries a 401 twice


def test_a_dropped_connection_is_a_requests_connection_error(fake: FakeGA4, client: BetaAnalyticsDataClient) -> None:
    fake.drop_next(1)
    with pytest.raises(requests.exceptions.ConnectionError):
        client.run_report(report(["landingPage"], ["sessions"]))
    assert client.run_report(report(["landingPage"], ["sessions"])).row_count > 0
    assert fake.requests.statuses() == [None, 200]


def test_a_slow_answer_past_the_timeout_is_a_read_timeout(fake: FakeGA4, client: BetaAnalyticsDataClient) -> None:
    fake.slow_next(1, 0.6)
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.run_report(report(["landingPage"], ["sessions"]), timeout=0.2)


def test_the_daily_quota_runs_out_after_n_reports(fake: FakeGA4, client: BetaAnalyticsDataClient) -> None:
    fake.quota(tokens_per_day=30, tokens_per_request=10)
    remaining = [client.run_report(report(["landingPage"], ["sessions"], return_property_quota=True))
                 .property_quota.tokens_per_day for _ in range(3)]
    assert [(q.consumed, q.remaining) for q in remaining] == [(10, 20), (10, 10), (10, 0)]
    with pytest.raises(gexc.TooManyRequests) as info:
        client.run_report(report(["landingPage"], ["sessions"]))
    assert "Exhausted property tokens per day" in info.value.message
    assert "retry-after" not in info.value.response.headers


def sessions_total(client: BetaAnalyticsDataClient, day: date = DAY) -> int:
    return sum(int(m[0]) for _, m in table(client.run_report(report(["landingPage"], ["sessions"], day, day))))


def test_revise_changes_a_days_numbers(fake: FakeGA4, client: BetaAnalyticsDataClient) -> None:
    before, other_day = sessions_total(client), sessions_total(client, DAY + timedelta(days=1))
    fake.revise(DAY, 2.0)
    assert sessions_total(client) == 2 * before
    assert sessions_total(client, DAY + timedelta(days=1)) == other_day
    fake.revise(DAY, 1.0)
    assert sessions_total(client) == before


def test_flags_show_in_the_response_metadata(fake: FakeGA4, client: BetaAnalyticsDataClient) -> None:
    fake.flags(DAY, data_loss_from_other_row=True, subject_to_thresholding=True, sampled=(1234, 56789))
    meta = client.run_report(report(["landingPage"], ["sessions"])).metadata
    assert (meta.data_loss_from_other_row, meta.subject_to_thresholding) == (True, True)
    assert [(s.samples_read_count, s.sampling_space_size) for s in meta.sampling_metadatas] == [(1234, 56789)]
    assert (meta.currency_code, meta.time_zone) == ("GBP", "Europe/London")
    later = DAY + timedelta(days=1)
    clean = client.run_report(report(["landingPage"], ["sessions"], later, later)).metadata
    assert (clean.data_loss_from_other_row, clean.subject_to_thresholding, len(clean.sampling_metadatas)) == (
        False, False, 0)


def test_injected_rows_come_back_verbatim(fake: FakeGA4, client: BetaAnalyticsDataClient) -> None:
    odd = {"/recettes/pain-au-levain-ü-日本/": "", "/" + "x" * 4999: "abc", "(not set)": "(not set)"}
    fake.inject_rows(DAY, "pagePath", [{"pagePath": p, "sessions": s} for p, s in odd.items()])
    served = {d[0]: m[0] for d, m in table(client.run_report(report(["pagePath"], ["sessions"], limit=100_000)))}
    assert {p: served[p] for p in odd} == odd
    traffic = {d[0] for d, _ in table(client.run_report(report(["landingPage"], ["sessions"])))}
    assert not traffic & odd.keys()  # only the report keyed by pagePath carries them


def test_a_demo_day_matches_the_demo_business(client: BetaAnalyticsDataClient) -> None:
    expected: dict[str, int] = {}
    for row in (r for page in read_ga4_rows(DAY, DAY, seed=7) for r in page if r.report == "traffic"):
        expected[row.item] = expected.get(row.item, 0) + row.sessions
    served = {d[0]: int(m[0]) for d, m in table(client.run_report(report(["landingPage"], ["sessions"])))}
    assert served == expected
    assert sum(served.values()) == sum(expected.values()) > 0


def test_dimension_filters_arrive_with_numeric_enums(fake: FakeGA4, client: BetaAnalyticsDataClient) -> None:
    begins = Filter.StringFilter(match_type=Filter.StringFilter.MatchType.BEGINS_WITH, value="/BLOG/")
    resp = client.run_report(report(["pagePath"], ["screenPageViews"], dimension_filter=FilterExpression(
        filter=Filter(field_name="pagePath", string_filter=begins))))
    paths = [d[0] for d, _ in table(resp)]
    assert paths
    assert all(p.startswith("/blog/") for p in paths)  # case-insensitive unless caseSensitive
    assert fake.requests[-1].body["dimensionFilter"]["filter"]["stringFilter"]["matchType"] == 2
    nothing = client.run_report(report(["pagePath"], ["screenPageViews"], dimension_filter=FilterExpression(
        filter=Filter(field_name="pagePath", string_filter=Filter.StringFilter(value="/nowhere/")))))
    assert (nothing.row_count, len(nothing.rows)) == (0, 0)  # GA4 then omits rows and rowCount altogether


def test_several_date_ranges_add_a_date_range_dimension(client: BetaAnalyticsDataClient) -> None:
    ranges = [DateRange(start_date="2024-03-01", end_date="2024-03-01"), DateRange(start_date="2daysAgo",
                                                                                 end_date="yesterday")]
    resp = client.run_report(RunReportRequest(property="properties/123", dimensions=[Dimension(name="date")],
                                              metrics=[Metric(name="sessions")], date_ranges=ranges))
    assert [h.name for h in resp.dimension_headers] == ["date", "dateRange"]
    assert [d for d, _ in table(resp)] == [("20240301", "date_range_0"), ("20240308", "date_range_1"),
                                           ("20240309", "date_range_1")]


def test_the_token_endpoint_issues_for_a_valid_assertion_only(fake: FakeGA4, tmp_path: Path) -> None:
    creds = service_account.Credentials.from_service_account_file(fake.credentials_file, scopes=SCOPES)
    creds.refresh(google.auth.transport.requests.Request())  # outside the SDK: a JWT-bearer grant to token_uri
    assert creds.token.startswith("ya29.")
    assert fake.tokens_issued == 1
    bearer = user_credentials.Credentials(token=creds.token)
    assert sdk(fake, bearer).run_report(report(["landingPage"], ["sessions"])).row_count > 0
    delegated = creds.with_subject("owner@example.com")  # no self-signed JWT with a subject: the SDK uses /token
    assert sdk(fake, delegated).run_report(report(["landingPage"], ["sessions"])).row_count > 0
    assert fake.tokens_issued == 2
    forged, _ = make_service_account(tmp_path, fake.token_uri, client_email=fake.service_account_email,
                                     private_key_id=fake.key_id)
    with pytest.raises(google.auth.exceptions.RefreshError, match="invalid_grant"):
        service_account.Credentials.from_service_account_file(forged, scopes=SCOPES).refresh(
            google.auth.transport.requests.Request())
    assert fake.tokens_issued == 2


def test_bulk_data_has_exactly_the_rows_asked_for() -> None:
    with FakeGA4(bulk_data(5_000, seed=1)) as fake:
        resp = sdk(fake).run_report(report(["pagePath", "deviceCategory"], ["sessions"], limit=1_000))
        assert (resp.row_count, len(resp.rows)) == (5_000, 1_000)
        assert bulk_data(5_000, seed=1)(DAY)["pagePath"].nunique() == 5_000


def test_stopping_closes_the_port() -> None:
    with FakeGA4() as fake:
        url = fake.url
        assert requests.get(f"{url}/v1beta/properties/123/metadata", timeout=5).status_code == 401
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{url}/v1beta/properties/123/metadata", timeout=5)
