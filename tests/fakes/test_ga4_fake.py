"""The fake GA4 Data API, driven by the official SDK over REST exactly as the connector drives Google (no patching)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import google.auth.exceptions
import google.auth.transport.requests
import numpy as np
import pandas as pd
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
from connectors.ga4 import make_client
from tests.fakes.clock import FakeClock
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
    assert "Exhausted concurrent requests quota" in info.value.message  # the 429 that passes within seconds
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
    assert info.value.response.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert "retry-after" not in info.value.response.headers


def test_the_hourly_quota_runs_out_with_its_own_message(fake: FakeGA4, client: BetaAnalyticsDataClient) -> None:
    fake.quota(tokens_per_day=100, tokens_per_request=10, tokens_per_hour=20)
    hourly = [client.run_report(report(["landingPage"], ["sessions"], return_property_quota=True))
              .property_quota.tokens_per_hour.remaining for _ in range(2)]
    assert hourly == [10, 0]
    with pytest.raises(gexc.TooManyRequests) as info:
        client.run_report(report(["landingPage"], ["sessions"]))
    error = info.value.response.json()["error"]
    assert (error["code"], error["status"]) == (429, "RESOURCE_EXHAUSTED")
    assert error["message"].startswith("Exhausted property tokens per hour.")
    assert "per day" not in error["message"]


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


# --- a clock, settling days, empty days, repeated rows ----------------------------------------------------------
def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 6, tzinfo=UTC)


def round_numbers(day: date) -> pd.DataFrame:
    """Three landing pages whose sessions scale to whole numbers at 85 % and 95 % (no rounding in the way)."""
    return pd.DataFrame({"landingPage": ["/a/", "/b/", "/c/"], "deviceCategory": ["desktop", "mobile", "tablet"],
                         "sessions": [100, 200, 40], "keyEvents": [1.0, 2.0, 0.5]})


def raw_report(fake: FakeGA4, body: dict[str, Any]) -> dict[str, Any]:
    """The runReport JSON exactly as sent (the SDK cannot tell a missing field from its default)."""
    creds = service_account.Credentials.from_service_account_file(fake.credentials_file, scopes=SCOPES)
    creds.refresh(google.auth.transport.requests.Request())
    answer = requests.post(f"{fake.url}/v1beta/properties/123:runReport", json=body, timeout=5,
                           headers={"Authorization": f"Bearer {creds.token}"})
    assert answer.status_code == 200
    return answer.json()


def dates_served(client: BetaAnalyticsDataClient, start: str, end: str) -> list[str]:
    resp = client.run_report(RunReportRequest(property="properties/123", dimensions=[Dimension(name="date")],
                                              metrics=[Metric(name="sessions")],
                                              date_ranges=[DateRange(start_date=start, end_date=end)]))
    return [d[0] for d, _ in table(resp)]


def test_with_a_clock_today_is_the_clocks_day_and_the_future_is_empty() -> None:
    clock = FakeClock(at(DAY))
    with FakeGA4(demo_data(seed=7), clock=clock) as fake:
        client = make_client(fake.credentials_file, fake.url)
        assert fake.today == DAY
        assert dates_served(client, "yesterday", "today") == ["20240229", "20240301"]
        assert dates_served(client, "2024-03-01", "2024-03-03") == ["20240301"]  # GA4 has no data for the future
        clock.advance(days=1)
        assert dates_served(client, "yesterday", "today") == ["20240301", "20240302"]
        assert dates_served(client, "2024-03-01", "2024-03-03") == ["20240301", "20240302"]  # not a cached answer
        assert fake.requests[-2].date_ranges == ((DAY, DAY + timedelta(days=1)),)  # resolved on the clock's day


def test_today_and_clock_together_are_refused() -> None:
    with pytest.raises(ValueError, match="either today= or clock="):
        FakeGA4(today=DAY, clock=FakeClock(at(DAY)))


def test_a_day_settles_at_85_then_95_then_100_percent_as_the_clock_moves() -> None:
    clock = FakeClock(at(DAY + timedelta(days=1)))
    with FakeGA4(round_numbers, clock=clock) as fake:
        client = make_client(fake.credentials_file, fake.url)
        fake.settling({1: 0.85, 2: 0.95})
        final = int(round_numbers(DAY)["sessions"].sum())
        seen = []
        for _ in range(3):
            seen.append(sessions_total(client))
            clock.advance(days=1)
        assert seen == [round(final * 0.85), round(final * 0.95), final] == [289, 323, 340]
        served = {d[0]: m for d, m in table(client.run_report(report(["landingPage"], ["sessions", "keyEvents"])))}
        assert served == {"/a/": ("100", "1"), "/b/": ("200", "2"), "/c/": ("40", "0.5")}  # exactly the source's


def test_settling_scales_each_row_like_revise_and_multiplies_with_it(fake: FakeGA4,
                                                                     client: BetaAnalyticsDataClient) -> None:
    before, other_day = sessions_total(client), sessions_total(client, DAY + timedelta(days=1))
    age = (fake.today - DAY).days  # without a clock, ages count back from the fixed today
    fake.settling({age: 0.5})
    rows = demo_data(seed=7)(DAY)["landingPage"]["sessions"].to_numpy()
    assert sessions_total(client) == int(np.rint(rows * 0.5).sum())  # rounded per finest-grain row
    assert sessions_total(client, DAY + timedelta(days=1)) == other_day  # another age: served whole
    fake.revise(DAY, 2.0)
    assert sessions_total(client) == before  # 2.0 x 0.5
    fake.revise(DAY, 1.0)
    fake.settling({})
    assert sessions_total(client) == before


def test_an_empty_day_answers_like_ga4_then_fills_in_once_the_clock_reaches_until() -> None:
    clock = FakeClock(at(DAY + timedelta(days=1)))
    with FakeGA4(demo_data(seed=7), clock=clock) as fake:
        client = make_client(fake.credentials_file, fake.url)
        settled = sessions_total(client)
        fake.empty_day(DAY, until=DAY + timedelta(days=3))
        body = {"dimensions": [{"name": "landingPage"}], "metrics": [{"name": "sessions"}],
                "dateRanges": [{"startDate": f"{DAY}", "endDate": f"{DAY}"}], "returnPropertyQuota": True}
        empty = raw_report(fake, body)
        assert "rows" not in empty
        assert "rowCount" not in empty  # proto3 JSON leaves out an empty list and a zero
        assert empty["metadata"] == {"currencyCode": "GBP", "timeZone": "Europe/London"}
        assert empty["propertyQuota"]["tokensPerDay"]["consumed"] == 1
        assert dates_served(client, f"{DAY}", "today") == ["20240302"]  # the other day is unaffected
        clock.advance(days=1)
        assert client.run_report(report(["landingPage"], ["sessions"])).row_count == 0  # still before `until`
        clock.advance(days=1)
        assert sessions_total(client) == settled > 0


def test_an_empty_day_without_until_stays_empty(fake: FakeGA4, client: BetaAnalyticsDataClient) -> None:
    fake.inject_rows(DAY, "landingPage", [{"landingPage": "/injected/", "sessions": 5}])
    fake.empty_day(DAY)
    batch = client.batch_run_reports(BatchRunReportsRequest(property="properties/123", requests=[
        report(["landingPage"], ["sessions"]), report(["pagePath"], ["screenPageViews"]),
        report(["landingPage"], ["sessions"], DAY + timedelta(days=1), DAY + timedelta(days=1))]))
    assert [r.row_count for r in batch.reports][:2] == [0, 0]
    assert batch.reports[2].row_count > 0


def paged(client: BetaAnalyticsDataClient, dims: list[str], metrics: list[str], limit: int,
          ) -> list[RunReportResponse]:
    pages = [client.run_report(report(dims, metrics, limit=limit))]
    while limit * len(pages) < pages[0].row_count:
        pages.append(client.run_report(report(dims, metrics, limit=limit, offset=limit * len(pages))))
    return pages


@pytest.mark.parametrize("conflicting", [False, True])
def test_a_repeated_row_arrives_again_on_a_later_page(fake: FakeGA4, client: BetaAnalyticsDataClient,
                                                      conflicting: bool) -> None:
    dims, metrics = ["landingPage", "deviceCategory"], ["sessions", "keyEvents"]
    unique = table(client.run_report(report(dims, metrics)))
    fake.repeat_row(DAY, "landingPage", index=1, conflicting=conflicting)
    limit = len(unique) // 2 + 1
    pages = paged(client, dims, metrics, limit)
    assert len(pages) == 2
    assert [p.row_count for p in pages] == [len(unique) + 1] * 2
    first, second = table(pages[0]), table(pages[1])
    assert first + second[:-1] == unique  # every other row exactly once, in order
    (dimensions, (sessions, key_events)) = second[-1]
    assert first[1][0] == dimensions  # the page-1 row, served again as the very last one
    bump = 1 if conflicting else 0
    assert (sessions, key_events) == (str(int(first[1][1][0]) + bump), first[1][1][1])  # keyEvents is a float


def test_a_repeated_row_in_a_batch_touches_only_its_report_and_day(fake: FakeGA4,
                                                                   client: BetaAnalyticsDataClient) -> None:
    later = DAY + timedelta(days=1)
    asks = [report(["date", "pagePath"], ["screenPageViews"], DAY, later), report(["landingPage"], ["sessions"]),
            report(["pagePath"], ["screenPageViews"], later, later)]
    before = [table(r) for r in client.batch_run_reports(BatchRunReportsRequest(property="properties/123",
                                                                                requests=asks)).reports]
    fake.repeat_row(DAY, "pagePath", conflicting=True)
    after = [table(r) for r in client.batch_run_reports(BatchRunReportsRequest(property="properties/123",
                                                                               requests=asks)).reports]
    assert after[1:] == before[1:]
    assert after[0][:-1] == before[0]
    first_of_day = next(row for row in before[0] if row[0][0] == "20240301")
    assert after[0][-1] == (first_of_day[0], (str(int(first_of_day[1][0]) + 1),))
