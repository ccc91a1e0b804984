"""The contract every registered API source keeps through the generic sync (`flows.sources`), each through its real
connector against its fake, on SQLite and on PostgreSQL: a rerun, and a run a day later, leave its landing tables
as one run left them; a key the API refuses fails it as configuration, naming the setting to fix, with nothing
written; a missing account setting is caught before any request, naming the variable.

The fakes hold data on the days before AS_OF and none from AS_OF on, so that a run a day later (whose window takes
in AS_OF and lets the oldest day go) has nothing new to land: its tables must stay exactly as they were."""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest
from prefect.logging import disable_run_logger
from sqlalchemy import Engine, select

from connectors.errors import PermanentError
from connectors.registry import BY_NAME as CONNECTORS
from connectors.registry import SOURCES
from connectors.search_console.settings import REPORTS as SEARCH_REPORTS
from flows.settings import Settings, SettingsError, load_settings
from flows.sources import open_readers, sync_source
from models.mapfile import load_map
from models.sources.registry import PARTS
from models.sync import SourceResult
from models.tables import SyncedDay, SyncState
from tests.fakes.ga4 import FakeGA4, demo_data, make_service_account
from tests.fakes.mailchimp import FakeActivity, FakeCampaign, FakeMailchimp
from tests.fakes.search_console import FakeSearchConsole, parse_query
from tests.fakes.stripe_api import FakeStripe

pytestmark = pytest.mark.slow  # ~20 s in all

API_SOURCES = [spec.name for spec in SOURCES if spec.limit is not None]
AS_OF = dt.date(2026, 9, 30)
HISTORY = 5  # a run on AS_OF reads AS_OF − 5 .. AS_OF − 1; a run a day later AS_OF − 4 .. AS_OF
DAYS = [AS_OF - dt.timedelta(days=d) for d in range(HISTORY, 0, -1)]  # the days the fakes hold data for
SITE = "https://www.example.com/"
MAP = """\
business: {name: Contract test, timezone: Europe/London, currency: GBP}
stages:
  - {id: awareness, name: Awareness}
  - {id: purchase, name: Purchase}
journeys:
  - id: contract
    name: Contract
    goal: a sale
    value: 10
    touchpoints:
      - {id: recipe-pages, name: Recipe pages, stage: awareness, source: ga4, match: {page_path: '/recipes/.*'},
         volume: screenPageViews}
      - {id: found-in-google, name: Found in Google, stage: awareness, source: search_console, match: {page: '.*'},
         volume: impressions, success: clicks}
      - {id: newsletter, name: Newsletter, stage: awareness, source: mailchimp, match: {campaign: 'Weekly #\\d+'},
         volume: sent, success: clicks}
      - {id: checkout, name: Checkout, stage: purchase, source: stripe, match: {product: '.*'}, volume: checkouts,
         success: completed}
segments: [device]
sources:
"""


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), dt.UTC)


@dataclass
class Served:
    """A started, seeded fake, and the token grants it was asked for (a Google fake logs none of them)."""

    fake: Any
    grants: list[bytes] = field(default_factory=list)


def counting_grants(fake: Any) -> Served:
    """The fake, its /token endpoint counting every grant asked for (refused ones too)."""
    served = Served(fake)
    issue = fake.auth.issue

    def counted(body: bytes) -> Any:
        served.grants.append(body)
        return issue(body)

    fake.auth.issue = counted
    return served


class Adapter(ABC):
    """How the contract drives one source: its fake with data on DAYS only, the settings that point the real
    connector at it, a key it refuses, and what it saw."""

    name: ClassVar[str]
    refused_setting: ClassVar[str]  # the variable a refused key's failure must name
    page_size: ClassVar[int]  # records a request: the seeded lists (and days) are several pages long

    @abstractmethod
    def serve(self) -> AbstractContextManager[Served]:
        """The started fake, seeded."""

    @abstractmethod
    def env(self, fake: Any) -> dict[str, str]:
        """The environment that connects the source to the fake, with a key it accepts."""

    @abstractmethod
    def refused(self, fake: Any, tmp_path: Path) -> dict[str, str]:
        """The variables to change so that the fake refuses the key (401/403 or a refused token grant)."""

    @abstractmethod
    def requests(self, served: Served) -> int:
        """Every request the fake saw (token grants too)."""

    @abstractmethod
    def expected(self, fake: Any) -> dict[str, int]:
        """Rows each landing table (by name) must hold after the first run, from what the fake holds."""


