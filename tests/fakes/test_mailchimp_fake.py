"""The fake Mailchimp Marketing API, driven by the official `mailchimp_marketing` client as a connector would."""

from __future__ import annotations

import hashlib
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import mailchimp_marketing
import pytest
import requests
from mailchimp_marketing.api_client import ApiClientError

from tests.fakes.clock import FakeClock
from tests.fakes.mailchimp import ERROR_TYPE, FakeActivity, FakeCampaign, FakeMailchimp

T0 = datetime(2026, 9, 1, 8, tzinfo=UTC)
LIST = "a1b2c3d4e5"


@pytest.fixture
def fake() -> Iterator[FakeMailchimp]:
    with FakeMailchimp() as server:
        server.add_list(LIST, "Newsletter")
        yield server


def make_client(fake: FakeMailchimp, api_key: str | None = None) -> Any:
    client = mailchimp_marketing.Client()
    client.set_config({"api_key": fake.api_key if api_key is None else api_key, "server": fake.server})
    client.api_client.host = fake.url
    return client


@pytest.fixture
def client(fake: FakeMailchimp) -> Any:
    return make_client(fake)


def regular(i: int, send_time: datetime | None) -> FakeCampaign:
    return FakeCampaign(f"reg{i:07d}", f"Newsletter {i}", "regular", LIST, send_time, subject_line=f"News {i}")


def md5(email: str) -> str:
    return hashlib.md5(email.lower().encode()).hexdigest()


def problem(exc: ApiClientError) -> dict[str, Any]:
    # application/problem+json does not contain "application/json", so the client leaves the body as text.
    assert isinstance(exc.text, str)
    body: dict[str, Any] = json.loads(exc.text)
    return body


def test_ping_with_basic_auth(fake: FakeMailchimp, client: Any) -> None:
    assert client.ping.get() == {"health_status": "Everything's Chimpy!"}
    assert (fake.server, fake.url.endswith("/3.0")) == ("us6", True)
    assert [(r.method, r.path, r.status) for r in fake.requests] == [("GET", "/3.0/ping", 200)]


def test_campaign_paging_returns_every_regular_campaign_once(fake: FakeMailchimp, client: Any) -> None:
    for i in range(25):
        fake.add_campaign(regular(i, T0 + timedelta(days=i)))
    fake.add_campaign(FakeCampaign("auto000001", "Welcome 1", "automation", LIST, T0, "wf1", "Onboarding", 1))
    seen: list[str] = []
    for offset in (0, 10, 20):
        page = client.campaigns.list(count=10, offset=offset)
        assert page["total_items"] == 25
        seen += [c["id"] for c in page["campaigns"]]
    assert sorted(seen) == [f"reg{i:07d}" for i in range(25)]  # automation emails are listed under automations
    assert fake.requests[-1].query == {"count": ["10"], "offset": ["20"]}
    first = client.campaigns.list(count=1)["campaigns"][0]
    assert (first["id"], first["type"], first["status"], first["send_time"]) == (
        "reg0000000", "regular", "sent", "2026-09-01T08:00:00+00:00")
    assert first["recipients"]["list_id"] == LIST
    assert (first["settings"]["title"], first["settings"]["subject_line"]) == ("Newsletter 0", "News 0")
    assert client.campaigns.list(count=10, offset=30) == {"campaigns": [], "total_items": 25}


def test_send_time_filters_and_sorting(fake: FakeMailchimp, client: Any) -> None:
    for i in range(10):
        fake.add_campaign(regular(i, T0 + timedelta(days=i)))
    fake.add_campaign(regular(99, None))  # a draft: status "save", never matches a send-time filter
    since = client.campaigns.list(count=100, since_send_time="2026-09-08T08:00:00+00:00")
    assert [c["id"] for c in since["campaigns"]] == ["reg0000007", "reg0000008", "reg0000009"]  # inclusive
    # A datetime works too: the client sends its isoformat(), "+" percent-encoded.
    window = client.campaigns.list(count=100, since_send_time=T0 + timedelta(days=2),
                                   before_send_time=T0 + timedelta(days=4), sort_field="send_time", sort_dir="DESC")
    assert [c["id"] for c in window["campaigns"]] == ["reg0000003", "reg0000002"]
    assert fake.requests[-1].query["since_send_time"] == ["2026-09-03T08:00:00+00:00"]
    drafts = client.campaigns.list(status="save")
    assert [(c["id"], c["send_time"]) for c in drafts["campaigns"]] == [("reg0000099", "")]
    assert client.campaigns.list(status="sent")["total_items"] == 10


def add_recipients(fake: FakeMailchimp, campaign_id: str, n: int) -> list[FakeActivity]:
    rows = []
    for i in range(n):
        email = f"Person{i:03d}@Example.com"
        rows.append(FakeActivity(campaign_id, email, "sent", T0))
        if i % 2 == 0:
            rows.append(FakeActivity(campaign_id, email, "open", T0 + timedelta(minutes=i)))
        if i % 5 == 0:
            rows += [FakeActivity(campaign_id, email, "click", T0 + timedelta(minutes=i, seconds=30)),
                     FakeActivity(campaign_id, email, "open", T0 + timedelta(hours=5))]
        if i % 50 == 1:
            rows.append(FakeActivity(campaign_id, email, "bounce", T0 + timedelta(seconds=5)))
        if i % 40 == 3:
            rows.append(FakeActivity(campaign_id, email, "unsub", T0 + timedelta(hours=1)))
    fake.add_activity(rows)
    return rows


