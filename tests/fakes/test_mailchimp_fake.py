"""The fake Mailchimp Marketing API, driven by the official `mailchimp_marketing` client as a connector would."""

from __future__ import annotations

import hashlib
import json
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
