"""The Search Console connector against the fake API, through the official google-api-python-client."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from connectors.errors import (
    AccessDenied,
    NotConfigured,
    PermanentError,
    Rejected,
    RetryBudget,
    RetryPolicy,
    TransientError,
)
from connectors.ga4 import make_client as make_ga4_client
from connectors.ga4.settings import SCOPES as GA4_SCOPES
from connectors.google_auth import load_credentials
from connectors.paging import PagingLoop
from connectors.search_console import REPORTS, SPEC, SearchRow, classify, make_client, open_search_console, read_day
from connectors.search_console.settings import SCOPES
from flows.settings import Settings
from models.config import SourceSettings
from tests.fakes.clock import FakeClock
from tests.fakes.search_console import DEFAULT_SETTLING, FakeSearchConsole, make_service_account

SITE = "https://www.example.com/"
DOMAIN = "sc-domain:example.com"
NOON = dt.datetime(2026, 9, 20, 19, tzinfo=dt.UTC)  # 12:00 in Pacific Time, the day Search Console counts in
TODAY = dt.date(2026, 9, 20)
DAY = dt.date(2026, 9, 10)  # long settled
FAST = RetryPolicy(attempts=4, base_seconds=0.01, max_seconds=0.02)


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock(NOON)


@pytest.fixture(scope="module")
def fake(clock: FakeClock) -> Iterator[FakeSearchConsole]:
    with FakeSearchConsole((SITE, DOMAIN), seed=11, clock=clock) as server:
        yield server


@pytest.fixture(autouse=True)
def clean(fake: FakeSearchConsole, clock: FakeClock) -> Iterator[None]:
    yield
    fake.requests.clear()
    fake.clear_faults()
    fake.allowed_sites = {SITE, DOMAIN}
    fake.ignore_start_row = False
    fake.settling(DEFAULT_SETTLING)
    fake.clear_empty_days()
    clock.set(NOON)


def rows_of(pages: list[list[SearchRow | Rejected]]) -> list[SearchRow]:
    return [r for page in pages for r in page if isinstance(r, SearchRow)]


def read(fake: FakeSearchConsole, day: dt.date, report: str, site: str = SITE, **kwargs: Any,
         ) -> list[list[SearchRow | Rejected]]:
    kwargs.setdefault("policy", FAST)
    return list(read_day(make_client(fake.credentials_file, fake.url), site, day, report, **kwargs))


Sums = dict[tuple[str, ...], tuple[int, int, float]]


def expected(fake: FakeSearchConsole, site: str, day: dt.date, report: str) -> Sums:
    """The report's rows summed here from the fake's finest-grain cells: keys → (clicks, impressions, Σ position ×
    impressions)."""
    out: dict[tuple[str, ...], tuple[int, int, float]] = {}
    for c in fake.cells(site, day):
        if report == "queries" and c.query is None:
            continue  # anonymised
        key = (c.page, c.query or "") if report == "queries" else (c.page, c.device, c.country)
        clicks, impressions, weighted = out.get(key, (0, 0, 0.0))
        out[key] = (clicks + c.clicks, impressions + c.impressions, weighted + c.position * c.impressions)
    return out


def key_of(row: SearchRow) -> tuple[str, ...]:
    return (row.page, row.query) if row.report == "queries" else (row.page, row.device, row.country)


@pytest.mark.parametrize(("report", "site"), [("pages", SITE), ("queries", SITE), ("pages", DOMAIN)])
def test_every_row_is_read_once_over_many_small_pages(fake: FakeSearchConsole, report: str, site: str) -> None:
    pages = read(fake, DAY, report, site, row_limit=4)
    rows = rows_of(pages)
    want = expected(fake, site, DAY, report)
    assert len(pages) >= 4
    assert all(1 <= len(p) <= 4 for p in pages)
    assert sorted(key_of(r) for r in rows) == sorted(want)  # each row once, none missing
    for row in rows:
        clicks, impressions, weighted = want[key_of(row)]
        assert (row.clicks, row.impressions) == (clicks, impressions)
        assert row.position_sum == pytest.approx(weighted)
        assert row.ctr == pytest.approx(clicks / impressions)
        assert (row.final, row.date, row.site_url) == (True, DAY, site)
    assert [r.clicks for r in rows] == sorted((r.clicks for r in rows), reverse=True)  # most clicked first
    bodies = [r.body for r in fake.requests]
    assert [b["startRow"] for b in bodies] == [4 * i for i in range(len(bodies))]
    assert all(b["startDate"] == b["endDate"] == DAY.isoformat() and b["dimensions"] == list(REPORTS[report])
               and b["type"] == "web" and b["dataState"] == "all" and b["rowLimit"] == 4 for b in bodies)
    assert len(bodies) in (len(pages), len(pages) + 1)  # a last full page is followed by one empty answer


def test_a_day_without_data_yields_nothing_after_one_request(fake: FakeSearchConsole) -> None:
    assert read(fake, TODAY + dt.timedelta(days=1), "pages") == []
    assert [r.status for r in fake.requests] == [200]


def test_an_empty_day_is_answered_without_rows_until_it_fills_in(fake: FakeSearchConsole, clock: FakeClock) -> None:
    fake.empty_day(DAY, until=TODAY + dt.timedelta(days=1))
    fake.empty_day(DAY - dt.timedelta(days=1), site_url=DOMAIN)  # of the domain property only, for good
    assert read(fake, DAY, "pages") == []
    assert read(fake, DAY, "queries") == []
    assert [r.status for r in fake.requests] == [200, 200]  # one request each: a day without a row
    assert rows_of(read(fake, DAY + dt.timedelta(days=1), "pages"))  # the property's other days are served
    assert rows_of(read(fake, DAY - dt.timedelta(days=1), "pages"))
    assert read(fake, DAY - dt.timedelta(days=1), "pages", DOMAIN) == []
    clock.advance(days=1)  # Search Console has processed the day
    rows = rows_of(read(fake, DAY, "pages"))
    assert sorted(key_of(r) for r in rows) == sorted(expected(fake, SITE, DAY, "pages"))
    assert {r.final for r in rows} == {True}


def test_partial_days_are_not_final_until_they_settle(fake: FakeSearchConsole, clock: FakeClock) -> None:
    days = [TODAY - dt.timedelta(days=n) for n in (3, 2, 1)]
    before = {d: rows_of(read(fake, d, "pages")) for d in days}
    assert [{r.final for r in before[d]} for d in days] == [{True}, {False}, {False}]
    clock.advance(days=2)  # 2026-09-22: the 19th is three days old, settled
    after = {d: rows_of(read(fake, d, "pages")) for d in days}
    assert [{r.final for r in after[d]} for d in days] == [{True}, {True}, {True}]
    for day in days[1:]:
        assert sum(r.clicks for r in after[day]) > sum(r.clicks for r in before[day])  # partial days grew
        assert sum(r.impressions for r in after[day]) == sum(v[1] for v in expected(fake, SITE, day, "pages").values())
    assert after[days[0]] == before[days[0]]  # a final day does not change


def test_settled_by_the_metadata_not_by_age(fake: FakeSearchConsole) -> None:
    fake.settling({})  # Search Console says nothing is incomplete: even yesterday is final
    assert {r.final for r in rows_of(read(fake, TODAY - dt.timedelta(days=1), "queries"))} == {True}
    fake.settling({0: 0.5, 1: 0.5, 2: 0.5, 3: 0.5, 4: 0.5})  # a slow week: five days still counted
    rows = rows_of(read(fake, TODAY - dt.timedelta(days=4), "queries"))
    assert rows
    assert {r.final for r in rows} == {False}


@pytest.mark.parametrize(("status", "reason"), [(429, None), (403, "quotaExceeded"), (403, "rateLimitExceeded")])
def test_quota_errors_are_waited_out_honouring_retry_after(fake: FakeSearchConsole, status: int,
                                                           reason: str | None) -> None:
    clean_read = rows_of(read(fake, DAY, "pages"))
    if reason is None:
        fake.fail_next(1, status, retry_after=0.05)
    else:
        fake.exceed_quota_next(1, reason, retry_after=0.05)
    fake.fail_next(1, 503)  # no Retry-After: the policy's backoff
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    fake.requests.clear()
    got = rows_of(read(fake, DAY, "pages", sleep=sleep))
    assert got == clean_read
    assert [r.status for r in fake.requests] == [status, 503, 200]
    assert len(waits) == 2
    assert 0.05 <= waits[0] <= 0.055  # the server's Retry-After in full (plus up to 10 % of jitter)
    assert waits[1] <= 0.02  # FAST's backoff, well below it


def test_quota_errors_past_the_shared_budget_are_a_transient_error(fake: FakeSearchConsole) -> None:
    budget = RetryBudget(0.5)
    budget.take(0.48)  # the source's other reads have spent most of it
    fake.exceed_quota_next(1, retry_after=0.05)
    with pytest.raises(TransientError, match=r"short-term quota exceeded \(403.*gave up after 1 tries"):
        read(fake, DAY, "pages", policy=RetryPolicy(), budget=budget, sleep=lambda _: None)
    assert len(fake.requests) == 1


def test_permission_denied_is_access_denied_with_the_fix(fake: FakeSearchConsole) -> None:
    fake.allowed_sites = {DOMAIN}
    with pytest.raises(AccessDenied, match=r"sufficient permission for site.*add the service account's email as a "
                                           r"user of the property in Search Console › Settings › Users and "
                                           r"permissions") as caught:
        read(fake, DAY, "pages")
    assert (caught.value.account, caught.value.status) == (SITE, 403)
    assert len(fake.requests) == 1  # not retried
    assert rows_of(read(fake, DAY, "pages", DOMAIN))  # the other property is still readable


def test_a_server_ignoring_start_row_stops_with_a_loop_guard_error(fake: FakeSearchConsole) -> None:
    fake.ignore_start_row = True
    pages: list[list[SearchRow | Rejected]] = []
    reader = read_day(make_client(fake.credentials_file, fake.url), SITE, DAY, "queries", row_limit=5, policy=FAST)
    with pytest.raises(PagingLoop, match=rf"Search Console {re.escape(SITE)} queries report of {DAY}: the page at 5 "
                                         "repeats the page before it"):
        pages.extend(itertools.islice(reader, 10))  # without the guard: 10 copies of the first page, then stop
    assert len(pages) == 1
    assert len(fake.requests) == 2


def test_unreadable_rows_are_rejected_and_the_rest_of_the_day_is_read(fake: FakeSearchConsole) -> None:
    day = DAY - dt.timedelta(days=1)
    good = {"clicks": 1, "impressions": 10, "ctr": 0.1, "position": 3.5}
    page = f"{SITE}odd/"
    fake.inject_rows(day, REPORTS["pages"], [
        {"keys": [day.isoformat(), f"{page}1", "MOBILE", "gbr"], "impressions": 10, "ctr": 0.1, "position": 3.5},
        {**good, "keys": [day.isoformat(), f"{page}2", "MOBILE", "gbr"], "clicks": "many"},
        {**good, "keys": [day.isoformat(), f"{page}3", "MOBILE", "gbr"], "impressions": 2.5},
        {**good, "keys": [day.isoformat(), f"{page}4", "MOBILE"]},
        {**good, "keys": ["2026-09-08", f"{page}5", "MOBILE", "gbr"]},
        {**good, "keys": [day.isoformat(), f"{page}6", "MOBILE", "gbr"], "position": 0},
        {**good, "keys": [day.isoformat(), f"{page}7", "MOBILE", "gbr"], "position": float("nan")},
        {**good, "keys": [day.isoformat(), f"{page}8", "TABLET", "irl"]},
    ])
    pages = read(fake, day, "pages", row_limit=25)
    rejected = [r for p in pages for r in p if isinstance(r, Rejected)]
    reasons = {r.payload["row"]["keys"][1].removeprefix(page): r.reason for r in rejected}
    assert reasons == {
        "1": "metric clicks is missing",
        "2": "metric clicks is 'many', not a number",
        "3": "metric impressions is 2.5, not a whole number",
        "4": f"keys {[day.isoformat(), f'{page}4', 'MOBILE']!r} are not 4 strings (date, page, device, country)",
        "5": f"row is dated 2026-09-08, not {day} as asked",
        "6": "position is 0.0, not ≥ 1 (the top result is 1)",
        "7": "metric position is nan, not a number ≥ 0",
    }
    assert rejected[0].key == f"{SITE}|pages|{day.isoformat()}|{page}1|MOBILE|gbr"
    assert all(r.payload["site_url"] == SITE and r.payload["report"] == "pages" for r in rejected)
    json.dumps([r.payload for r in rejected])  # kept whole, as plain JSON, for the quarantine
    rows = rows_of(pages)
    want = [*expected(fake, SITE, day, "pages"), (f"{page}8", "TABLET", "irl")]
    assert sorted(key_of(r) for r in rows) == sorted(want)


@pytest.mark.parametrize(("content", "message"), [
    (None, "does not exist"),
    ("{not json", "is not a JSON key file"),
    ('{"type": "authorized_user"}', "is not a service-account key"),
    ('{"type": "service_account"}', "is an incomplete service-account key"),
])
def test_a_bad_credentials_file_names_the_setting(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "key.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(PermanentError, match=rf"GA4_CREDENTIALS_FILE {re.escape(str(path))} {message}"):
        make_client(path, "http://127.0.0.1:9")


def test_one_loader_gives_each_google_source_the_key_with_its_own_scopes(fake: FakeSearchConsole) -> None:
    for scopes in (SCOPES, GA4_SCOPES):
        credentials = load_credentials(fake.credentials_file, scopes)
        assert credentials.scopes == list(scopes)
        assert credentials.service_account_email == fake.service_account_email
    with pytest.raises(ValueError, match="needs the scopes"):
        load_credentials(fake.credentials_file, ())


def test_without_a_key_file_application_default_credentials_are_used(
        fake: FakeSearchConsole, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(fake.credentials_file))
    rows = rows_of(list(read_day(make_client(None, fake.url), SITE, DAY, "pages", policy=FAST)))
    assert sorted(key_of(r) for r in rows) == sorted(expected(fake, SITE, DAY, "pages"))


def test_without_any_google_credentials_both_sources_name_the_setting_and_the_fix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "nowhere.json"))
    for make in (make_client, make_ga4_client):
        with pytest.raises(PermanentError) as caught:
            make(None, "http://127.0.0.1:9")
        assert "no Google credentials found: set GA4_CREDENTIALS_FILE to a service-account JSON key" in str(
            caught.value)
        assert "gcloud auth application-default login" in str(caught.value)


def test_a_key_the_service_does_not_trust_is_refused_as_credentials(fake: FakeSearchConsole, tmp_path: Path) -> None:
    forged, _ = make_service_account(tmp_path, fake.token_uri)
    with pytest.raises(PermanentError, match=r"rejected the credentials.*GA4_CREDENTIALS_FILE"):
        list(read_day(make_client(forged, fake.url), SITE, DAY, "pages", policy=FAST))
    assert len(fake.requests) == 0  # refused at the token endpoint, before any query


def test_an_unreachable_endpoint_is_retried_then_transient(fake: FakeSearchConsole) -> None:
    with socket.socket() as probe:  # a port nobody listens on once it is closed
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    waits: list[float] = []
    with pytest.raises(TransientError, match=r"connection problem: ConnectionRefusedError.*gave up after 4 tries"):
        list(read_day(make_client(fake.credentials_file, closed), SITE, DAY, "pages", policy=FAST, sleep=waits.append))
    assert len(waits) == FAST.attempts - 1


def test_a_bad_argument_is_permanent_and_names_the_field(fake: FakeSearchConsole) -> None:
    service = make_client(fake.credentials_file, fake.url)
    request = service.searchanalytics().query(siteUrl=SITE, body={"startDate": DAY.isoformat(),
                                                                   "endDate": DAY.isoformat(), "rowLimit": 30_000})
    with pytest.raises(HttpError) as caught:
        request.execute()
    error = classify(caught.value, SITE)
    assert isinstance(error, PermanentError)
    assert not isinstance(error, AccessDenied)
    assert f"Search Console property {SITE} refused the request (field rowLimit): 400" in str(error)
    with pytest.raises(PermanentError, match=r"outside 1\.\.25000"):
        read(fake, DAY, "pages", row_limit=30_000)


@pytest.mark.parametrize(("site", "words"), [
    (None, "SEARCH_CONSOLE_SITE_URL is not set; set it to the Search Console property exactly as Search Console › "
           "the property picker, or Settings › Ownership verification shows it ('https://www.example.com/' for a "
           "URL-prefix property, 'sc-domain:example.com' for a domain property), or run with --demo"),
    (" ", "SEARCH_CONSOLE_SITE_URL is not set"),
    ("example.com", "SEARCH_CONSOLE_SITE_URL 'example.com' is not a Search Console property; use the URL-prefix "
                    "property with its scheme and trailing slash"),
    ("https://www.example.com", "is not a Search Console property"),
])
def test_open_refuses_a_missing_or_wrong_property_before_building_a_client(
        fake: FakeSearchConsole, site: str | None, words: str) -> None:
    settings = Settings(search_console_site_url=site, ga4_credentials_file=fake.credentials_file,
                        search_console_api_endpoint=fake.url)
    with pytest.raises(NotConfigured, match=re.escape(words)):
        open_search_console(settings, SourceSettings())
    assert fake.requests == []


def test_the_readers_read_both_reports_of_each_day_and_note_the_days_not_final(fake: FakeSearchConsole) -> None:
    settings = Settings(search_console_site_url=f" {SITE} ", ga4_credentials_file=fake.credentials_file,
                        search_console_api_endpoint=fake.url)
    assert SPEC.account_of(settings) == SITE
    assert SPEC.open is open_search_console
    readers = SPEC.open(settings, SourceSettings(page_size=250_000), None)
    assert (readers.site, readers.row_limit) == (SITE, 25_000)
    assert fake.requests == []  # nothing is asked before a read
    pending: set[dt.date] = set()
    days = [TODAY - dt.timedelta(days=3), TODAY - dt.timedelta(days=2)]
    rows = rows_of(list(readers.rows(pending)(*days)))
    assert [(b["startDate"], b["dimensions"][-1]) for b in (r.body for r in fake.requests)] == [
        (d.isoformat(), list(REPORTS[report])[-1]) for d in days for report in REPORTS]
    assert {(r.date, r.report) for r in rows} == {(d, report) for d in days for report in REPORTS}
    assert pending == {days[1]}  # the day Search Console is still counting


def test_the_demo_reads_search_rows() -> None:
    assert SPEC.demo is not None
    assert list(SPEC.demo(None)) == ["rows"]