def all_activity(client: Any, campaign_id: str, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        page = client.reports.get_email_activity_for_campaign(campaign_id, count=100, offset=len(out), **params)
        out += page["emails"]
        if len(out) >= page["total_items"]:
            return out


def test_email_activity_pages_over_recipients_and_since_filters(fake: FakeMailchimp, client: Any) -> None:
    fake.add_campaign(regular(1, T0))
    rows = add_recipients(fake, "reg0000001", 250)
    emails = all_activity(client, "reg0000001")
    assert [r.query["offset"] for r in fake.requests] == [["0"], ["100"], ["200"]]
    assert [e["email_address"] for e in emails] == [f"Person{i:03d}@Example.com" for i in range(250)]
    assert [e["email_id"] for e in emails] == [md5(e["email_address"]) for e in emails]
    assert {(e["campaign_id"], e["list_id"], e["list_is_active"]) for e in emails} == {("reg0000001", LIST, True)}
    got = Counter(a["action"] for e in emails for a in e["activity"])
    want = Counter(r.action for r in rows if r.action in ("open", "click", "bounce"))
    assert got == want  # "sent" and "unsub" are not email activity
    person5 = emails[5]["activity"]
    assert [a["action"] for a in person5] == ["click", "open"]
    assert {k: person5[0][k] for k in ("action", "timestamp")} == {"action": "click",
                                                                   "timestamp": "2026-09-01T08:05:30+00:00"}
    assert set(person5[0]) == {"action", "timestamp", "ip", "url"}
    assert emails[1]["activity"][0] | {"ip": ""} == {"action": "bounce", "type": "hard", "ip": "",
                                                      "timestamp": "2026-09-01T08:00:05+00:00"}
    assert emails[3]["activity"] == []  # a recipient with no events is still listed

    since = T0 + timedelta(minutes=100)
    recent = all_activity(client, "reg0000001", since=since.isoformat())
    expected = sorted({r.email for r in rows if r.action in ("open", "click", "bounce") and r.timestamp > since})
    assert len(expected) > 50
    assert [e["email_address"] for e in recent] == expected
    assert all(a["timestamp"] > "2026-09-01T09:40:00+00:00" for e in recent for a in e["activity"])


def test_report_totals_match_totals(fake: FakeMailchimp, client: Any) -> None:
    fake.add_campaign(regular(1, T0))
    add_recipients(fake, "reg0000001", 250)
    fake.bulk(20_000, campaigns=4, seed=3)
    totals = fake.totals()
    assert sum(totals.values()) == 20_000 + sum(n for (c, _), n in totals.items() if c == "reg0000001")
    ids = [c["id"] for c in client.campaigns.list(count=1000)["campaigns"]]
    assert len(ids) == 5
    for campaign_id in ids:
        report = client.reports.get_campaign_report(campaign_id)
        got = {"sent": report["emails_sent"], "open": report["opens"]["opens_total"],
               "click": report["clicks"]["clicks_total"], "bounce": report["bounces"]["hard_bounces"],
               "unsub": report["unsubscribed"]}
        assert got == {a: totals.get((campaign_id, a), 0) for a in got}
        delivered = report["emails_sent"] - report["bounces"]["hard_bounces"]
        assert report["opens"]["open_rate"] == pytest.approx(report["opens"]["unique_opens"] / delivered)
        assert report["clicks"]["unique_subscriber_clicks"] <= report["clicks"]["clicks_total"]
    report = client.reports.get_campaign_report("reg0000001")
    assert (report["opens"]["unique_opens"], report["opens"]["last_open"]) == (150, "2026-09-01T13:00:00+00:00")
    assert (report["campaign_title"], report["type"], report["list_id"]) == ("Newsletter 1", "regular", LIST)
    sent_to = client.reports.get_campaign_recipients("reg0000001", count=1000)
    assert sent_to["total_items"] == 250
    by_email = {s["email_address"]: s for s in sent_to["sent_to"]}
    assert (by_email["Person000@Example.com"]["open_count"], by_email["Person001@Example.com"]["status"]) == (2, "hard")
    assert by_email["Person000@Example.com"]["last_open"] == "2026-09-01T13:00:00+00:00"
    unsubs = client.reports.get_unsubscribed_list_for_campaign("reg0000001", count=1000)
    assert unsubs["total_items"] == totals[("reg0000001", "unsub")] == len(unsubs["unsubscribes"])


def test_automations_and_their_emails_in_position_order(fake: FakeMailchimp, client: Any) -> None:
    for position in (3, 1, 2):
        fake.add_campaign(FakeCampaign(f"onb{position}", f"Onboarding {position}", "automation", LIST,
                                       T0 + timedelta(days=position), "wf-onb", "Onboarding", position,
                                       f"Step {position}"))
    fake.add_campaign(FakeCampaign("win1", "Win back", "automation", LIST, T0, "wf-win", "Win-back", 1))
    fake.add_activity([FakeActivity("onb2", "ann@example.com", "sent", T0),
                       FakeActivity("onb2", "ann@example.com", "open", T0 + timedelta(hours=1))])
    flows = client.automations.list()
    assert flows["total_items"] == 2
    assert [(a["id"], a["settings"]["title"], a["status"]) for a in flows["automations"]] == [
        ("wf-onb", "Onboarding", "sending"), ("wf-win", "Win-back", "sending")]
    assert flows["automations"][0]["recipients"]["list_id"] == LIST
    assert flows["automations"][0]["emails_sent"] == 1
    emails = client.automations.list_all_workflow_emails("wf-onb")
    assert [(e["id"], e["position"], e["workflow_id"]) for e in emails["emails"]] == [
        ("onb1", 1, "wf-onb"), ("onb2", 2, "wf-onb"), ("onb3", 3, "wf-onb")]
    second = emails["emails"][1]
    assert (second["settings"]["title"], second["settings"]["subject_line"]) == ("Onboarding 2", "Step 2")
    assert second["report_summary"] | {"ecommerce": None} == {
        "opens": 1, "unique_opens": 1, "open_rate": 1.0, "clicks": 0, "subscriber_clicks": 0, "click_rate": 0,
        "ecommerce": None}
    assert client.campaigns.list()["total_items"] == 0
    assert client.campaigns.get("onb2")["type"] == "automation"
    assert client.reports.get_campaign_report("onb2")["emails_sent"] == 1


def test_bad_and_missing_keys_are_401_problem_json(fake: FakeMailchimp) -> None:
    with pytest.raises(ApiClientError) as info:
        make_client(fake, "ffffffffffffffffffffffffffffffff-us6").ping.get()
    assert info.value.status_code == 401
    body = problem(info.value)
    assert body | {"instance": ""} == {
        "type": ERROR_TYPE, "title": "API Key Invalid", "status": 401, "instance": "",
        "detail": "Your API key may be invalid, or you've attempted to access the wrong datacenter."}
    uuid.UUID(body["instance"])
    with pytest.raises(ApiClientError) as info:
        make_client(fake, "").ping.get()  # no key: the client sends no Authorization header at all
    assert (info.value.status_code, problem(info.value)["title"]) == (401, "API Key Missing")


def test_429_with_retry_after_then_success(fake: FakeMailchimp, client: Any) -> None:
    # ApiClientError carries only .text and .status_code; headers are reachable by wrapping ApiClient.request,
    # which returns the requests.Response.
    seen: list[requests.Response] = []
    original: Callable[..., requests.Response] = client.api_client.request

    def request(*args: Any, **kwargs: Any) -> requests.Response:
        seen.append(original(*args, **kwargs))
        return seen[-1]

    client.api_client.request = request
    fake.fail_next(1, 429, retry_after=2)
    with pytest.raises(ApiClientError) as info:
        client.ping.get()
    assert info.value.status_code == 429
    assert not hasattr(info.value, "headers")
    assert str(info.value) == ""  # raised with keyword arguments only: log .status_code and .text instead
    assert problem(info.value)["title"] == "Too Many Requests"
    assert seen[-1].headers["Retry-After"] == "2"
    assert seen[-1].headers["Content-Type"].startswith("application/problem+json")
    assert client.ping.get()["health_status"] == "Everything's Chimpy!"
    assert [r.status for r in fake.requests] == [429, 200]


def test_other_failures(fake: FakeMailchimp, client: Any) -> None:
    fake.fail_next(1, 503)
    with pytest.raises(ApiClientError) as info:
        client.ping.get()
    assert (info.value.status_code, problem(info.value)["title"]) == (503, "Service Unavailable")
    with pytest.raises(ApiClientError) as info:
        client.reports.get_campaign_report("nosuchid")
    assert (info.value.status_code, problem(info.value)["title"]) == (404, "Resource Not Found")
    raw = requests.get(f"{fake.url}/nowhere", auth=("user", fake.api_key), timeout=5)
    assert (raw.status_code, raw.json()["title"]) == (404, "Resource Not Found")
    fake.drop_next(1)
    with pytest.raises(ApiClientError) as info:
        client.ping.get()
    assert info.value.status_code is None  # .text is the requests exception itself, not a string
    assert isinstance(info.value.text, requests.exceptions.ConnectionError)
    with pytest.raises(ValueError, match="less than or equal to `1000`"):
        client.campaigns.list(count=1001)  # refused by the client before any request
    assert [r.status for r in fake.requests] == [503, 404, 404, None]
    with pytest.raises(ValueError, match="unknown campaign"):
        fake.add_activity([FakeActivity("nosuchid", "a@example.com", "sent", T0)])


def test_fields_must_be_a_list(fake: FakeMailchimp, client: Any) -> None:
    fake.add_campaign(regular(1, T0))
    add_recipients(fake, "reg0000001", 3)
    slim = client.reports.get_email_activity_for_campaign("reg0000001", fields=["emails.email_id", "total_items"])
    assert slim == {"emails": [{"email_id": md5(f"person{i:03d}@example.com")} for i in range(3)], "total_items": 3}
    assert fake.requests[-1].query["fields"] == ["emails.email_id,total_items"]  # csv-joined by the client
    lean = client.reports.get_email_activity_for_campaign("reg0000001", exclude_fields=["emails.activity",
                                                                                          "campaign_id"])
    assert set(lean) == {"emails", "total_items"}
    assert "activity" not in lean["emails"][0]
    # A plain string is iterated character by character, so Mailchimp sees fields "t,o,t,a,l,..."; the answer is
    # an empty object, for which the client returns the bare requests.Response instead of a dict.
    broken = client.reports.get_email_activity_for_campaign("reg0000001", fields="total_items")
    assert fake.requests[-1].query["fields"] == ["t,o,t,a,l,_,i,t,e,m,s"]
    assert isinstance(broken, requests.Response)
    assert broken.json() == {}


def test_lists_and_growth_history(fake: FakeMailchimp, client: Any) -> None:
    oct1 = datetime(2026, 10, 1, 8, tzinfo=UTC)
    fake.add_campaign(regular(1, T0))
    fake.add_campaign(regular(2, oct1))
    fake.add_activity([FakeActivity("reg0000001", f"p{i}@example.com", "sent", T0) for i in range(3)])
    fake.add_activity([FakeActivity("reg0000002", f"p{i}@example.com", "sent", oct1) for i in range(5)])
    fake.add_activity([FakeActivity("reg0000002", "p0@example.com", "unsub", oct1 + timedelta(hours=2)),
                       FakeActivity("reg0000002", "p4@example.com", "bounce", oct1)])
    lists = client.lists.get_all_lists()
    assert [(x["id"], x["name"], x["stats"]["member_count"]) for x in lists["lists"]] == [(LIST, "Newsletter", 3)]
    history = client.lists.get_list_growth_history(LIST)
    assert history["total_items"] == 2
    pick = ("month", "existing", "optins", "subscribed", "unsubscribed", "cleaned")
    assert [tuple(h[k] for k in pick) for h in history["history"]] == [
        ("2026-10", 3, 2, 3, 1, 1), ("2026-09", 0, 3, 3, 0, 0)]  # newest first
    assert client.lists.get_list_growth_history(LIST, sort_dir="ASC")["history"][0]["month"] == "2026-09"
    assert set(history["history"][0]) >= {"list_id", "imports", "reconfirm", "pending", "deleted", "transactional"}


def test_bulk_loads_a_million_rows_quickly(fake: FakeMailchimp, client: Any) -> None:
    started = time.perf_counter()
    fake.bulk(1_000_000, campaigns=20, seed=1)
    totals = fake.totals()
    assert time.perf_counter() - started < 5
    assert sum(totals.values()) == 1_000_000
    assert {a for _, a in totals} == {"sent", "open", "click", "bounce", "unsub"}
    campaigns = client.campaigns.list(count=1000, sort_field="send_time")["campaigns"]
    assert len(campaigns) == 20
    assert campaigns[0]["send_time"] == "2026-09-01T08:00:00+00:00"
    first = campaigns[0]["id"]
    page = client.reports.get_email_activity_for_campaign(first, count=1000, fields=["total_items"])
    assert page["total_items"] == totals[(first, "sent")]


def test_concurrency_is_measured_and_can_be_limited(fake: FakeMailchimp) -> None:
    fake.latency = 0.3
    clients = [make_client(fake) for _ in range(4)]

    def ping(c: Any) -> int:
        try:
            c.ping.get()
        except ApiClientError as exc:
            return int(exc.status_code)
        return 200

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(ping, clients)) == [200] * 4
    assert fake.max_concurrent >= 2
    fake.max_concurrent, fake.concurrency_limit = 0, 1
    with ThreadPoolExecutor(3) as pool:
        statuses = sorted(pool.map(ping, clients[:3]))
    assert statuses == [200, 429, 429]


