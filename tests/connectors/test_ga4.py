"""The GA4 connector against the fake Data API, through the official SDK (REST transport)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

from connectors.demo import read_ga4_rows
from connectors.errors import NotConfigured, PermanentError, QuotaExhausted, RetryPolicy, TransientError
from connectors.ga4 import (
    SPEC,
    PropertyReader,
    ReportPlan,
    check_names,
    make_client,
    plan_fingerprint,
    plan_reports,
    plans_of,
    read_day,
)
from tests.fakes.ga4 import FakeGA4

DAY = dt.date(2026, 9, 14)
FAST = RetryPolicy(attempts=4, base_seconds=0.01, max_seconds=0.05)
PLANS = plan_reports({"traffic": ["sessions", "key_events"], "pages": ["screen_page_views"],
                      "events": ["event_count"]},
                     {"traffic": ["source", "medium", "device"], "pages": ["device"], "events": []})


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGA4]:
    with FakeGA4(property_id="123", today=dt.date(2026, 9, 30)) as server:
        yield server


@pytest.fixture(autouse=True)
def clean(fake: FakeGA4) -> Iterator[None]:
    yield
    fake.requests.clear()
    fake.quota(10**9)
    for day in (DAY, DAY + dt.timedelta(days=1)):
        fake.revise(day, 1.0)
    fake.allowed_properties = {"123"}


def client_for(fake: FakeGA4, credentials: Path | None = None):  # type: ignore[no-untyped-def]
    return make_client(credentials or fake.credentials_file, fake.url)


def reader_for(fake: FakeGA4, plans: list[ReportPlan], *, page_size: int = 100_000,
               policy: RetryPolicy = FAST) -> PropertyReader:
    """The property's reader the sync gets from `SPEC.open`, on the fake."""
    return PropertyReader(client_for(fake), "123", plans, policy, page_size)


def demo_totals(day: dt.date, report: str, field: str) -> float:
    return sum(getattr(r, field) for page in read_ga4_rows(day, day) for r in page if r.report == report)


def test_a_day_of_every_report_matches_the_source_totals(fake: FakeGA4) -> None:
    got = read_day(client_for(fake), "123", DAY, PLANS, policy=FAST)
    for report, field in (("traffic", "sessions"), ("pages", "screen_page_views"), ("events", "event_count")):
        ours = sum(getattr(r, field) for r in got.rows if r.report == report)
        assert ours == demo_totals(DAY, report, field), report
    assert {m.report for m in got.meta} == {"traffic", "pages", "events"}
    assert got.requests == 1  # one batchRunReports call for the three reports
    traffic = next(r for r in got.rows if r.report == "traffic")
    assert traffic.device in {"mobile", "desktop", "tablet"}
    assert traffic.channel == ""  # not asked for: the map does not use it
    assert got.quota.day_remaining is not None


def test_pages_beyond_the_page_size_are_fetched_with_offsets(fake: FakeGA4) -> None:
    whole = read_day(client_for(fake), "123", DAY, PLANS, policy=FAST)
    paged = read_day(client_for(fake), "123", DAY, PLANS, policy=FAST, page_size=7)
    assert sorted(map(repr, paged.rows)) == sorted(map(repr, whole.rows))
    offsets = [r.body.get("offset") for r in fake.requests.snapshot() if r.rpc == "runReport"]
    assert len(offsets) > 3
    assert paged.requests == 1 + len(offsets)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_errors_are_retried(fake: FakeGA4, status: int) -> None:
    waits: list[float] = []
    fake.fail_next(2, status)
    got = read_day(client_for(fake), "123", DAY, PLANS, policy=FAST, sleep=waits.append)
    assert len(waits) == 2
    if status == 429:
        assert all(1.0 <= w <= 1.1 for w in waits)  # Retry-After: 1 in full, plus up to 10 % of jitter
    assert sum(r.sessions for r in got.rows if r.report == "traffic") == demo_totals(DAY, "traffic", "sessions")


