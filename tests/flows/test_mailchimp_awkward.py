"""Mailchimp as it really is, through the official client against the fake Marketing API: a subscriber repeated
across pages read side by side, long bursts of errors, a stop mid-way, and automation emails whose send times
Mailchimp never keeps (their history rebuilt from subscribe times and the workflow's delays)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select, text

from connectors.errors import RetryPolicy, TransientError
from connectors.mailchimp import Reader, make_client
from connectors.pii import EmailHasher
from models.config import SourceSettings
from models.sources.mailchimp.sync import sync_activity
from models.sources.mailchimp.tables import MailchimpActivity
from models.sync import SourceResult
from tests.conftest import example_map_with
from tests.fakes.clock import FakeClock
from tests.fakes.mailchimp import FakeActivity, FakeCampaign, FakeMailchimp, FakeMember
from tests.flows.sync_helpers import all_rows, run_source, two_warehouses

__all__ = ["two_warehouses"]  # the fixture, used by name

T0 = dt.datetime(2026, 9, 10, tzinfo=dt.UTC)
AS_OF = dt.date(2026, 9, 30)
WORKFLOW = "Starter guide welcome"


@pytest.fixture
def mailchimp_map(tmp_path: Path) -> Path:
    """The example map reading Mailchimp over 30 days, 25 entries a page over 4 connections."""
    return example_map_with(tmp_path, sources={"mailchimp": {"lag_days": 3, "settle_days": 2, "history_days": 30,
                                                             "page_size": 25, "concurrency": 4}})


def bakery(fake: FakeMailchimp, members: int = 80) -> None:
    """An audience joining over 20 days, a two-email welcome workflow (at sign-up, then 2 days later), and a
    newsletter to everyone subscribed by its send, opened and clicked over the following days."""
    fake.add_list("l1", "Bakers")
    for position, delay in ((1, 0), (2, 2)):
        fake.add_campaign(FakeCampaign(f"w{position}", f"Welcome {position}", "automation", "l1",
                                       T0 - dt.timedelta(days=60), "wf1", WORKFLOW, position,
                                       delay_amount=delay, delay_type="day"))
    fake.add_members("l1", [FakeMember(f"baker{i}@example.com", T0 + dt.timedelta(hours=6 * i + 1))
                            for i in range(members)])
    fake.add_automation_sends("wf1", seed=3)
    send = T0 + dt.timedelta(days=8, hours=7)
    fake.add_campaign(FakeCampaign("news1", "Sourdough Hour Weekly #41", "regular", "l1", send))
    readers = [f"baker{i}@example.com" for i in range(members) if T0 + dt.timedelta(hours=6 * i + 1) < send]
    rows = [FakeActivity("news1", who, "sent", send) for who in readers]
    rows += [FakeActivity("news1", who, action, send + dt.timedelta(hours=h))
             for n, who in enumerate(readers) for action, h in (("open", 2 + n % 40), ("click", 3 + n % 40))
             if n % 3 != 2]
    fake.add_activity(rows)


def env_for(fake: FakeMailchimp, url: str, map_file: Path) -> dict[str, str]:
    return {"JOURNEY_DATABASE_URL": url, "JOURNEY_MAP_FILE": str(map_file), "MAILCHIMP_API_KEY": fake.api_key,
            "MAILCHIMP_API_URL": fake.url}


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("JOURNEY_HASH_SALT", "PREFECT_API_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def activity_rows(url: str) -> list[tuple[str, str, str, dt.datetime]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(select(MailchimpActivity.campaign_id, MailchimpActivity.email_hash,
                                                      MailchimpActivity.action, MailchimpActivity.timestamp))]
    engine.dispose()
    return sorted(rows)  # type: ignore[arg-type]


def truth(fake: FakeMailchimp, before: dt.date) -> dict[tuple[str, str], int]:
    """What the account holds before `before`, as the API lets it be read: every action with its time, and the
    sends of regular campaigns (an automation email's sends have no time to read)."""
    out = {}
    for campaign, action in fake.totals():
        if action == "sent" and campaign.startswith("w"):
            continue
        n = sum(count for day, count in fake.daily_counts(campaign, action).items() if day < before)
        if n:
            out[(campaign, action)] = n
    return out


@pytest.mark.slow
def test_pages_repeated_and_shuffled_over_four_connections_store_the_same_rows_on_both_warehouses(
        two_warehouses: tuple[str, str], mailchimp_map: Path, prefect_api_url: str,
        environ: pytest.MonkeyPatch) -> None:
    """Offset paging repeats a subscriber on two pages, and pages read side by side arrive in any order: every
    read stores each action once, SQLite and PostgreSQL hold exactly the same rows in every table, and running
    the same --as-of again changes nothing."""
    sqlite_url, pg_url = two_warehouses
    with FakeMailchimp() as fake:
        bakery(fake)
        fake.repeat_across_pages("news1")
        fake.jitter, fake.jitter_seed = 0.02, 5
        expected = truth(fake, AS_OF)
        loads = []
        for url in (sqlite_url, pg_url, sqlite_url):
            for name, value in env_for(fake, url, mailchimp_map).items():
                environ.setenv(name, value)
            fake.jitter_seed += 1  # another arrival order each time
            done = run_source(url, str(mailchimp_map), "mailchimp", AS_OF)
            assert not done.failure, done.failure
            loads.append(activity_rows(url))
        assert fake.max_concurrent >= 2  # pages and campaigns were read side by side
    assert loads[0] == loads[1] == loads[2]
    stored: dict[tuple[str, str], int] = {}
    for campaign, _, action, _ in loads[0]:
        stored[(campaign, action)] = stored.get((campaign, action), 0) + 1
    assert stored == expected  # each action once: none lost at a page boundary, none stored twice
    assert all_rows(sqlite_url) == all_rows(pg_url)


@pytest.mark.slow
def test_six_errors_in_a_row_are_waited_out_and_the_account_loads_whole(
        db_url: str, mailchimp_map: Path, prefect_api_url: str, environ: pytest.MonkeyPatch) -> None:
    with FakeMailchimp() as fake:
        bakery(fake)
        for name, value in env_for(fake, db_url, mailchimp_map).items():
            environ.setenv(name, value)
        fake.fail_next(3, 429, retry_after=1)
        fake.fail_next(3, 503, retry_after=1)  # (without Retry-After the backoff doubles: ~40 s for the three)
        done = run_source(db_url, str(mailchimp_map), "mailchimp", AS_OF)
        statuses = [r.status for r in fake.requests[:6]]
        expected = truth(fake, AS_OF)
    assert statuses == [429, 429, 429, 503, 503, 503]
    assert not done.failure, done.failure
    assert len(activity_rows(db_url)) == sum(expected.values())


def test_a_final_failure_keeps_the_campaigns_read_and_the_next_run_reads_only_the_rest(engine: Engine) -> None:
    """The API goes down for good after the first campaign is in: the campaigns read stay committed with their
    cursors, and the next run asks only for the campaigns still missing, not the whole account again."""
    settings = SourceSettings(settle_days=2, history_days=30, concurrency=1, page_size=25)
    hasher = EmailHasher("acct")
    with FakeMailchimp() as fake:
        bakery(fake)
        fake.latency = 0.2  # one request per campaign at least: the API is down before the third one is asked
        short = RetryPolicy(base_seconds=0.01, max_seconds=0.02, budget_seconds=0.2)
        reader = Reader(make_client(fake.api_key, fake.url), salt=hasher.salt, page_size=25, connections=1,
                        policy=short)
        emails = reader.campaigns(AS_OF - dt.timedelta(days=30))
        with pytest.raises(TransientError, match="gave up"):
            sync_activity(engine, reader, emails, "acct", AS_OF, settings, hasher, None, SourceResult("mailchimp"),
                          lambda result: fake.fail_next(10_000, 503))
        kept = cursors(engine)
        fake.clear_faults()
        fake.requests.clear()
        sync_activity(engine, reader, emails, "acct", AS_OF, settings, hasher, None, SourceResult("mailchimp"),
                      lambda result: None)
        asked = {r.path.split("/")[-2]: r.query["since"][0][:10] for r in fake.requests
                 if r.path.endswith("/email-activity")}
    assert 1 <= len(kept) < len(emails)
    history_start = (AS_OF - dt.timedelta(days=30)).isoformat()
    # the campaigns still missing are read from the history's start; those already in, only for the day that has
    # not settled yet (every run reads that day again)
    assert asked == {e.campaign_id: "2026-09-29" if e.campaign_id in kept else history_start for e in emails}
    assert cursors(engine) == {e.campaign_id for e in emails}


def cursors(engine: Engine) -> set[str]:
    """The campaigns whose activity cursor moved: each one's read is committed."""
    with engine.connect() as conn:
        return {s.removeprefix("activity/") for s in conn.execute(text(
            "select stream from sync_state where source = 'mailchimp' and stream like 'activity/%'")).scalars()}


@pytest.mark.slow
def test_automation_sends_before_the_first_run_are_rebuilt_from_subscribe_times_and_delays(
        db_url: str, mailchimp_map: Path, prefect_api_url: str, environ: pytest.MonkeyPatch) -> None:
    """Mailchimp keeps no send time for automation emails. A first run rebuilds their daily sends from each
    recipient's subscribe time plus the workflow's delays, checked against the report's emails_sent; from the
    first daily run on, the report snapshots' growth counts them. Either way each day equals the true sends."""
    clock = FakeClock(dt.datetime.combine(AS_OF, dt.time(), dt.UTC))
    with FakeMailchimp(clock=clock) as fake:
        bakery(fake, members=100)  # some join after AS_OF: their welcome emails go out in the days that follow
        for name, value in env_for(fake, db_url, mailchimp_map).items():
            environ.setenv(name, value)
        first = run_source(db_url, str(mailchimp_map), "mailchimp", AS_OF, map_days=30)
        assert not first.failure, first.failure
        assert not [w for w in first.warnings if "rebuilt" in w]  # within 1 % of emails_sent
        for _ in range(3):
            clock.advance(days=1)
            done = run_source(db_url, str(mailchimp_map), "mailchimp", clock.today(), map_days=30)
            assert not done.failure, done.failure
        final = clock.today()
        truth = {n: fake.daily_counts(f"w{n}", "sent") for n in (1, 2)}
    engine = create_engine(db_url)
    with engine.connect() as conn:
        checks = conn.execute(text("select campaign_id, emails_sent, placed, method from raw_mailchimp_send_checks "
                                   "order by campaign_id")).all()
        sent = {(tp, str(day)[:10]): float(v) for tp, day, v in conn.execute(text(
            "select touchpoint_id, date, volume from touchpoint_daily where segment = 'all' "
            "and touchpoint_id in ('welcome-email-1', 'welcome-email-2')"))}
    engine.dispose()
    assert [(c, m) for c, _, _, m in checks] == [("w1", "sent-to"), ("w2", "sent-to")]
    assert all(abs(placed - emails) <= 0.01 * emails for _, emails, placed, _ in checks)
    for n in (1, 2):
        for day, count in truth[n].items():
            if day < final:  # a rebuilt day (before AS_OF) and a snapshot day (after) alike
                assert sent[(f"welcome-email-{n}", day.isoformat())] == count, (n, day)
    assert any(day >= AS_OF for day in truth[1] if day < final)  # the snapshots counted some days


def test_a_rebuild_that_misses_emails_sent_by_more_than_one_percent_says_so() -> None:
    from connectors.mailchimp.records import EmailCampaign
    from connectors.mailchimp.sends import estimate_sends

    email = EmailCampaign("w1", "Welcome 1", "automation", "l1", "wf1", WORKFLOW, 1, None)
    joined = {f"h{i}": T0 + dt.timedelta(hours=i) for i in range(95)}
    estimate = estimate_sends(email, dt.timedelta(0), joined, [f"h{i}" for i in range(100)], 100, T0)
    assert estimate.placed == 95  # five recipients are no longer members: their send time is unknown
    problem = estimate.problem("Welcome 1")
    assert problem is not None
    assert "rebuilt 95 of its 100 sends" in problem
    assert estimate_sends(email, dt.timedelta(0), joined, [f"h{i}" for i in range(95)], 95, T0).problem("x") is None