# --- the shared clock ------------------------------------------------------------------------------------------
@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0 + timedelta(hours=1))


@pytest.fixture
def timed(clock: FakeClock) -> Iterator[FakeMailchimp]:
    with FakeMailchimp(clock=clock) as server:
        server.add_list(LIST, "Newsletter")
        yield server


def report_numbers(client: Any, campaign_id: str) -> tuple[int, int, int, int]:
    r = client.reports.get_campaign_report(campaign_id)
    return r["emails_sent"], r["opens"]["opens_total"], r["clicks"]["clicks_total"], r["unsubscribed"]


def test_the_clock_hides_what_has_not_happened_yet(timed: FakeMailchimp, clock: FakeClock) -> None:
    client = make_client(timed)
    timed.add_campaign(regular(1, T0))
    timed.add_campaign(regular(2, T0 + timedelta(days=1)))
    timed.add_activity([
        FakeActivity("reg0000001", "ann@example.com", "sent", T0), FakeActivity("reg0000001", "bob@example.com",
                                                                                "sent", T0),
        FakeActivity("reg0000001", "ann@example.com", "open", T0 + timedelta(minutes=30)),
        FakeActivity("reg0000001", "ann@example.com", "click", T0 + timedelta(minutes=40)),
        FakeActivity("reg0000001", "bob@example.com", "unsub", T0 + timedelta(hours=2)),
        FakeActivity("reg0000001", "bob@example.com", "open", T0 + timedelta(hours=3)),
        FakeActivity("reg0000002", "ann@example.com", "sent", T0 + timedelta(days=1))])
    timed.add_member(LIST, "ann@example.com", T0 - timedelta(days=10))
    timed.add_member(LIST, "bob@example.com", T0 - timedelta(days=10), unsubscribed_at=T0 + timedelta(hours=2))
    timed.add_member(LIST, "dan@example.com", T0 + timedelta(days=1))

    def snapshot() -> dict[str, Any]:
        activity = client.reports.get_email_activity_for_campaign("reg0000001")
        sent_to = client.reports.get_campaign_recipients("reg0000001")
        members = client.lists.get_list_members_info(LIST)
        growth = client.lists.get_list_growth_history(LIST, sort_dir="ASC")["history"]
        return {
            "report": report_numbers(client, "reg0000001"), "future report": report_numbers(client, "reg0000002"),
            "activity": [(e["email_address"], [a["action"] for a in e["activity"]]) for e in activity["emails"]],
            "sent_to": [(s["email_address"], s["open_count"]) for s in sent_to["sent_to"]],
            "unsubs": client.reports.get_unsubscribed_list_for_campaign("reg0000001")["total_items"],
            "statuses": [(c["id"], c["status"]) for c in client.campaigns.list()["campaigns"]],
            "sent": [c["id"] for c in client.campaigns.list(status="sent")["campaigns"]],
            "reports": [r["id"] for r in client.reports.get_all_campaign_reports()["reports"]],
            "members": [(m["email_address"], m["status"], m["last_changed"]) for m in members["members"]],
            "growth": [(h["month"], h["optins"], h["unsubscribed"], h["subscribed"]) for h in growth],
            "member_count": client.lists.get_list(LIST)["stats"]["member_count"],
        }

    early = snapshot()
    assert early == {
        "report": (2, 1, 1, 0), "future report": (0, 0, 0, 0),
        "activity": [("ann@example.com", ["open", "click"]), ("bob@example.com", [])],
        "sent_to": [("ann@example.com", 1), ("bob@example.com", 0)], "unsubs": 0,
        "statuses": [("reg0000001", "sent"), ("reg0000002", "schedule")],  # sent at its send time, not before
        "sent": ["reg0000001"], "reports": ["reg0000001"],
        "members": [("ann@example.com", "subscribed", "2026-08-22T08:00:00+00:00"),
                    ("bob@example.com", "subscribed", "2026-08-22T08:00:00+00:00")],
        "growth": [("2026-08", 2, 0, 2)], "member_count": 2,  # they opted in in August
    }
    clock.advance(days=2)
    late = snapshot()
    assert late["report"] == (2, 2, 1, 1)
    assert late["future report"] == (1, 0, 0, 0)
    assert late["activity"] == [("ann@example.com", ["open", "click"]), ("bob@example.com", ["open"])]
    assert (late["unsubs"], late["sent"], late["reports"]) == (1, ["reg0000001", "reg0000002"],
                                                               ["reg0000001", "reg0000002"])
    assert late["members"] == [("ann@example.com", "subscribed", "2026-08-22T08:00:00+00:00"),
                               ("bob@example.com", "unsubscribed", "2026-09-01T10:00:00+00:00"),
                               ("dan@example.com", "subscribed", "2026-09-02T08:00:00+00:00")]
    assert (late["growth"], late["member_count"]) == ([("2026-08", 2, 0, 2), ("2026-09", 1, 1, 2)], 2)
    clock.set(T0 + timedelta(hours=1))  # going back: the cached views must not serve the later answers
    assert snapshot() == early
    clock.set(T0 - timedelta(days=30))
    assert report_numbers(client, "reg0000001") == (0, 0, 0, 0)
    assert client.lists.get_list_growth_history(LIST)["total_items"] == 0