class GA4(Adapter):
    """The demo blog's pages report (the map asks for page views by page and device)."""

    name = "ga4"
    refused_setting = "GA4_CREDENTIALS_FILE"
    page_size = 25  # ~70 rows a day
    PROPERTY = "123"

    @contextmanager
    def serve(self) -> Iterator[Served]:
        with FakeGA4(property_id=self.PROPERTY, today=AS_OF) as fake:
            fake.empty_day(AS_OF)  # nothing yet for the day a run a day later reads
            yield counting_grants(fake)

    def env(self, fake: FakeGA4) -> dict[str, str]:
        return {"GA4_PROPERTY_ID": self.PROPERTY, "GA4_CREDENTIALS_FILE": str(fake.credentials_file),
                "GA4_API_ENDPOINT": fake.url}

    def refused(self, fake: FakeGA4, tmp_path: Path) -> dict[str, str]:
        forged, _ = make_service_account(tmp_path, fake.token_uri)  # a key the fake does not trust
        return {"GA4_CREDENTIALS_FILE": str(forged)}

    def requests(self, served: Served) -> int:
        return len(served.fake.requests) + len(served.grants)

    def expected(self, fake: FakeGA4) -> dict[str, int]:
        data = demo_data()
        rows = sum(len(data(day)["pagePath"].drop_duplicates(["pagePath", "deviceCategory"])) for day in DAYS)
        return {"raw_ga4_rows": rows}


class SearchConsole(Adapter):
    """A generated property; its last three days still being counted (partial, read again by each run)."""

    name = "search_console"
    refused_setting = "GA4_CREDENTIALS_FILE"  # Search Console reads with the GA4 service account's key
    page_size = 15  # ~40 rows a day and report

    @contextmanager
    def serve(self) -> Iterator[Served]:
        with FakeSearchConsole((SITE,), seed=3, today=DAYS[-1]) as fake:  # AS_OF is still to come: no rows
            yield counting_grants(fake)

    def env(self, fake: FakeSearchConsole) -> dict[str, str]:
        return {"SEARCH_CONSOLE_SITE_URL": SITE, "GA4_CREDENTIALS_FILE": str(fake.credentials_file),
                "SEARCH_CONSOLE_API_ENDPOINT": fake.url}

    def refused(self, fake: FakeSearchConsole, tmp_path: Path) -> dict[str, str]:
        forged, _ = make_service_account(tmp_path, fake.token_uri)
        return {"GA4_CREDENTIALS_FILE": str(forged)}

    def requests(self, served: Served) -> int:
        return len(served.fake.requests) + len(served.grants)

    def expected(self, fake: FakeSearchConsole) -> dict[str, int]:
        rows = 0
        for day in DAYS:
            for dims in SEARCH_REPORTS.values():
                query = parse_query({"startDate": day.isoformat(), "endDate": day.isoformat(),
                                     "dimensions": list(dims), "dataState": "all"})
                rows += len(fake.rows(SITE, query))
        return {"raw_search_console_rows": rows}


class Mailchimp(Adapter):
    """Regular campaigns, one sent each day, with their sends, opens and clicks. No automation email: its report
    snapshot is a row a day by design, which a run a day later rightly adds."""

    name = "mailchimp"
    refused_setting = "MAILCHIMP_API_KEY"
    page_size = 4
    READERS = 3

    def activity(self) -> list[FakeActivity]:
        rows = []
        for n, day in enumerate(DAYS):
            for i in range(self.READERS):
                email = f"reader{i}@example.com"
                rows.append(FakeActivity(f"news{n}", email, "sent", at(day, 8)))
                rows.append(FakeActivity(f"news{n}", email, "open", at(day, 9, i)))
                if i % 2 == 0:
                    rows.append(FakeActivity(f"news{n}", email, "click", at(day, 10, i)))
        return rows

    @contextmanager
    def serve(self) -> Iterator[Served]:
        with FakeMailchimp() as fake:
            fake.add_list("l1", "Bakers")
            for n, day in enumerate(DAYS):
                fake.add_campaign(FakeCampaign(f"news{n}", f"Weekly #{n}", "regular", "l1", at(day, 8)))
            fake.add_activity(self.activity())
            yield Served(fake)

    def env(self, fake: FakeMailchimp) -> dict[str, str]:
        return {"MAILCHIMP_API_KEY": fake.api_key, "MAILCHIMP_API_URL": fake.url}

    def refused(self, fake: FakeMailchimp, tmp_path: Path) -> dict[str, str]:
        return {"MAILCHIMP_API_KEY": "0" * 32 + "-us6"}  # well formed, not the account's

    def requests(self, served: Served) -> int:
        return len(served.fake.requests)

    def expected(self, fake: FakeMailchimp) -> dict[str, int]:
        return {"raw_mailchimp_campaigns": len(DAYS), "raw_mailchimp_activity": len(self.activity()),
                "raw_mailchimp_reports": 0, "raw_mailchimp_list_growth": 1}  # one month: September


