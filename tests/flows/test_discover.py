"""`journeymap discover` as a new user runs it, on SQLite and PostgreSQL scratch warehouses: from the demo business,
and from the GA4, Mailchimp and Stripe fakes serving the same business through the real SDKs. The proposal must
cover the hand-written demo map, order the funnel, start it with the top pages in Google's results, list the
welcome emails in order, validate and run; `--diff` must find a renamed page, an email added to an automation and
the pages in search the demo map leaves out."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from checks.discovery.drift import coverage
from checks.discovery.observed import observe
from connectors import demo
from models.config import JourneyMap
from models.db import make_engine
from models.mapfile import load_map
from tests.conftest import EXAMPLE_MAP, journeymap, latest_artifact
from tests.fakes.ga4 import FakeGA4
from tests.fakes.ga4_data import DemoData
from tests.fakes.mailchimp import FakeActivity, FakeCampaign, FakeMailchimp
from tests.fakes.stripe_api import FakeStripe

AS_OF = dt.date(2026, 10, 1)
DAYS = 28
SINCE = AS_OF - dt.timedelta(days=DAYS + 14)  # the fakes also hold the sends whose opens fall in the window
WELCOME = "Starter guide welcome"
SITE = "https://www.sourdoughhour.example"
SEARCHED = {rf"https://www\.sourdoughhour\.example/{folder}/[^/]+/?" for folder in ("blog", "recipes")}
RENAMED = ("/free-starter-guide/", "/free-sourdough-starter-guide/")
pytestmark = pytest.mark.slow


def discover(env: dict[str, str], *args: str) -> str:
    done = journeymap("discover", "--days", str(DAYS), "--as-of", AS_OF.isoformat(), *args, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def covered(stdout: str) -> float:
    found = re.search(r"It covers ([\d.]+)% of the volume the current map counts", stdout)
    assert found, stdout
    return float(found.group(1))


def check_proposal(path: Path) -> JourneyMap:
    """The proposal's shape: the checkout after the product pages, every welcome email in order, a goal per
    journey, and a volume-and-why comment on every touchpoint."""
    proposal = load_map(path)
    main = proposal.journeys[0]
    assert main.name == "Sourdough Masterclass"
    assert main.goal_touchpoint
    paths = [str(t.match.get("page_path", "")) for t in main.touchpoints]
    checkout = next(i for i, t in enumerate(main.touchpoints) if t.source == "stripe")
    products = [i for i, p in enumerate(paths) if p.startswith("/shop/")]
    assert len(products) == 2, paths  # the Masterclass and its bundle; the club's page is in its own journey
    assert max(products) < checkout, paths
    assert paths.index("/cart/") < checkout < paths.index("/checkout/complete/")
    welcome = [(t.match["email"], t.name) for t in main.touchpoints if t.match.get("automation") == WELCOME]
    assert welcome == [(e.position, e.title) for e in next(demo.read_email_campaigns(AS_OF, AS_OF))
                       if e.workflow_title == WELCOME]
    assert [j.id for j in proposal.journeys] == ["sourdough-masterclass", "bakers-club", "affiliate", "sponsored"]
    assert all(j.goal_touchpoint for j in proposal.journeys)
    text = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(text):
        if line.strip().startswith("- id:") and line.startswith("      -"):
            assert re.match(rf"\s+# [\d,]+ \w[\w ]* (in {DAYS} days|in all, by Mailchimp's report .*) — \w",
                            text[i - 1]), text[i - 1]
    return proposal


def test_the_demo_proposal_covers_the_demo_map_validates_and_runs(db_url: str, prefect_api_url: str,
                                                                   tmp_path: Path) -> None:
    out = tmp_path / "journey.proposed.yaml"
    env = {"JOURNEY_MAP_FILE": str(EXAMPLE_MAP), "PREFECT_API_URL": prefect_api_url}
    stdout = discover(env, "--demo", "--out", str(out))  # into a temporary SQLite file; db_url is the warehouse
    assert covered(stdout) >= 90.0
    proposal = check_proposal(out)
    assert proposal.business.name == "The Sourdough Hour"  # kept from the current map, with its personas
    main = proposal.journeys[0].touchpoints  # the demo blog's top pages in Google's results start the journey
    searched = [i for i, t in enumerate(main) if t.source == "search_console"]
    landing = [i for i, t in enumerate(main) if "landing_page" in t.match]
    assert searched, [t.id for t in main]
    assert landing, [t.id for t in main]
    assert max(searched) < min(landing), [t.id for t in main]
    assert {str(main[i].match["page"]) for i in searched} >= SEARCHED
    assert {(main[i].stage, main[i].volume, main[i].success) for i in searched} == {
        ("awareness", "impressions", "clicks")}
    assert [p.name for p in proposal.personas] == [p.name for p in load_map(EXAMPLE_MAP).personas]

    checked = journeymap("check-config", env={"JOURNEY_MAP_FILE": str(out)})
    assert checked.returncode == 0, checked.stderr
    run = journeymap("backfill", "--demo", "--start", "2026-09-21", "--end", "2026-09-27",
                     env={"JOURNEY_MAP_FILE": str(out), "JOURNEY_DATABASE_URL": db_url, **env})
    assert run.returncode == 0, run.stderr[-3000:]
    shown = journeymap("map", "--as-of", "2026-09-28", "--period", "7",
                       env={"JOURNEY_MAP_FILE": str(out), "JOURNEY_DATABASE_URL": db_url, "COLUMNS": "200"})
    assert shown.returncode == 0, shown.stderr[-3000:]
    for tp in ("Checkout: Sourdough Masterclass", "/shop/sourdough-masterclass/", "Welcome 4: Join the"):
        assert tp in shown.stdout, shown.stdout

    diff = discover(env, "--diff", "--demo")  # the demo map reads no search results yet
    assert f"not on the map: the search result {SITE}/blog/… (4 pages)" in diff, diff


class Renamed(DemoData):
    """The demo site after its lead magnet moved to a new address."""

    def __call__(self, day: dt.date) -> dict[str, pd.DataFrame]:
        frames = super().__call__(day)
        for item, frame in frames.items():
            frame[item] = frame[item].replace(*RENAMED)
        return frames


@pytest.fixture
def fakes() -> Iterator[tuple[FakeGA4, FakeMailchimp, FakeStripe]]:
    """The three APIs serving the demo business's last weeks."""
    with ExitStack() as stack:
        ga4 = stack.enter_context(FakeGA4(Renamed(), property_id="123", today=AS_OF))
        mailchimp = stack.enter_context(FakeMailchimp())
        stripe = stack.enter_context(FakeStripe())
        mailchimp.add_list("5e1d0c9b8a", "Bakers")
        for campaigns in demo.read_email_campaigns(SINCE, AS_OF):
            for c in campaigns:
                mailchimp.add_campaign(FakeCampaign(c.campaign_id, c.title, c.kind, c.list_id, c.send_time,
                                                    c.workflow_id, c.workflow_title, c.position, c.title))
        mailchimp.add_activity(FakeActivity(a.campaign_id, f"{a.email_hash[:20]}@example.com", a.action, a.timestamp)
                               for page in demo.read_email_activity(SINCE, AS_OF) for a in page)
        for sessions in demo.read_checkout_sessions(SINCE, AS_OF):
            for s in sessions:
                stripe.add_session(created=s.created, status=s.status, mode=s.mode, amount_total=s.amount_total,
                                   currency=s.currency, customer_email=f"{s.customer_hash[:20]}@example.com",
                                   product_id=s.product_id, product_name=s.product_name, expires_at=s.expires_at)
        yield ga4, mailchimp, stripe