def test_views_of_a_million_rows_follow_the_clock_quickly(timed: FakeMailchimp, clock: FakeClock) -> None:
    timed.bulk(1_000_000, campaigns=20, seed=1)
    client = make_client(timed)
    ids = [c["id"] for c in client.campaigns.list(count=1000, sort_field="send_time")["campaigns"]]
    sent_by_day = []
    started = time.perf_counter()
    for day in range(0, 36, 5):
        clock.set(T0 + timedelta(days=day))
        sent_by_day.append(sum(client.reports.get_campaign_report(c, fields=["emails_sent"])["emails_sent"]
                               for c in ids))
    assert time.perf_counter() - started < 10
    assert sent_by_day == sorted(sent_by_day)
    assert 0 < sent_by_day[0] < sent_by_day[-1] == sum(n for (_, a), n in timed.totals().items() if a == "sent")


# --- audience members ------------------------------------------------------------------------------------------
def add_members(fake: FakeMailchimp) -> None:
    for i in range(25):
        status = {3: "cleaned", 4: "pending"}.get(i, "subscribed")
        left = T0 + timedelta(hours=30) if i == 7 else None
        fake.add_member(LIST, f"Member{i:02d}@Example.com", T0 + timedelta(hours=i), status=status,
                        unsubscribed_at=left)


