"""The contract every registered API source keeps, each through its real SDK against its fake: it pages, it stops on
a repeated page, it waits out a 429 as told, and a bad key says which setting to fix."""

from __future__ import annotations

import datetime as dt
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import pytest

from connectors import ga4, mailchimp, search_console, stripe
from connectors.errors import PermanentError, Rejected, RetryPolicy
from connectors.paging import PagingLoop
from connectors.registry import SOURCES
from tests.fakes.ga4 import FakeGA4, make_service_account
from tests.fakes.mailchimp import FakeCampaign, FakeMailchimp
from tests.fakes.search_console import FakeSearchConsole
from tests.fakes.stripe_api import FakeStripe

API_SOURCES = [spec.name for spec in SOURCES if spec.limit is not None]
# GA4 pages by offset up to the `rowCount` of its first answer and stops when it has read that many rows (an empty
# page before then is its own PermanentError): a server that ignores the offset makes it read duplicates, never go
# round for ever. It has no paginator loop guard to hold to check 2, and the GA4 fake no knob to ignore the offset.
BOUNDED_PAGING = {"ga4"}

DAY = dt.date(2026, 9, 14)
TODAY = dt.date(2026, 9, 30)
PAGE = 3  # records per page: the seeded lists are several pages long
RECORDS = 8
RETRY_AFTER = 0.05  # seconds a 429 asks for
FAST = RetryPolicy(attempts=3, base_seconds=0.01, max_seconds=0.05)


class Adapter(ABC):
    """How the contract drives one source: its fake with a little data, its real client, one list (or day) read."""

    setting: ClassVar[str]  # the setting a refused key's message must name

    @abstractmethod
    def serve(self) -> AbstractContextManager[Any]:
        """A started fake holding the seeded records."""

    @abstractmethod
    def seeded(self, fake: Any) -> list[str]:
        """The keys of the records the read should return."""

    @abstractmethod
    def client(self, fake: Any) -> Any:
        """The real SDK client, pointed at the fake, with the key it accepts."""

    @abstractmethod
    def bad_client(self, fake: Any, tmp_path: Path) -> Any:
        """The real SDK client, pointed at the fake, with a key it refuses."""

    @abstractmethod
    def read(self, client: Any, waits: list[float]) -> Iterator[list[str]]:
        """The keys of each page the reader yields (PAGE records a request); each retry's wait goes to `waits`."""

    @abstractmethod
    def list_statuses(self, fake: Any) -> list[int | None]:
        """The statuses of the requests the read made of the list, in order."""

    def repeat_pages(self, fake: Any) -> None:
        """Make the fake serve the first page whatever the cursor or offset asks for."""
        raise NotImplementedError(f"{type(self).__name__} has no server that ignores its paging")

    @abstractmethod
    def fail_once(self, fake: Any, retry_after: float) -> float:
        """Queue one 429 asking for `retry_after` seconds; returns the Retry-After the fake will send."""


def keys_of(records: list[Any], key: Any) -> list[str]:
    """Each record's key; a rejected record keeps its reason, so that it never passes for a good one."""
    return [f"rejected {r.key}: {r.reason}" if isinstance(r, Rejected) else key(r) for r in records]


class GA4(Adapter):
    """One day of the pages report, offset-paged by `read_day`; its `sleep` records the waits (no real wait)."""

    setting = "GA4_CREDENTIALS_FILE"
    PLANS: ClassVar = ga4.plan_reports({"pages": ["screen_page_views"]}, {"pages": ["device"]})

    @staticmethod
    def frame(day: dt.date) -> pd.DataFrame:
        paths = [f"/recipe/{i}/" for i in range(RECORDS)]
        return pd.DataFrame({"pagePath": paths, "deviceCategory": ["mobile"] * RECORDS,
                             "screenPageViews": list(range(1, RECORDS + 1))})

    @contextmanager
    def serve(self) -> Iterator[FakeGA4]:
        with FakeGA4(self.frame, property_id="123", today=TODAY) as fake:
            yield fake

    def seeded(self, fake: FakeGA4) -> list[str]:
        return [f"{path}|mobile" for path in self.frame(DAY)["pagePath"]]

    def client(self, fake: FakeGA4) -> Any:
        return ga4.make_client(fake.credentials_file, fake.url)

    def bad_client(self, fake: FakeGA4, tmp_path: Path) -> Any:
        forged, _ = make_service_account(tmp_path, fake.token_uri)  # a key the fake does not trust
        return ga4.make_client(forged, fake.url)

    def read(self, client: Any, waits: list[float]) -> Iterator[list[str]]:
        day = ga4.read_day(client, "123", DAY, self.PLANS, page_size=PAGE, policy=FAST, sleep=waits.append)
        yield keys_of(day.rows, lambda r: f"{r.item}|{r.device}")  # read_day hands the day over whole

    def list_statuses(self, fake: FakeGA4) -> list[int | None]:
        return [r.status for r in fake.requests.snapshot() if r.rpc in ("batchRunReports", "runReport")]

    def fail_once(self, fake: FakeGA4, retry_after: float) -> float:
        fake.fail_next(1, 429)
        return 1.0  # the GA4 fake's 429 always says Retry-After: 1