def test_the_fakes_give_the_same_proposal_and_diff_finds_a_renamed_page_and_a_new_email(
        db_url: str, prefect_api_url: str, tmp_path: Path, fakes: tuple[FakeGA4, FakeMailchimp, FakeStripe]) -> None:
    ga4, mailchimp, stripe = fakes
    env = {"JOURNEY_MAP_FILE": str(tmp_path / "journey.yaml"), "PREFECT_API_URL": prefect_api_url,
           "GA4_PROPERTY_ID": "123",
           "GA4_CREDENTIALS_FILE": str(ga4.credentials_file), "GA4_API_ENDPOINT": ga4.url,
           "MAILCHIMP_API_KEY": mailchimp.api_key, "MAILCHIMP_API_URL": mailchimp.url,
           "STRIPE_API_KEY": stripe.api_key, "STRIPE_API_BASE": stripe.url,
           "SEARCH_CONSOLE_SITE_URL": ""}  # no search property: the proposal is of the three sources
    out = tmp_path / "journey.proposed.yaml"
    stdout = discover(env, "--out", str(out), "--scratch-database", db_url)  # a new user: no journey.yaml yet
    assert "from ga4, mailchimp, stripe" in stdout
    proposal = check_proposal(out)
    assert any(t.match.get("page_path") == RENAMED[1] for _, t in proposal.touchpoints())
    assert out.read_text(encoding="utf-8") in latest_artifact(prefect_api_url, "map-proposal")
    assert "sends in all, by Mailchimp's report" in out.read_text(encoding="utf-8")  # automation emails: no send times
    assert (proposal.business.name, proposal.business.timezone, proposal.business.currency) == (
        "My business", "Europe/London", "GBP")  # GA4's property time zone, Stripe's currency
    engine = make_engine(db_url)
    with engine.connect() as conn:  # what the scratch warehouse holds: the same rows the proposal was made from
        observed = observe(conn, AS_OF - dt.timedelta(days=DAYS), AS_OF - dt.timedelta(days=1),
                           ZoneInfo("Europe/London"))
    engine.dispose()
    demo_map = load_map(EXAMPLE_MAP)
    share = coverage(observed, demo_map, proposal)
    assert share["all"] >= 0.90, share
    assert min(share.values()) >= 0.90, share
    assert sum(observed.weight(s)[observed.matched(s, [t for _, t in demo_map.touchpoints()])].sum()
               for s in ("ga4", "mailchimp", "stripe")) > 50_000  # the demo map counts real volume there

    warehouse = {"JOURNEY_MAP_FILE": str(out), "JOURNEY_DATABASE_URL": f"sqlite:///{tmp_path / 'journey.db'}"}
    run = journeymap("backfill", "--start", "2026-09-28", "--end", "2026-09-30", env={**env, **warehouse})
    assert run.returncode == 0, run.stderr[-3000:]  # then the run: the new user's map, from their accounts
    shown = journeymap("map", "--as-of", AS_OF.isoformat(), "--period", "7", env={**warehouse, "COLUMNS": "200"})
    assert shown.returncode == 0, shown.stderr[-3000:]
    checkout = next(line for line in shown.stdout.splitlines() if "Checkout: Sourdough Masterclass" in line)
    assert re.search(r"│\s+\d[\d,]*\s+│", checkout), checkout  # a volume, read from the Stripe fake

    env["JOURNEY_MAP_FILE"] = str(EXAMPLE_MAP)

    mailchimp.add_campaign(FakeCampaign("7a0c51e005", "Welcome 5: Your first bake-along", "automation",
                                        "5e1d0c9b8a", None, "a3f9e2b7c1", WELCOME, 5))
    diff = discover(env, "--diff", "--scratch-database", db_url)
    assert re.search(r"lead-magnet-page \(Free starter guide landing page\) takes nothing any more .*; renamed to "
                     + re.escape(RENAMED[1]), diff), diff
    assert f"a new email in the automation '{WELCOME}': email 5, “Welcome 5: Your first bake-along”" in diff
    assert f"renamed to {RENAMED[1]}?" in latest_artifact(prefect_api_url, "map-drift")  # for the Prefect UI