def emails_of(page: dict[str, Any]) -> list[int]:
    return [int(m["email_address"][6:8]) for m in page["members"]]


def test_members_page_filter_and_sort(fake: FakeMailchimp, client: Any) -> None:
    add_members(fake)
    first = client.lists.get_list_members_info(LIST)
    assert (emails_of(first), first["total_items"], first["list_id"]) == (list(range(10)), 25, LIST)
    seen = [i for offset in (0, 10, 20) for i in emails_of(client.lists.get_list_members_info(
        LIST, count=10, offset=offset))]
    assert seen == list(range(25))

    def ids(**params: Any) -> list[int]:
        return emails_of(client.lists.get_list_members_info(LIST, count=1000, **params))

    assert ids(status="subscribed") == [i for i in range(25) if i not in (3, 4, 7)]
    assert (ids(status="cleaned"), ids(status="pending"), ids(status="unsubscribed")) == ([3], [4], [7])
    assert ids(status="archived") == []
    assert ids(since_timestamp_opt=(T0 + timedelta(hours=20)).isoformat()) == [20, 21, 22, 23, 24]  # inclusive
    assert ids(before_timestamp_opt="2026-09-01T10:00:00+00:00") == [0, 1]  # exclusive
    assert ids(since_last_changed="2026-09-02T08:00:00+00:00") == [7, 24]  # 7 changed when it unsubscribed
    assert ids(before_last_changed="2026-09-01T09:00:00Z") == [0]
    assert ids(sort_field="last_changed", sort_dir="DESC")[:3] == [7, 24, 23]
    assert ids(sort_field="timestamp_opt", sort_dir="DESC") == list(range(24, -1, -1))
    assert ids(sort_field="timestamp_opt") == ids(sort_field="timestamp_signup") == list(range(25))
    slim = client.lists.get_list_members_info(LIST, count=2, fields=["members.email_address", "total_items"])
    assert slim == {"members": [{"email_address": "Member00@Example.com"},
                                {"email_address": "Member01@Example.com"}], "total_items": 25}
    with pytest.raises(ApiClientError) as info:
        client.lists.get_list_members_info(LIST, status="gone")
    assert (info.value.status_code, problem(info.value)["errors"][0]["field"]) == (400, "status")