class SearchConsole(Adapter):
    """One day of the pages report, startRow-paged by `read_day`; its `sleep` records the waits (no real wait)."""

    setting = "GA4_CREDENTIALS_FILE"  # Search Console reads with the GA4 service account's key
    SITE = "https://www.example.com/"

    @contextmanager
    def serve(self) -> Iterator[FakeSearchConsole]:
        with FakeSearchConsole((self.SITE,), seed=11, today=TODAY) as fake:  # its generated day is the seed
            yield fake

    def seeded(self, fake: FakeSearchConsole) -> list[str]:
        return sorted({f"{c.page}|{c.device}|{c.country}" for c in fake.cells(self.SITE, DAY)})

    def client(self, fake: FakeSearchConsole) -> Any:
        return search_console.make_client(fake.credentials_file, fake.url)

    def bad_client(self, fake: FakeSearchConsole, tmp_path: Path) -> Any:
        forged, _ = make_service_account(tmp_path, fake.token_uri)
        return search_console.make_client(forged, fake.url)

    def read(self, client: Any, waits: list[float]) -> Iterator[list[str]]:
        for page in search_console.read_day(client, self.SITE, DAY, "pages", row_limit=PAGE, policy=FAST,
                                            sleep=waits.append):
            yield keys_of(page, lambda r: f"{r.page}|{r.device}|{r.country}")

    def list_statuses(self, fake: FakeSearchConsole) -> list[int | None]:
        return [r.status for r in fake.requests if r.path.endswith("/searchAnalytics/query")]

    def repeat_pages(self, fake: FakeSearchConsole) -> None:
        fake.ignore_start_row = True

    def fail_once(self, fake: FakeSearchConsole, retry_after: float) -> float:
        fake.fail_next(1, 429, retry_after=retry_after)
        return retry_after


class Mailchimp(Adapter):
    """The regular campaigns sent since a day, offset-paged by `Reader.campaigns`; `on_retry` records the waits
    (the reader sleeps them)."""

    setting = "MAILCHIMP_API_KEY"
    SEND = dt.datetime.combine(DAY, dt.time(8), dt.UTC)

    @contextmanager
    def serve(self) -> Iterator[FakeMailchimp]:
        with FakeMailchimp() as fake:
            fake.add_list("l1", "Bakers")
            for i in range(RECORDS):
                fake.add_campaign(FakeCampaign(f"news{i}", f"Weekly #{i}", "regular", "l1",
                                               self.SEND + dt.timedelta(days=i)))
            yield fake

    def seeded(self, fake: FakeMailchimp) -> list[str]:
        return [f"news{i}" for i in range(RECORDS)]

    def client(self, fake: FakeMailchimp) -> Any:
        return mailchimp.make_client(fake.api_key, fake.url)

    def bad_client(self, fake: FakeMailchimp, tmp_path: Path) -> Any:
        return mailchimp.make_client("0" * 32 + "-us6", fake.url)  # well formed, not the account's

    def read(self, client: Any, waits: list[float]) -> Iterator[list[str]]:
        reader = mailchimp.Reader(client, salt="s", page_size=PAGE, policy=FAST,
                                  on_retry=lambda n, error, wait: waits.append(wait))
        yield [c.campaign_id for c in reader.campaigns(DAY)]  # campaigns() gathers its pages into one list

    def list_statuses(self, fake: FakeMailchimp) -> list[int | None]:
        return [r.status for r in fake.requests if r.path == "/3.0/campaigns"]

    def repeat_pages(self, fake: FakeMailchimp) -> None:
        fake.ignore_offset = True

    def fail_once(self, fake: FakeMailchimp, retry_after: float) -> float:
        fake.fail_next(1, 429, retry_after=retry_after)
        return retry_after