def test_dropped_connections_and_slow_answers_are_retried(fake: FakeGA4) -> None:
    client = client_for(fake)
    whole = read_day(client, "123", DAY, PLANS, policy=FAST)
    for fault in (lambda: fake.drop_next(1), lambda: fake.slow_next(1, 3.0)):
        fault()
        waits: list[float] = []
        got = read_day(client, "123", DAY, PLANS, policy=FAST, sleep=waits.append, timeout=1.0)
        assert len(waits) == 1
        assert sorted(map(repr, got.rows)) == sorted(map(repr, whole.rows))


def test_retries_run_out_as_a_transient_error(fake: FakeGA4) -> None:
    fake.fail_next(FAST.attempts, 503)  # every attempt fails
    with pytest.raises(TransientError, match="ServiceUnavailable"):
        read_day(client_for(fake), "123", DAY, PLANS, policy=FAST, sleep=lambda _: None)
    assert fake.requests.statuses() == [503] * FAST.attempts


def test_permission_denied_is_permanent_and_says_what_to_do(fake: FakeGA4) -> None:
    fake.allowed_properties = {"999"}
    calls = len(fake.requests)
    with pytest.raises(PermanentError, match=r"permission denied.*Viewer.*GA4_PROPERTY_ID"):
        read_day(client_for(fake), "123", DAY, PLANS, policy=FAST, sleep=lambda _: None)
    assert len(fake.requests) == calls + 1  # not retried


def test_a_forged_key_is_rejected_as_credentials(fake: FakeGA4, tmp_path: Path) -> None:
    from tests.fakes.ga4 import make_service_account

    forged, _ = make_service_account(tmp_path, fake.token_uri)  # a key the fake does not trust
    with pytest.raises(PermanentError, match="rejected the credentials"):
        read_day(client_for(fake, forged), "123", DAY, PLANS, policy=FAST, sleep=lambda _: None)


@dataclass(frozen=True)
class Misspelt(ReportPlan):
    """A plan asking for a misspelt metric (the map's schema refuses one earlier; a property may lack one)."""

    @property
    def api_metrics(self) -> list[str]:
        return ["sesions"]


def test_unknown_names_fail_early_with_the_closest_valid_ones(fake: FakeGA4) -> None:
    check_names(client_for(fake), "123", PLANS)
    with pytest.raises(PermanentError, match=r"no metric 'sesions' \(traffic report\); closest: sessions"):
        check_names(client_for(fake), "123", [Misspelt("traffic", (), ("sessions",))])


def test_bad_values_are_rejected_with_the_raw_row_and_reason(fake: FakeGA4) -> None:
    day = DAY + dt.timedelta(days=1)
    long_path = "/" + "x" * 5000
    base = {"date": day.strftime("%Y%m%d"), "sessionSource": "s", "sessionMedium": "m", "deviceCategory": "mobile"}
    fake.inject_rows(day, "landingPage", [
        {**base, "landingPage": "/empty/", "sessions": "", "keyEvents": "1"},
        {**base, "landingPage": "/text/", "sessions": "abc", "keyEvents": "1"},
        {**base, "landingPage": "/notset/", "sessions": "(not set)", "keyEvents": "1"},
        {**base, "landingPage": long_path, "sessions": "3", "keyEvents": "0"},
        {**base, "landingPage": "/recettes/pain-au-levain-ü-日本/", "sessions": "4", "keyEvents": "1"},
    ])
    got = read_day(client_for(fake), "123", day, PLANS, policy=FAST)
    reasons = {r.payload["row"]["landingPage"][:20]: r.reason for r in got.rejected}
    assert reasons["/empty/"] == "metric sessions is '', not a number"
    assert reasons["/text/"] == "metric sessions is 'abc', not a number"
    assert reasons["/notset/"] == "metric sessions is '(not set)', not a number"
    assert "5001 characters long" in reasons[long_path[:20]]
    assert any(r.item == "/recettes/pain-au-levain-ü-日本/" and r.sessions == 4 for r in got.rows)
    assert json.dumps([r.payload for r in got.rejected])  # payloads are plain JSON