def test_a_single_member_as_mailchimp_renders_it(fake: FakeMailchimp, client: Any) -> None:
    fake.add_campaign(regular(1, T0))
    fake.add_activity([FakeActivity("reg0000001", "ann@example.com", "sent", T0)])
    fake.add_member(LIST, "ANN@example.com", T0 - timedelta(days=3), unsubscribed_at=T0 + timedelta(hours=5))
    member = client.lists.get_list_member(LIST, md5("ann@example.com"))
    assert set(member) >= {"unique_email_id", "contact_id", "web_id", "ip_opt", "member_rating"}
    assert {k: v for k, v in member.items() if k not in ("unique_email_id", "contact_id", "web_id", "ip_opt")} | {
        "merge_fields": {}, "source": ""} == {
        "id": md5("ann@example.com"), "email_address": "ann@example.com",  # the address as first seen
        "full_name": "", "email_type": "html", "status": "unsubscribed",  # no clock: the unsubscribe has happened
        "timestamp_signup": "", "ip_signup": "", "timestamp_opt": "2026-08-29T08:00:00+00:00", "member_rating": 2,
        "last_changed": "2026-09-01T13:00:00+00:00", "language": "", "vip": False, "email_client": "",
        "location": {"latitude": 0, "longitude": 0, "gmtoff": 0, "dstoff": 0, "country_code": "", "timezone": "",
                     "region": ""},
        "tags_count": 0, "tags": [], "list_id": LIST, "merge_fields": {}, "source": ""}
    activity = client.reports.get_email_activity_for_campaign("reg0000001")["emails"][0]
    assert activity["email_id"] == member["id"]  # a member and their activity are one address
    assert client.lists.get_list_member(LIST, "Ann@Example.com")["id"] == member["id"]  # the address works too
    for list_id, key in ((LIST, md5("nobody@example.com")), ("nolist0000", member["id"])):
        with pytest.raises(ApiClientError) as info:
            client.lists.get_list_member(list_id, key)
        assert (info.value.status_code, problem(info.value)["title"]) == (404, "Resource Not Found")


