"""The Mailchimp connector against the fake Marketing API, through the official `mailchimp-marketing` client."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from pydantic import SecretStr

from connectors.errors import NotConfigured, PermanentError, RetryPolicy
from connectors.mailchimp import SPEC, Reader, make_client
from flows.settings import Settings
from models.config import SourceSettings
from models.sources.registry import PARTS
from tests.fakes.mailchimp import FakeActivity, FakeCampaign, FakeMailchimp
from tests.fakes.mailchimp_wire import web_id

SEND = dt.datetime(2026, 9, 14, 8, tzinfo=dt.UTC)
DAY = SEND.date()
FAST = RetryPolicy(attempts=3, base_seconds=0.01, max_seconds=2.0)


def fill(fake: FakeMailchimp, recipients: int = 250) -> None:
    fake.add_list("l1", "Bakers")
    fake.add_campaign(FakeCampaign("news1", "Sourdough Hour Weekly #12", "regular", "l1", SEND))
    fake.add_campaign(FakeCampaign("old", "Sourdough Hour Weekly #1", "regular", "l1", SEND - dt.timedelta(days=60)))
    for position in (1, 2):
        fake.add_campaign(FakeCampaign(f"w{position}", f"Welcome {position}", "automation", "l1",
                                       SEND - dt.timedelta(days=30), "wf1", "Starter guide welcome", position))
    rows = []
    for i in range(recipients):
        who = f"Baker{i}@Example.com"
        rows.append(FakeActivity("news1", who, "sent", SEND))
        if i % 2 == 0:
            rows.append(FakeActivity("news1", who, "open", SEND + dt.timedelta(hours=3)))
        if i % 5 == 0:
            rows.append(FakeActivity("news1", who, "click", SEND + dt.timedelta(days=1, hours=2)))
        rows.append(FakeActivity("w1", who, "sent", SEND - dt.timedelta(days=1)))
        if i % 3 == 0:
            rows.append(FakeActivity("w1", who, "open", SEND + dt.timedelta(hours=1)))
    fake.add_activity(rows)


def reader(fake: FakeMailchimp, **kwargs: object) -> Reader:
    return Reader(make_client(fake.api_key, fake.url), salt="s", policy=FAST, **kwargs)  # type: ignore[arg-type]


def test_campaigns_and_automation_emails_in_order() -> None:
    with FakeMailchimp() as fake:
        fill(fake)
        emails = reader(fake).campaigns(DAY - dt.timedelta(days=7))
    regular = [(e.campaign_id, e.title, e.send_time) for e in emails if e.kind == "regular"]
    assert regular == [("news1", "Sourdough Hour Weekly #12", SEND)]  # sent before the window: not listed
    automation = [(e.campaign_id, e.workflow_title, e.position) for e in emails if e.kind == "automation"]
    assert automation == [("w1", "Starter guide welcome", 1), ("w2", "Starter guide welcome", 2)]
    assert {e.campaign_id: e.web_id for e in emails} == {i: web_id(i) for i in ("news1", "w1", "w2")}  # report links


def test_activity_pages_hashes_and_windows_match_the_api_totals() -> None:
    with FakeMailchimp() as fake:
        fill(fake)
        r = reader(fake, page_size=100, connections=2)
        emails = r.campaigns(DAY - dt.timedelta(days=7))
        rows = [a for page in r.activity(emails, DAY, DAY + dt.timedelta(days=1)) for a in page]
        totals = fake.totals()
        assert fake.max_concurrent <= 2
    news = [a for a in rows if a.campaign_id == "news1"]
    for action in ("sent", "open", "click"):
        assert sum(a.action == action for a in news) == totals[("news1", action)], action
    assert all(a.timestamp == SEND for a in news if a.action == "sent")  # a regular campaign sends at its send time
    # an automation email's opens are there; its sends (the day before the window) are not: they come from snapshots
    assert {a.action for a in rows if a.campaign_id == "w1"} == {"open"}
    assert news[0].email_hash == hashlib.sha256(b"s:baker0@example.com").hexdigest()
    assert "example.com" not in repr(rows).lower()
    assert len({(a.campaign_id, a.email_hash, a.action, a.timestamp) for a in rows}) == len(rows)


def test_report_snapshots_are_the_cumulative_numbers() -> None:
    with FakeMailchimp() as fake:
        fill(fake, recipients=30)
        r = reader(fake)
        emails = [e for e in r.campaigns(DAY - dt.timedelta(days=7)) if e.kind == "automation"]
        reports = {x.campaign_id: x for x in r.reports(emails, DAY)}
    assert (reports["w1"].emails_sent, reports["w1"].unique_opens, reports["w1"].taken_on) == (30, 10, DAY)
    assert reports["w2"].emails_sent == 0


def test_429_waits_for_retry_after_and_a_bad_key_names_the_fix() -> None:
    with FakeMailchimp() as fake:
        fill(fake, recipients=3)
        fake.fail_next(1, 429, retry_after=1)
        waits: list[float] = []
        r = reader(fake, on_retry=lambda n, e, w: waits.append(w))
        assert r.account_id() == fake.account_id
        assert len(waits) == 1
        assert 1.0 <= waits[0] <= 1.1
        wrong = Reader(make_client("0" * 32 + "-us6", fake.url), salt="s", policy=FAST)
        with pytest.raises(PermanentError, match="MAILCHIMP_API_KEY"):
            wrong.account_id()
    with pytest.raises(PermanentError, match="data centre"):
        make_client("not-a-key")


def test_list_growth_history_per_audience_and_month() -> None:
    with FakeMailchimp() as fake:
        fill(fake, recipients=12)
        fake.add_activity([FakeActivity("news1", "Baker0@Example.com", "unsub", SEND + dt.timedelta(days=20))])
        months = [m for page in reader(fake).list_growth() for m in page]
    assert all(m.list_id == "l1" and m.list_name == "Bakers" for m in months)
    assert [m.month for m in months] == sorted(m.month for m in months)  # asked oldest first
    assert sum(m.unsubscribed for m in months) == 1
    assert sum(m.optins + m.imports + m.subscribed for m in months) > 0


def test_open_builds_the_reader_from_the_settings_without_a_request() -> None:
    options = SourceSettings(page_size=25, concurrency=3, retry_minutes=2)
    with FakeMailchimp() as fake:
        fill(fake, recipients=3)
        assert SPEC.open is not None
        r = SPEC.open(Settings(mailchimp_api_key=SecretStr(f" {fake.api_key} "), mailchimp_api_url=fake.url),
                      options, None)
        assert fake.requests == []  # opening reads nothing
        assert isinstance(r, Reader)
        assert (r.page_size, r.connections, r.policy.budget_seconds) == (25, 3, 120.0)
        assert r.policy.budget is not None  # one budget for every request of the run
        assert r.account_id() == fake.account_id


def test_open_names_the_variable_and_the_fix_when_the_key_is_missing_or_wrong() -> None:
    assert SPEC.open is not None
    with pytest.raises(NotConfigured, match=r"MAILCHIMP_API_KEY is not set; .*Extras › API keys.*--demo"):
        SPEC.open(Settings(mailchimp_api_key=None), SourceSettings(), None)
    with pytest.raises(NotConfigured, match=r"MAILCHIMP_API_KEY is not set"):
        SPEC.open(Settings(mailchimp_api_key=SecretStr("  ")), SourceSettings(), None)
    with pytest.raises(NotConfigured, match=r"MAILCHIMP_API_KEY does not look like a Mailchimp key.*data centre"):
        SPEC.open(Settings(mailchimp_api_key=SecretStr("not-a-key")), SourceSettings(), None)


def test_the_demo_reads_campaigns_before_their_activity() -> None:
    assert SPEC.demo is not None
    readers = SPEC.demo(None)
    assert list(readers) == ["campaigns", "activity"]  # the landing needs the campaigns first
    assert all(PARTS["mailchimp"].stream(name) for name in readers)
    campaigns = [c for page in readers["campaigns"](DAY - dt.timedelta(days=14), DAY) for c in page]
    assert any(c.kind == "automation" for c in campaigns)
    assert any(page for page in readers["activity"](DAY - dt.timedelta(days=14), DAY))