def test_daily_quota_exhaustion_stops_the_source(fake: FakeGA4) -> None:
    fake.quota(tokens_per_day=2, tokens_per_request=1)
    client = client_for(fake)
    first = read_day(client, "123", DAY, PLANS[:1], policy=FAST)
    assert first.quota.day_remaining == 1
    assert first.quota.below(0.6, per_day=2, per_hour=40_000)
    assert not first.quota.below(0.4, per_day=2, per_hour=40_000)
    read_day(client, "123", DAY, PLANS[:1], policy=FAST)
    with pytest.raises(QuotaExhausted, match="daily token quota"):
        read_day(client, "123", DAY, PLANS[:1], policy=FAST, sleep=lambda _: None)


def test_credentials_errors_name_the_setting(tmp_path: Path) -> None:
    with pytest.raises(PermanentError, match=r"GA4_CREDENTIALS_FILE .* does not exist"):
        make_client(tmp_path / "missing.json", None)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(PermanentError, match="not a JSON key file"):
        make_client(tmp_path / "bad.json", None)
    (tmp_path / "user.json").write_text(json.dumps({"type": "authorized_user"}))
    with pytest.raises(PermanentError, match="not a service-account key"):
        make_client(tmp_path / "user.json", None)


REQUEST = SimpleNamespace(metrics={"traffic": {"sessions", "key_events"}, "pages": {"screen_page_views"},
                                   "events": {"event_count"}},
                          dimensions={"traffic": {"source", "medium", "device"}, "pages": {"device"}, "events": set()})


def settings_for(fake: FakeGA4, property_id: str | None = "123") -> SimpleNamespace:
    return SimpleNamespace(ga4_property_id=property_id, ga4_credentials_file=fake.credentials_file,
                           ga4_api_endpoint=fake.url)


def test_open_reads_the_planned_reports_of_the_property_the_settings_name(fake: FakeGA4) -> None:
    reader = SPEC.open(settings_for(fake, " 123 "), SimpleNamespace(page_size=7, retry_minutes=1), REQUEST)
    assert isinstance(reader, PropertyReader)
    assert (reader.property_id, reader.page_size, reader.plans) == ("123", 7, PLANS)
    assert reader.plan_id == plan_fingerprint(PLANS) == SPEC.fingerprint(REQUEST)
    reader.check()
    got = reader.read_day(DAY)
    assert sorted(map(repr, got.rows)) == sorted(map(repr, read_day(client_for(fake), "123", DAY, PLANS).rows))
    assert got.requests > 1  # paged by the options' page size
    assert SPEC.account_of(settings_for(fake, " 123 ")) == "123"
    assert plans_of(REQUEST) == PLANS


@pytest.mark.parametrize(("property_id", "message"), [
    (None, r"GA4_PROPERTY_ID is not set; set it to the numeric id of the GA4 property \(GA4 Admin › Property "
           r"details\), or run with --demo"),
    ("  ", "GA4_PROPERTY_ID is not set"),
    ("G-ABC123", r"GA4_PROPERTY_ID 'G-ABC123' is not a property id; use the number shown in GA4 Admin › Property "
                 r"details \(not the G-… measurement id\)"),
])
def test_open_names_the_setting_to_fix_before_any_request(fake: FakeGA4, property_id: str | None,
                                                          message: str) -> None:
    calls = len(fake.requests)
    with pytest.raises(NotConfigured, match=message):
        SPEC.open(settings_for(fake, property_id), SimpleNamespace(page_size=7, retry_minutes=1), REQUEST)
    assert len(fake.requests) == calls


def test_the_demo_reads_the_demo_business_with_its_outage() -> None:
    assert SPEC.demo is not None
    readers = SPEC.demo(DAY)
    assert list(readers) == ["rows"]
    got = [r for page in readers["rows"](DAY - dt.timedelta(days=1), DAY) for r in page]
    assert {r.date for r in got} == {DAY - dt.timedelta(days=1)}  # nothing on the outage day
    assert sum(r.sessions for r in got if r.report == "traffic") == \
        demo_totals(DAY - dt.timedelta(days=1), "traffic", "sessions")