def test_members_appear_when_they_subscribe(timed: FakeMailchimp, clock: FakeClock) -> None:
    client = make_client(timed)
    add_members(timed)
    clock.set(T0 + timedelta(hours=7, minutes=30))
    page = client.lists.get_list_members_info(LIST, count=1000)
    assert (emails_of(page), page["total_items"]) == (list(range(8)), 8)
    assert page["members"][7]["status"] == "subscribed"  # unsubscribes at T0 + 30h
    with pytest.raises(ApiClientError) as info:
        client.lists.get_list_member(LIST, md5("member08@example.com"))
    assert info.value.status_code == 404
    clock.set(T0 + timedelta(hours=30))
    member = client.lists.get_list_member(LIST, md5("member07@example.com"))
    assert (member["status"], member["last_changed"]) == ("unsubscribed", "2026-09-02T14:00:00+00:00")
    with pytest.raises(ValueError, match="status"):
        timed.add_member(LIST, "x@example.com", T0, status="gone")
    with pytest.raises(ValueError, match="before subscribing"):
        timed.add_member(LIST, "x@example.com", T0, unsubscribed_at=T0 - timedelta(seconds=1))


# --- automation emails: delays and sends -----------------------------------------------------------------------
def onboarding(fake: FakeMailchimp, delays: list[tuple[int | None, str]]) -> list[str]:
    ids = []
    for position, (amount, unit) in enumerate(delays, start=1):
        ids.append(f"onb{position}")
        fake.add_campaign(FakeCampaign(ids[-1], f"Onboarding {position}", "automation", LIST, T0, "wf-onb",
                                       "Onboarding", position, delay_amount=amount, delay_type=unit))
    return ids


def test_automation_email_delays(fake: FakeMailchimp, client: Any) -> None:
    onboarding(fake, [(None, "day"), (None, "day"), (3, "week"), (6, "hour"), (1, "hour"), (2, "day")])
    delays = [e["delay"] for e in client.automations.list_all_workflow_emails("wf-onb")["emails"]]
    assert delays[0] == {"amount": 0, "type": "day", "direction": "after", "action": "signup",
                         "action_description": "after signup", "full_description": "Immediately after signup"}
    assert delays[1] == {"amount": 1, "type": "day", "direction": "after", "action": "previous_campaign_sent",
                         "action_description": "after the previous email is sent",
                         "full_description": "1 day after the previous email is sent"}
    assert [d["full_description"] for d in delays[2:]] == [
        "3 weeks after the previous email is sent", "6 hours after the previous email is sent",
        "1 hour after the previous email is sent", "2 days after the previous email is sent"]
    assert client.automations.get_workflow_email("wf-onb", "onb4")["delay"]["type"] == "hour"
    with pytest.raises(ValueError, match="delay"):
        fake.add_campaign(FakeCampaign("bad1", "Bad", "automation", LIST, T0, "wf-bad", "Bad", 1,
                                       delay_amount=1, delay_type="month"))


def test_automation_sends_follow_the_delays_count_but_are_not_activity(timed: FakeMailchimp,
                                                                       clock: FakeClock) -> None:
    client = make_client(timed)
    ids = onboarding(timed, [(None, "day"), (2, "day"), (12, "hour")])
    timed.add_member(LIST, "ann@example.com", T0)
    timed.add_member(LIST, "bob@example.com", T0 + timedelta(days=1), unsubscribed_at=T0 + timedelta(days=3))
    timed.add_member(LIST, "cat@example.com", T0, status="unsubscribed")
    timed.add_member(LIST, "dan@example.com", T0, status="pending")
    # ann: T0, T0 + 2d, T0 + 2d12h; bob: T0 + 1d, T0 + 3d is his unsubscribe time, so nothing more.
    assert timed.add_automation_sends("wf-onb", seed=4, open_rate=1.0, click_rate=1.0) == 4
    sends = {T0: (1, 0, 0), T0 + timedelta(days=1): (2, 0, 0), T0 + timedelta(days=2, seconds=-1): (2, 0, 0),
             T0 + timedelta(days=2): (2, 1, 0), T0 + timedelta(days=2, hours=12): (2, 1, 1),
             T0 + timedelta(days=30): (2, 1, 1)}
    for moment, want in sends.items():
        clock.set(moment)
        got = tuple(client.reports.get_campaign_report(i, fields=["emails_sent"])["emails_sent"] for i in ids)
        assert got == want, moment
        emails = client.automations.list_all_workflow_emails("wf-onb")["emails"]
        assert tuple(e["emails_sent"] for e in emails) == want
        assert client.automations.get("wf-onb")["emails_sent"] == sum(want)
    recipients = client.reports.get_campaign_recipients("onb1")
    assert [(s["email_address"], s["status"]) for s in recipients["sent_to"]] == [
        ("ann@example.com", "sent"), ("bob@example.com", "sent")]
    assert "timestamp" not in recipients["sent_to"][0]  # recipients, without send times
    for campaign_id in ids:
        report = client.reports.get_campaign_report(campaign_id)
        activity = client.reports.get_email_activity_for_campaign(campaign_id)["emails"]
        actions = Counter(a["action"] for e in activity for a in e["activity"])
        assert actions == {"open": report["emails_sent"], "click": report["emails_sent"]}  # never "sent"
    ann = client.reports.get_email_activity_for_campaign("onb1")["emails"][0]["activity"]
    opened = datetime.fromisoformat(ann[0]["timestamp"])
    assert timedelta(hours=1) <= opened - T0 <= timedelta(hours=48)
    assert timedelta(minutes=1) <= datetime.fromisoformat(ann[1]["timestamp"]) - opened <= timedelta(minutes=30)
    with pytest.raises(ValueError, match="unknown workflow"):
        timed.add_automation_sends("wf-none")