class Stripe(Adapter):
    """Checkout sessions each day, subscriptions, a refund and payment intents."""

    name = "stripe"
    refused_setting = "STRIPE_API_KEY"
    page_size = 4
    SESSIONS = 3  # a day
    SUBSCRIPTIONS = 5

    @contextmanager
    def serve(self) -> Iterator[Served]:
        with FakeStripe(api_key="sk_test_right") as fake:
            for day in DAYS:
                for i in range(self.SESSIONS):
                    session = fake.add_session(created=at(day, 9 + i), customer_email=f"buyer{i}@example.com")
                fake.add_payment_intent(created=at(day, 12), amount=4900)
            for i in range(self.SUBSCRIPTIONS):
                fake.add_subscription(created=at(DAYS[0], 9, i))
            fake.add_refund(created=at(DAYS[-1], 15), payment_intent=session["payment_intent"])
            yield Served(fake)

    def env(self, fake: FakeStripe) -> dict[str, str]:
        return {"STRIPE_API_KEY": fake.api_key, "STRIPE_API_BASE": fake.url}

    def refused(self, fake: FakeStripe, tmp_path: Path) -> dict[str, str]:
        return {"STRIPE_API_KEY": "sk_test_wrong"}

    def requests(self, served: Served) -> int:
        return len(served.fake.requests)

    def expected(self, fake: FakeStripe) -> dict[str, int]:
        return {"raw_stripe_checkout_sessions": self.SESSIONS * len(DAYS),
                "raw_stripe_subscriptions": self.SUBSCRIPTIONS, "raw_stripe_refunds": 1,
                "raw_stripe_payment_intents": len(DAYS)}


ADAPTERS: dict[str, Adapter] = {a.name: a for a in (GA4(), SearchConsole(), Mailchimp(), Stripe())}


@pytest.fixture(params=API_SOURCES)
def adapter(request: pytest.FixtureRequest) -> Adapter:
    name = request.param
    if name not in ADAPTERS:
        pytest.fail(f"the registered API source {name!r} has no contract adapter in {__name__}")
    return ADAPTERS[name]