class Stripe(Adapter):
    """The checkout sessions of a day, cursor-paged by `read_checkout_sessions`; `on_retry` records the waits (the
    reader sleeps them)."""

    setting = "STRIPE_API_KEY"

    @contextmanager
    def serve(self) -> Iterator[FakeStripe]:
        with FakeStripe(api_key="sk_test_right") as fake:
            start = dt.datetime.combine(DAY, dt.time(9), dt.UTC)
            for i in range(RECORDS):
                fake.add_session(created=start + dt.timedelta(minutes=i), session_id=f"cs_test_{i}")
            yield fake

    def seeded(self, fake: FakeStripe) -> list[str]:
        return [f"cs_test_{i}" for i in range(RECORDS)]

    def client(self, fake: FakeStripe) -> Any:
        return stripe.make_client(fake.api_key, fake.url)

    def bad_client(self, fake: FakeStripe, tmp_path: Path) -> Any:
        return stripe.make_client("sk_test_wrong", fake.url)

    def read(self, client: Any, waits: list[float]) -> Iterator[list[str]]:
        for page in stripe.read_checkout_sessions(client, DAY, DAY, salt="s", page_size=PAGE, policy=FAST,
                                                  on_retry=lambda n, error, wait: waits.append(wait)):
            yield keys_of(page, lambda r: r.session_id)

    def list_statuses(self, fake: FakeStripe) -> list[int | None]:
        return [r.status for r in fake.requests if r.path == "/v1/checkout/sessions"]

    def repeat_pages(self, fake: FakeStripe) -> None:
        fake.ignore_cursors = True

    def fail_once(self, fake: FakeStripe, retry_after: float) -> float:
        fake.fail_next(1, 429, retry_after=retry_after)
        return float(math.ceil(retry_after))  # HTTP delta-seconds are whole: the fake, like Stripe, rounds up


ADAPTERS: dict[str, Adapter] = {"ga4": GA4(), "search_console": SearchConsole(), "mailchimp": Mailchimp(),
                                "stripe": Stripe()}


@pytest.fixture
def adapter(request: pytest.FixtureRequest) -> Adapter:
    name = request.param
    if name not in ADAPTERS:
        pytest.fail(f"the registered API source {name!r} has no contract adapter in {__name__}")
    return ADAPTERS[name]


def each(names: list[str]) -> Any:
    return pytest.mark.parametrize("adapter", names, indirect=True)


def test_every_registered_api_source_has_an_adapter() -> None:
    assert API_SOURCES  # the registry's API sources, not an empty parametrisation that passes vacuously
    assert sorted(ADAPTERS) == sorted(API_SOURCES)
    assert BOUNDED_PAGING.issubset(API_SOURCES)  # no source left out of check 2 that is not registered


@each(API_SOURCES)
def test_the_reader_pages_through_its_fake_and_reads_every_record_once(adapter: Adapter) -> None:
    with adapter.serve() as fake:
        seeded = adapter.seeded(fake)
        keys = [k for page in adapter.read(adapter.client(fake), []) for k in page]
        statuses = adapter.list_statuses(fake)
    assert len(seeded) > 2 * PAGE  # the seeded list is several pages long
    assert sorted(keys) == sorted(seeded)  # every record, none twice
    assert len(statuses) > 1
    assert set(statuses) == {200}


@each([name for name in API_SOURCES if name not in BOUNDED_PAGING])
def test_a_server_that_repeats_a_page_stops_the_read_with_a_paging_loop(adapter: Adapter) -> None:
    with adapter.serve() as fake:
        adapter.repeat_pages(fake)
        with pytest.raises(PagingLoop, match="repeats the page before it"):
            for _ in adapter.read(adapter.client(fake), []):
                pass
        statuses = adapter.list_statuses(fake)
    assert statuses == [200, 200]  # the first page and its copy: then it stops


@each(API_SOURCES)
def test_a_429_is_waited_out_for_its_retry_after_and_the_read_completes(adapter: Adapter) -> None:
    with adapter.serve() as fake:
        seeded = adapter.seeded(fake)
        told = adapter.fail_once(fake, RETRY_AFTER)
        waits: list[float] = []
        keys = [k for page in adapter.read(adapter.client(fake), waits) for k in page]
        statuses = adapter.list_statuses(fake)
    assert len(waits) == 1
    assert told <= waits[0] <= told * 1.1  # the server's Retry-After in full (plus up to 10 % of jitter)
    assert statuses[:2] == [429, 200]
    assert sorted(keys) == sorted(seeded)


@each(API_SOURCES)
def test_a_refused_key_is_permanent_and_names_the_setting_to_fix(adapter: Adapter, tmp_path: Path) -> None:
    with adapter.serve() as fake:
        client = adapter.bad_client(fake, tmp_path)
        waits: list[float] = []
        with pytest.raises(PermanentError) as caught:
            for _ in adapter.read(client, waits):
                pass
        statuses = adapter.list_statuses(fake)
    assert adapter.setting in str(caught.value)
    assert waits == []  # not retried
    assert set(statuses) <= {401}  # refused: at the token endpoint (no request logged) or by the API itself
    assert len(statuses) <= 3  # at most Google's transport asking again twice with fresh credentials