def test_automation_sends_are_seeded_and_near_the_rates(fake: FakeMailchimp, client: Any) -> None:
    onboarding(fake, [(None, "day"), (None, "day")])
    for i in range(2000):
        fake.add_member(LIST, f"s{i}@example.com", T0 + timedelta(minutes=i))
    assert fake.add_automation_sends("wf-onb", seed=9) == 4000
    totals = fake.totals()
    assert totals[("onb1", "sent")] == totals[("onb2", "sent")] == 2000
    assert 0.35 < totals[("onb1", "open")] / 2000 < 0.45
    assert 0.07 < totals[("onb1", "click")] / 2000 < 0.13
    with FakeMailchimp() as again:
        onboarding(again, [(None, "day"), (None, "day")])
        for i in range(2000):
            again.add_member(LIST, f"s{i}@example.com", T0 + timedelta(minutes=i))
        again.add_automation_sends("wf-onb", seed=9)
        assert again.totals() == totals


# --- paging over a changing list, shuffled arrival -------------------------------------------------------------
def test_repeat_across_pages_serves_the_boundary_subscriber_twice(fake: FakeMailchimp, client: Any) -> None:
    fake.add_campaign(regular(1, T0))
    add_recipients(fake, "reg0000001", 25)
    honest = client.reports.get_email_activity_for_campaign("reg0000001", count=1000)["emails"]
    fake.repeat_across_pages("reg0000001")

    def read(**params: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        offset = 0
        while True:  # as the reader does: the next offset is the number of entries received so far
            page = client.reports.get_email_activity_for_campaign("reg0000001", count=10, offset=offset, **params)
            assert page["total_items"] == (25 if not params else len(honest_since))
            out += page["emails"]
            offset += len(page["emails"])
            if not page["emails"] or offset >= page["total_items"]:
                return out

    served = read()
    assert [r.query["offset"] for r in fake.requests[-3:]] == [["0"], ["10"], ["20"]]
    assert [e["email_address"] for e in served] == [e["email_address"] for e in honest[:10]] + [
        e["email_address"] for e in honest[9:25]]  # page at 10: entries 9..18; page at 20: entries 19..24
    assert served[10] == served[9] == honest[9]  # the boundary subscriber again, with all their activity
    assert Counter(e["email_address"] for e in served) == Counter(
        {e["email_address"]: 2 if i == 9 else 1 for i, e in enumerate(honest)})
    since = (T0 + timedelta(minutes=3)).isoformat()
    fake.repeat_across_pages("reg0000001", repeat=False)
    honest_since = client.reports.get_email_activity_for_campaign("reg0000001", count=1000, since=since)["emails"]
    fake.repeat_across_pages("reg0000001")
    assert len(honest_since) == 14  # two pages
    served = read(since=since)
    assert served == honest_since[:10] + honest_since[9:]
    with pytest.raises(ValueError, match="unknown campaign"):
        fake.repeat_across_pages("nosuchid")


def jitter_draws(seed: int, jitter: float, n: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.uniform(0, jitter) for _ in range(n)]


def test_jitter_delays_each_request_from_a_seeded_rng(fake: FakeMailchimp, client: Any) -> None:
    fake.jitter, fake.jitter_seed = 0.25, 7
    waits = jitter_draws(7, 0.25, 5)
    for expected in waits:
        started = time.perf_counter()
        client.ping.get()
        assert expected <= time.perf_counter() - started < expected + 0.2
    assert max(waits) - min(waits) > 0.05  # uneven, not one fixed latency


def test_jitter_shuffles_pages_read_over_two_connections(fake: FakeMailchimp) -> None:
    fake.add_campaign(regular(1, T0))
    add_recipients(fake, "reg0000001", 20)
    # A seed whose first draw is much longer than its second: the page asked for first arrives last.
    seed = next(s for s in range(1000) if (d := jitter_draws(s, 0.6, 2))[0] - d[1] > 0.35)
    fake.jitter, fake.jitter_seed = 0.6, seed
    clients = [make_client(fake), make_client(fake)]

    def read(i: int) -> Any:
        time.sleep(0.1 * i)  # the second page is asked for after the first one
        return clients[i].reports.get_email_activity_for_campaign("reg0000001", count=10, offset=10 * i)

    with ThreadPoolExecutor(2) as pool:
        pages = list(pool.map(read, [0, 1]))
    assert [p["emails"][0]["email_address"] for p in pages] == ["Person000@Example.com", "Person010@Example.com"]
    assert [r.query["offset"] for r in fake.requests] == [["10"], ["0"]]  # arrival order: shuffled