@pytest.fixture
def map_file(tmp_path: Path) -> Path:
    path = tmp_path / "journey.yaml"
    sources = "".join(f"  {a.name}: {{history_days: {HISTORY}, lag_days: 1, settle_days: 2, "
                      f"page_size: {a.page_size}}}\n" for a in ADAPTERS.values())
    path.write_text(MAP + sources, encoding="utf-8")
    return path


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch, map_file: Path) -> pytest.MonkeyPatch:
    """No setting of this machine's environment: each test sets the ones its source reads. No Prefect server to
    look secrets up in either (a missing key stays missing)."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("JOURNEY_MAP_FILE", str(map_file))
    return monkeypatch


def use(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


Rows = dict[str, list[tuple[Any, ...]]]


def landing(engine: Engine, source: str) -> Rows:
    """Every landing table of the source, its rows ordered by all their columns (raw_mailchimp_activity has no
    primary key in the table: a replaced day's rows come back in another order), duplicates kept."""
    with engine.connect() as conn:
        return {s.table.name: [tuple(r) for r in conn.execute(select(s.table).order_by(*s.table.columns))]
                for s in PARTS[source].streams}


def bookkeeping(engine: Engine, source: str) -> list[tuple[Any, ...]]:
    """The source's day ledger and cursors."""
    with engine.connect() as conn:
        return [*conn.execute(select(SyncedDay.day, SyncedDay.stream).where(SyncedDay.source == source)),
                *conn.execute(select(SyncState.stream, SyncState.cursor).where(SyncState.source == source))]


def sync(engine: Engine, map_file: Path, source: str, as_of: dt.date) -> SourceResult:
    """The sync task's own code, as a daily run calls it (its settings from the environment), without a Prefect
    server: its run logger is Prefect's null logger, as `disable_run_logger` makes it."""
    with disable_run_logger():
        return sync_source.fn(engine, load_map(map_file), source, as_of, False)


def landed(result: SourceResult) -> int:
    return sum(s.rows for s in result.streams)


def test_every_registered_api_source_has_an_adapter() -> None:
    assert API_SOURCES  # the registry's API sources, not an empty parametrisation that passes vacuously
    assert sorted(ADAPTERS) == sorted(API_SOURCES)
    for name, adapter in ADAPTERS.items():
        assert adapter.refused_setting.lower() in Settings.model_fields, name  # a variable the flow reads


def test_a_rerun_and_a_run_a_day_later_leave_the_landing_tables_as_the_first_run_left_them(
        adapter: Adapter, engine: Engine, map_file: Path, environ: pytest.MonkeyPatch) -> None:
    with adapter.serve() as served:
        use(environ, adapter.env(served.fake))
        first = sync(engine, map_file, adapter.name, AS_OF)
        assert not first.failure, first.failure
        once = landing(engine, adapter.name)
        expected = adapter.expected(served.fake)
        asked = adapter.requests(served)
        again = sync(engine, map_file, adapter.name, AS_OF)
        assert not again.failure, again.failure
        twice = landing(engine, adapter.name)
        asked_again = adapter.requests(served)
        later = sync(engine, map_file, adapter.name, AS_OF + dt.timedelta(days=1))
        assert not later.failure, later.failure
        after_a_day = landing(engine, adapter.name)
        asked_later = adapter.requests(served)
    assert set(expected) == set(once)  # the adapter accounts for every landing table of the source
    assert {table: len(rows) for table, rows in once.items()} == expected  # every record the fake holds, once
    assert asked_again > asked  # each run asked the fake again
    assert asked_later > asked_again
    assert landed(again) > 0  # the rerun landed rows again (its unsettled days): none added, none lost
    assert twice == once
    assert landed(later) > 0
    assert after_a_day == once


def test_a_refused_key_fails_the_source_as_configuration_naming_the_setting_and_writes_nothing(
        adapter: Adapter, engine: Engine, map_file: Path, environ: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with adapter.serve() as served:
        use(environ, {**adapter.env(served.fake), **adapter.refused(served.fake, tmp_path)})
        done = sync(engine, map_file, adapter.name, AS_OF)
        asked = adapter.requests(served)
    assert asked > 0  # the key was refused by the fake, not by a check before any request
    assert done.failure
    assert done.misconfigured, done.failure
    assert adapter.refused_setting in done.failure, done.failure
    assert "internal error" not in done.failure
    assert landing(engine, adapter.name) == {s.table.name: [] for s in PARTS[adapter.name].streams}
    assert bookkeeping(engine, adapter.name) == []  # no day marked read, no cursor moved


def test_a_missing_account_setting_is_caught_before_any_request_and_names_the_variable(
        adapter: Adapter, map_file: Path, environ: pytest.MonkeyPatch) -> None:
    spec = CONNECTORS[adapter.name]
    assert spec.account  # the variables that connect the source
    journey_map = load_map(map_file)
    with adapter.serve() as served:
        use(environ, adapter.env(served.fake))
        for name in spec.account:
            environ.delenv(name)
        with pytest.raises((PermanentError, SettingsError)) as caught:
            open_readers(adapter.name, load_settings(), journey_map)
        asked = adapter.requests(served)
        use(environ, adapter.env(served.fake))
        assert open_readers(adapter.name, load_settings(), journey_map) is not None  # set, it opens
    assert asked == 0
    for name in spec.account:
        assert name in str(caught.value), str(caught.value)
