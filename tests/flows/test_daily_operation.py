"""Daily operation against APIs that change under it: the fakes' clock moves a day at a time, GA4's days settle
over three days, a day comes back empty and fills in later, Search Console's last (Pacific Time) days are counted
until they are final and one of its days too comes back empty and fills in later, Mailchimp's audience joins and
its automation emails go out, Stripe's open checkouts expire; a run each day. Afterwards every settled day holds
exactly what the APIs finally report, and the warehouse equals one clean load of the same days — on SQLite and on
PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, func, select

from flows.pipeline import journey_pipeline
from flows.sources import Source
from models.sources.ga4.tables import Ga4Row
from models.sources.mailchimp.tables import MailchimpActivity
from models.sources.search_console.tables import SearchConsoleRow
from models.sources.stripe.tables import StripeCheckoutSession
from tests.conftest import EXAMPLE_MAP, example_map_with
from tests.connectors.test_ga4 import demo_totals
from tests.fakes.clock import FakeClock
from tests.fakes.ga4 import FakeGA4
from tests.fakes.mailchimp import FakeActivity, FakeCampaign, FakeMailchimp, FakeMember
from tests.fakes.search_console import FakeSearchConsole, generate_day
from tests.fakes.stripe_api import FakeStripe
from tests.flows.sync_helpers import all_rows

pytestmark = pytest.mark.slow
START = dt.date(2026, 9, 20)  # the first run's --as-of
DAYS = 10
HISTORY = 14
LONDON_MIDNIGHT = dt.time(23)  # the runs happen at midnight in the map's time zone (Europe/London, UTC+1 in Sept.)
SITE = "https://www.example.com/"  # the Search Console property
SEARCH_SEED = 3
# A journey of the Search Console property's pages and top queries (the example map has none).
SEARCH_JOURNEY = {
    "id": "search", "name": "Google Search", "goal": "A baker finds the recipes in Google", "value": 1,
    "touchpoints": [
        {"id": "loaf-in-google", "name": "Country loaf in Google", "stage": "awareness", "source": "search_console",
         "match": {"page": r"https://www\.example\.com/recipes/country-loaf/"}, "volume": "impressions",
         "success": "clicks"},
        {"id": "starter-searches", "name": "Starter searches", "stage": "awareness", "source": "search_console",
         "match": {"page": ".*/recipes/sourdough-starter/", "query": "sourdough starter|starter not rising"},
         "volume": "impressions", "success": "clicks"},
    ],
}
# Tables a run writes about itself rather than about the data, and why a clean load differs from daily runs there:
RUN_RECORDS = {
    "raw_mailchimp_reports": "one report snapshot per daily run (a clean load takes one)",
    "raw_mailchimp_send_estimates": "rebuilt once, by the first run (a clean load rebuilds more days)",
    "raw_mailchimp_send_checks": "the rebuild's own bookkeeping, dated by the run that made it",
    "quality_results": "each run's checks, kept per --as-of",
    "detection_days": "each judged day", "incidents": "the alerts of each day judged",
    "incident_events": "the alerts of each day judged", "slack_outbox": "the messages of each run",
}


def midnight(as_of: dt.date) -> dt.datetime:
    """The moment a run for `as_of` happens: the start of that day in London."""
    return dt.datetime.combine(as_of - dt.timedelta(days=1), LONDON_MIDNIGHT, dt.UTC)


class Business:
    """Four fakes sharing one clock, filled with a small business whose records appear as the clock moves."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.stack = ExitStack()
        self.ga4 = self.stack.enter_context(FakeGA4(property_id="123", clock=clock))
        self.mailchimp = self.stack.enter_context(FakeMailchimp(clock=clock))
        self.stripe = self.stack.enter_context(FakeStripe(clock=clock))
        self.search = self.stack.enter_context(FakeSearchConsole((SITE,), seed=SEARCH_SEED, clock=clock))
        self.search.share_key_with(self.ga4.auth)  # one service-account key for both (GA4_CREDENTIALS_FILE)
        self.ga4.settling({0: 0.5, 1: 0.85, 2: 0.95})
        self.outage = START + dt.timedelta(days=2)
        self.ga4.empty_day(self.outage, until=self.outage + dt.timedelta(days=3))  # processing stalls, then fills
        self.ga4.repeat_row(START - dt.timedelta(days=3), "pagePath", index=2)
        # Search Console counts each day for three (Pacific Time) days (its default settling), and loses a day for
        # three: empty on its first three reads, the last of them when the day is old enough to settle, and filled
        # in on the read after, the last that empty_retry_days allows
        self.search_outage = START + dt.timedelta(days=4)
        self.search.empty_day(self.search_outage, until=self.search_outage + dt.timedelta(days=3))
        self._mailchimp()
        self._stripe()

    def _mailchimp(self) -> None:
        fake, t0 = self.mailchimp, dt.datetime.combine(START - dt.timedelta(days=HISTORY), dt.time(), dt.UTC)
        fake.add_list("l1", "Bakers")
        for position, delay in ((1, 0), (2, 2)):
            fake.add_campaign(FakeCampaign(f"w{position}", f"Welcome {position}", "automation", "l1",
                                           t0 - dt.timedelta(days=90), "wf1", "Starter guide welcome", position,
                                           delay_amount=delay, delay_type="day"))
        # a sign-up every 5 hours (never at the very moment of a run: a report snapshot counts what happened by then)
        joins = [t0 + dt.timedelta(hours=5 * i + 3, minutes=17) for i in range((HISTORY + DAYS) * 24 // 5)]
        fake.add_members("l1", [FakeMember(f"baker{i}@example.com", at) for i, at in enumerate(joins)])
        fake.add_automation_sends("wf1", seed=11)
        for week in range(3):
            send = t0 + dt.timedelta(days=7 * week + 4, hours=8)
            fake.add_campaign(FakeCampaign(f"news{week}", f"Sourdough Hour Weekly #{40 + week}", "regular", "l1",
                                           send))
            readers = [f"baker{i}@example.com" for i, at in enumerate(joins) if at < send]
            rows = [FakeActivity(f"news{week}", who, "sent", send) for who in readers]
            rows += [FakeActivity(f"news{week}", who, "open", send + dt.timedelta(hours=1 + 7 * (n % 9)))
                     for n, who in enumerate(readers) if n % 2]
            fake.add_activity(rows)
        fake.repeat_across_pages("news1")

    def _stripe(self) -> None:
        fake = self.stripe
        for d in range(-HISTORY, DAYS):
            day = START + dt.timedelta(days=d)
            for i in range(6 + d % 4):
                created = dt.datetime.combine(day, dt.time(7 + 2 * i, 5 * i), dt.UTC)
                status = "complete" if i % 3 else "open"  # the open ones expire 24 h later, as the clock passes
                fake.add_session(created=created, status=status, product_id="prod_course",
                                 product_name="Sourdough Masterclass", amount_total=4900,
                                 customer_email=f"buyer{d}-{i}@example.com")

    def env(self, url: str, map_file: Path) -> dict[str, str]:
        return {"JOURNEY_DATABASE_URL": url, "JOURNEY_MAP_FILE": str(map_file), "GA4_PROPERTY_ID": "123",
                "GA4_CREDENTIALS_FILE": str(self.search.credentials_file), "GA4_API_ENDPOINT": self.ga4.url,
                "SEARCH_CONSOLE_SITE_URL": SITE, "SEARCH_CONSOLE_API_ENDPOINT": self.search.url,
                "MAILCHIMP_API_KEY": self.mailchimp.api_key, "MAILCHIMP_API_URL": self.mailchimp.url,
                "STRIPE_API_KEY": self.stripe.api_key, "STRIPE_API_BASE": self.stripe.url}

    def close(self) -> None:
        self.stack.close()


@pytest.fixture
def business() -> Iterator[Business]:
    clock = FakeClock(midnight(START))
    made = Business(clock)
    try:
        yield made
    finally:
        made.close()


def map_with_history(folder: Path, days: int) -> Path:
    """The example map, with a Search Console journey, reading GA4, Search Console, Mailchimp and Stripe over
    `days` days before --as-of."""
    folder.mkdir(exist_ok=True)
    settings = {"history_days": days}
    journeys = yaml.safe_load(EXAMPLE_MAP.read_text(encoding="utf-8"))["journeys"] + [SEARCH_JOURNEY]
    return example_map_with(folder, sources={"ga4": {**settings, "lag_days": 2, "settle_days": 3},
                                             "search_console": {**settings, "lag_days": 3, "settle_days": 3,
                                                                "empty_retry_days": 3},
                                             "mailchimp": {**settings, "lag_days": 3, "settle_days": 2,
                                                           "page_size": 40, "concurrency": 4},
                                             "stripe": {**settings, "lag_days": 1, "settle_days": 2}},
                            surveys=[], journeys=journeys)


def run(business: Business, url: str, map_file: Path, as_of: dt.date, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """One run of every source on `as_of`; its Search Console warnings."""
    for name, value in business.env(url, map_file).items():
        monkeypatch.setenv(name, value)
    result = journey_pipeline(as_of=as_of, sources=[Source.ga4, Source.search_console, Source.mailchimp,
                                                    Source.stripe])
    assert not result.failed, result.failed
    return [w for r in result.synced if r.source == "search_console" for w in r.warnings]


def test_ten_daily_runs_end_exactly_where_one_clean_load_of_the_same_days_does(
        db_url: str, business: Business, tmp_path: Path, prefect_api_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOURNEY_HASH_SALT", raising=False)
    monkeypatch.setenv("JOURNEY_OUTBOX_DIR", str(tmp_path / "outbox"))
    daily_map = map_with_history(tmp_path / "daily", HISTORY)
    as_of = START
    search_warnings: dict[dt.date, list[str]] = {}
    for day in range(DAYS):
        as_of = START + dt.timedelta(days=day)
        business.clock.set(midnight(as_of))
        search_warnings[as_of] = run(business, db_url, daily_map, as_of, monkeypatch)
    # Search Console's lost day was named by the three runs that found it empty (the runs of the next three days),
    # and nothing else was
    outage = business.search_outage
    named = {d for d, said in search_warnings.items() if any(f"came back empty ({outage})" in w for w in said)}
    assert named == {outage + dt.timedelta(days=n) for n in (1, 2, 3)}, search_warnings
    assert not [w for d, said in search_warnings.items() if d not in named for w in said]
    # one load of every day the daily runs read: from the first run's history to the last run's yesterday
    clean = f"sqlite:///{tmp_path / 'clean.db'}"
    run(business, clean, map_with_history(tmp_path / "clean", HISTORY + DAYS - 1), as_of, monkeypatch)

    daily, once = all_rows(db_url, tuple(RUN_RECORDS)), all_rows(clean, tuple(RUN_RECORDS))
    for rows in (daily, once):
        for name, keep in ALIKE.items():
            rows[name] = [keep(r) for r in rows[name] if keep(r) is not None]
    for name in daily:
        assert daily[name] == once[name], f"{name}: daily runs and one clean load differ"
    assert len(daily["touchpoint_daily"]) > 100

    settled = [as_of - dt.timedelta(days=d) for d in range(3, HISTORY + 1)]  # every source has settled them
    engine = create_engine(db_url)
    with engine.connect() as conn:
        for day in settled:
            ga4 = conn.execute(select(func.coalesce(func.sum(Ga4Row.sessions), 0)).where(
                Ga4Row.report == "traffic", Ga4Row.date == day)).scalar_one()
            assert ga4 == demo_totals(day, "traffic", "sessions"), day  # the outage day too, once filled in
        for day in settled[1:]:  # Search Console counts Pacific Time days: as_of − 3 is still partial there
            search = conn.execute(select(SearchConsoleRow.impressions, SearchConsoleRow.clicks,
                                         SearchConsoleRow.final).where(
                SearchConsoleRow.report == "pages", SearchConsoleRow.date == day)).all()
            final = generate_day(SITE, day, SEARCH_SEED)
            assert (sum(r.impressions for r in search), sum(r.clicks for r in search)) == (
                sum(c.impressions for c in final), sum(c.clicks for c in final)), day  # its lost day too
            assert {r.final for r in search} == {True}, day
        activity = _daily_counts(conn, MailchimpActivity.campaign_id, MailchimpActivity.action,
                                 MailchimpActivity.timestamp)
        sessions = _daily_counts(conn, StripeCheckoutSession.status, StripeCheckoutSession.status,
                                 StripeCheckoutSession.created)
    engine.dispose()
    fake = business.mailchimp
    for (campaign, action) in fake.totals():
        if action == "sent" and campaign.startswith("w"):
            continue  # an automation email's sends have no time on record: the facts' comparison covers them
        for day, count in fake.daily_counts(campaign, action).items():
            if day in settled:
                assert activity.get((campaign, action, day), 0) == count, (campaign, action, day)
    for day in settled:  # every open checkout of a settled day has expired by now, and says so
        made = 6 + (day - START).days % 4
        assert sessions.get(("open", "open", day), 0) == 0
        assert sessions.get(("expired", "expired", day), 0) == len(range(0, made, 3)), day


# Rows that record when something was read rather than what it holds, and how a clean load must differ there:
# the day each ledger day was last read on, the day a quarantined record was last seen, a campaign's activity
# cursor (a daily run stops listing a campaign once its send leaves the history), and the map definition's
# fingerprint (the clean load's map reads more days of history).
ALIKE = {
    "synced_days": lambda r: r[:5] + r[6:],
    "quarantine": lambda r: r[:-1],
    "sync_state": lambda r: None if r[0] == "map" or str(r[1]).startswith("activity/") else r,
}


def _daily_counts(conn: Any, first: Any, second: Any, moment: Any) -> dict[tuple[Any, Any, dt.date], int]:
    out: dict[tuple[Any, Any, dt.date], int] = {}
    for a, b, when in conn.execute(select(first, second, moment)):
        key = (a, b, when.date())
        out[key] = out.get(key, 0) + 1
    return out