def test_without_any_account_or_map_discover_says_what_to_set(prefect_api_url: str, tmp_path: Path) -> None:
    env = {"JOURNEY_MAP_FILE": str(tmp_path / "journey.yaml"), "PREFECT_API_URL": prefect_api_url,
           "GA4_PROPERTY_ID": "", "SEARCH_CONSOLE_SITE_URL": "", "MAILCHIMP_API_KEY": "", "STRIPE_API_KEY": ""}
    nothing = journeymap("discover", env=env)
    assert nothing.returncode == 2
    assert ("no source is set up: set GA4_PROPERTY_ID, SEARCH_CONSOLE_SITE_URL, MAILCHIMP_API_KEY or "
            "STRIPE_API_KEY") in nothing.stderr
    no_map = journeymap("discover", "--diff", "--demo", env=env)
    assert no_map.returncode == 2
    assert f"--diff compares {tmp_path / 'journey.yaml'} with the data, and it is missing" in no_map.stderr
    itself = journeymap("discover", "--demo", "--out", str(EXAMPLE_MAP),
                        env={**env, "JOURNEY_MAP_FILE": str(EXAMPLE_MAP)})
    assert itself.returncode == 2
    assert "is the map file itself" in itself.stderr
    assert not (tmp_path / "journey.proposed.yaml").exists()


def test_a_source_that_cannot_be_read_is_named_and_the_others_still_make_the_proposal(
        prefect_api_url: str, tmp_path: Path) -> None:
    with FakeGA4(property_id="123", today=AS_OF) as ga4, FakeStripe(api_key="sk_test_other") as stripe:
        ga4.quota(tokens_per_day=40)  # enough for some of the days, then GA4's quota stop
        env = {"JOURNEY_MAP_FILE": str(tmp_path / "journey.yaml"), "PREFECT_API_URL": prefect_api_url,
               "GA4_PROPERTY_ID": "123", "GA4_CREDENTIALS_FILE": str(ga4.credentials_file),
               "GA4_API_ENDPOINT": ga4.url, "STRIPE_API_KEY": "sk_test_wrong", "STRIPE_API_BASE": stripe.url,
               "MAILCHIMP_API_KEY": "", "SEARCH_CONSOLE_SITE_URL": ""}
        out = tmp_path / "journey.proposed.yaml"
        done = journeymap("discover", "--days", "7", "--as-of", AS_OF.isoformat(), "--out", str(out), env=env)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "source stripe could not be read:" in done.stderr
    assert "STRIPE_API_KEY" in done.stderr  # the fix is named
    assert "from ga4 over" in done.stdout
    # the coverage is of what was read, and says what was not
    assert "of the volume ga4 shows (stripe could not be read, so its volume is not in it; ga4 read only in part)" \
        in done.stdout, done.stdout
    assert re.search(r"ga4: .*quota.* — the proposal reflects only what was read", done.stderr), done.stderr[-2000:]
    proposal = load_map(out)
    assert {tp.source for _, tp in proposal.touchpoints()} == {"ga4"}
    assert [j.id for j in proposal.journeys] == ["website", "affiliate", "sponsored"]  # no product: the site's
