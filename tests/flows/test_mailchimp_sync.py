"""Mailchimp end to end: `journeymap run --sources mailchimp` against the fake Marketing API, on both databases."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import example_map_with, journeymap
from tests.fakes.mailchimp import FakeActivity, FakeCampaign, FakeMailchimp

AS_OF = dt.date(2026, 9, 30)
SEND = dt.datetime(2026, 9, 25, 7, tzinfo=dt.UTC)
NEWSLETTER = "Sourdough Hour Weekly #40 (sponsor: Acme Flour)"


@pytest.fixture
def mailchimp_map(tmp_path: Path) -> Path:
    """The example map with a short Mailchimp history, so a run takes seconds."""
    return example_map_with(tmp_path, sources={"mailchimp": {"lag_days": 3, "lookback_days": 3, "history_days": 10}})


def welcome_sends(fake: FakeMailchimp, first: int, n: int, when: dt.datetime) -> None:
    fake.add_activity(FakeActivity("w1", f"new{i}@example.com", "sent", when) for i in range(first, first + n))


def facts(url: str) -> dict[tuple[str, str], tuple[float, float]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("select touchpoint_id, date, volume, success from touchpoint_daily "
                                 "where segment = 'all'")).all()
    engine.dispose()
    return {(tp, str(day)[:10]): (float(v), float(s or 0)) for tp, day, v, s in rows}


@pytest.mark.slow
def test_run_sources_mailchimp_maps_sends_opens_and_clicks(db_url: str, mailchimp_map: Path,
                                                           prefect_api_url: str) -> None:
    with FakeMailchimp() as fake:
        fake.add_list("l1", "Bakers")
        fake.add_campaign(FakeCampaign("news40", NEWSLETTER, "regular", "l1", SEND))
        fake.add_campaign(FakeCampaign("w1", "Welcome 1", "automation", "l1", SEND - dt.timedelta(days=90), "wf1",
                                       "Starter guide welcome", 1))
        rows = [FakeActivity("news40", f"reader{i}@example.com", "sent", SEND) for i in range(200)]
        rows += [FakeActivity("news40", f"reader{i}@example.com", "click", SEND + dt.timedelta(hours=h))
                 for i in range(0, 200, 8) for h in (2, 30)]  # 25 readers click, each twice
        fake.add_activity(rows)
        welcome_sends(fake, 0, 40, SEND)
        env = {"JOURNEY_DATABASE_URL": db_url, "JOURNEY_MAP_FILE": str(mailchimp_map),
               "PREFECT_API_URL": prefect_api_url, "MAILCHIMP_API_KEY": fake.api_key, "MAILCHIMP_API_URL": fake.url}
        day_before = (AS_OF - dt.timedelta(days=1)).isoformat()
        first = journeymap("run", "--sources", "mailchimp", "--as-of", day_before, env=env)
        assert first.returncode == 0, first.stderr[-3000:]
        welcome_sends(fake, 40, 15, dt.datetime.combine(AS_OF, dt.time(6), dt.UTC))  # 15 new sign-ups today
        second = journeymap("run", "--sources", "mailchimp", "--as-of", AS_OF.isoformat(), env=env)
        assert second.returncode == 0, second.stderr[-3000:]
        mapped = facts(db_url)
        third = journeymap("run", "--sources", "mailchimp", "--as-of", AS_OF.isoformat(), env=env)
        assert third.returncode == 0, third.stderr[-3000:]
        assert facts(db_url) == mapped  # a rerun changes nothing
    # the newsletter: 200 sent on its send day, 25 distinct clickers dated by their email's send day
    assert mapped[("newsletter-sponsor-slot", SEND.date().isoformat())] == (200.0, 25.0)
    # the automation email: Mailchimp keeps no send times for it; its sends are the growth of its report from one
    # daily run's snapshot to the next, counted for the earlier one's day (a daily run takes it early in its day)
    assert mapped[("welcome-email-1", (AS_OF - dt.timedelta(days=1)).isoformat())][0] == 15.0
    # before the first run they are rebuilt from subscribe times: this audience lists none of its members, so the
    # run says the rebuild falls short of the report
    assert "rebuilt 0 of its 40 sends" in first.stderr
    engine = create_engine(db_url)
    with engine.connect() as conn:
        hashes: list[Any] = [r[0] for r in conn.execute(text("select email_hash from raw_mailchimp_activity"))]
        snapshots = conn.execute(text("select taken_on, emails_sent from raw_mailchimp_reports "
                                      "where campaign_id = 'w1' order by taken_on")).all()
        audiences = conn.execute(text("select count(*) from raw_mailchimp_list_growth where list_id = 'l1'")).scalar()
    engine.dispose()
    assert all("@" not in h and len(h) == 64 for h in hashes)
    assert audiences >= 1  # the audience's monthly growth history
    assert [int(n) for _, n in snapshots] == [40, 55]
