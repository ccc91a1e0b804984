"""Search Console end to end: daily runs against the fake Search Console API (the official client pointed at it by
SEARCH_CONSOLE_API_ENDPOINT), its late days read again until final, quota waited out, reruns idempotent, a property
the key may not read — on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, select

from connectors.demo import read_search_rows
from connectors.demo.search import RICH_RESULT_LOST, SITE_ROOT
from flows.pipeline import journey_pipeline
from flows.run_result import PipelineResult
from flows.sources import Source
from models.sources.search_console.tables import SearchConsoleRow
from models.sources.stripe.tables import StripeCheckoutSession
from models.sync import SourceResult
from models.tables import Quarantine, SyncedDay, TouchpointDaily
from tests.fakes.clock import FakeClock
from tests.fakes.search_console import FakeSearchConsole, Fine, generate_day
from tests.fakes.stripe_api import FakeStripe
from tests.flows.sync_helpers import all_rows, run_source

pytestmark = pytest.mark.slow
SITE = "https://www.example.com/"
SEED = 5
START = dt.date(2026, 9, 20)  # the first run's --as-of
HISTORY = 6
LOAF = SITE + "recipes/country-loaf/"
STARTER = SITE + "recipes/sourdough-starter/"
STARTER_QUERIES = ("sourdough starter", "how to make a sourdough starter")
COUNTRIES = {"gbr": "United Kingdom", "usa": "United States", "irl": "Ireland", "fra": "France"}
MAP = """\
business: {{name: Search test, timezone: Europe/London, currency: GBP}}
stages:
  - {{id: awareness, name: Awareness}}
  - {{id: purchase, name: Purchase}}
journeys:
  - id: search
    name: Search
    goal: a visit from Google
    value: 1
    touchpoints:
      - id: loaf-page
        name: Country loaf in Google
        stage: awareness
        source: search_console
        match: {{page: '{loaf}'}}
        volume: impressions
        success: clicks
      - id: starter-query
        name: Starter searches
        stage: awareness
        source: search_console
        match: {{page: '{starter}', query: '{queries}'}}
        volume: impressions
        success: clicks
  - id: shop
    name: Shop
    goal: a sale
    value: 49
    touchpoints:
      - {{id: checkout, name: Checkout, stage: purchase, source: stripe, match: {{product: '.*'}}, volume: checkouts,
         success: completed}}
segments: [device, country]
sources:
  search_console: {{history_days: {history}, lag_days: 3, settle_days: 3, empty_retry_days: 3}}
  stripe: {{history_days: {history}, lag_days: 1, settle_days: 2}}
"""


def midnight(as_of: dt.date) -> dt.datetime:
    """The moment a run for `as_of` happens: the start of that day in London (16:00 the day before in California,
    the day Search Console counts in)."""
    return dt.datetime.combine(as_of - dt.timedelta(days=1), dt.time(23), dt.UTC)


@pytest.fixture
def map_file(tmp_path: Path) -> Path:
    path = tmp_path / "journey.yaml"
    path.write_text(MAP.format(loaf=LOAF.replace(".", r"\."), starter=".*/recipes/sourdough-starter/",
                               queries="|".join(STARTER_QUERIES), history=HISTORY), encoding="utf-8")
    return path


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(midnight(START))


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeSearchConsole]:
    with FakeSearchConsole((SITE,), seed=SEED, clock=clock) as server:
        yield server


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str, map_file: Path,
            fake: FakeSearchConsole) -> pytest.MonkeyPatch:
    for name in ("JOURNEY_HASH_SALT", "SLACK_BOT_TOKEN", "STRIPE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {"JOURNEY_DATABASE_URL": db_url, "JOURNEY_MAP_FILE": str(map_file),
                        "JOURNEY_OUTBOX_DIR": str(tmp_path / "outbox"),
                        "GA4_CREDENTIALS_FILE": str(fake.credentials_file), "SEARCH_CONSOLE_SITE_URL": SITE,
                        "SEARCH_CONSOLE_API_ENDPOINT": fake.url}.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def run(as_of: dt.date, *sources: Source) -> PipelineResult:
    return journey_pipeline(as_of=as_of, sources=list(sources) or [Source.search_console])


Facts = dict[tuple[str, dt.date, str], tuple[float, float]]


def facts(url: str) -> Facts:
    engine = create_engine(url)
    t = TouchpointDaily
    with engine.connect() as conn:
        found = conn.execute(select(t.touchpoint_id, t.date, t.segment, t.volume, t.success).where(
            t.touchpoint_id.in_(["loaf-page", "starter-query"]))).all()
    engine.dispose()
    return {(tp, day, segment): (float(v), float(s)) for tp, day, segment, v, s in found}


def expected(cells: list[Fine], day: dt.date) -> Facts:
    """What the map must hold for a day, summed here from the fake's finest-grain cells: the loaf page's every
    impression (anonymised queries too) by device and country; the starter page's two named queries, uncut."""
    out: dict[tuple[str, dt.date, str], list[float]] = {}

    def add(key: tuple[str, dt.date, str], cell: Fine) -> None:
        total = out.setdefault(key, [0.0, 0.0])
        total[0] += cell.impressions
        total[1] += cell.clicks

    for c in cells:
        if c.page == LOAF:
            for segment in ("all", f"device={c.device.lower()}", f"country={COUNTRIES[c.country]}"):
                add(("loaf-page", day, segment), c)
        if c.page == STARTER and c.query in STARTER_QUERIES:
            add(("starter-query", day, "all"), c)
    return {k: (v[0], v[1]) for k, v in out.items()}


def history_of(as_of: dt.date) -> list[dt.date]:
    return [as_of - dt.timedelta(days=d) for d in range(HISTORY, 0, -1)]


def ledger(url: str) -> dict[dt.date, bool]:
    engine = create_engine(url)
    with engine.connect() as conn:
        marks = dict(conn.execute(select(SyncedDay.day, SyncedDay.settled).where(
            SyncedDay.source == "search_console")).all())
    engine.dispose()
    return {day: bool(settled) for day, settled in marks.items()}


def raw_finals(url: str) -> dict[dt.date, set[bool]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(SearchConsoleRow.date, SearchConsoleRow.final)).all()
    engine.dispose()
    out: dict[dt.date, set[bool]] = {}
    for day, final in rows:
        out.setdefault(day, set()).add(bool(final))
    return out


def test_daily_runs_map_pages_and_queries_and_late_days_end_at_the_final_numbers(
        db_url: str, fake: FakeSearchConsole, clock: FakeClock, environ: pytest.MonkeyPatch,
        prefect_api_url: str) -> None:
    first = run(START)
    assert not first.failed, first.failed
    # as served today: the last three (Pacific) days partial, the older ones final
    got = facts(db_url)
    for day in history_of(START):
        assert {k: v for k, v in got.items() if k[1] == day} == expected(fake.cells(SITE, day), day), day
    assert any(v[0] for k, v in got.items() if k[0] == "starter-query")
    # START − 3 is old enough for the ledger's three settle days, but Search Console is still counting it
    still = START - dt.timedelta(days=3)
    assert fake.first_incomplete_date == still
    assert raw_finals(db_url)[still] == {False}
    assert ledger(db_url)[still] is False
    assert ledger(db_url)[START - dt.timedelta(days=4)] is True
    reads = len(fake.requests)

    as_of = START
    for _ in range(3):  # the clock moves on a day at a time, a run each day
        as_of += dt.timedelta(days=1)
        clock.set(midnight(as_of))
        fake.requests.clear()
        done = run(as_of)
        assert not done.failed, done.failed
        # the new day, and the days Search Console was still counting at the last run (the one three days old
        # then too); the settled, final days are not read again
        read = {dt.date.fromisoformat(r.body["startDate"]) for r in fake.requests}
        assert read == {as_of - dt.timedelta(days=d) for d in range(1, 5)}, sorted(read)
        assert {r.body["dimensions"][-1] for r in fake.requests} == {"country", "query"}  # both reports
    assert reads > len(fake.requests)
    got = facts(db_url)
    finals = raw_finals(db_url)
    assert max(history_of(START)) < fake.first_incomplete_date
    for day in history_of(START):  # now final: exactly what Search Console finally reports
        assert {k: v for k, v in got.items() if k[1] == day} == expected(generate_day(SITE, day, SEED), day), day
        assert finals[day] == {True}, day
        assert ledger(db_url)[day] is True, day


def test_quota_and_rate_limit_errors_are_waited_out(db_url: str, fake: FakeSearchConsole,
                                                    environ: pytest.MonkeyPatch, prefect_api_url: str) -> None:
    fake.exceed_quota_next(2, retry_after=1)
    fake.fail_next(1, 429, retry_after=1)
    done = run(START)
    assert not done.failed, done.failed
    assert [r.status for r in fake.requests[:4]] == [403, 403, 429, 200]
    got = facts(db_url)
    for day in history_of(START):
        assert {k: v for k, v in got.items() if k[1] == day} == expected(fake.cells(SITE, day), day), day


def test_a_spent_daily_quota_stops_the_source_without_failing_it_and_the_next_run_reads_the_days_left(
        db_url: str, map_file: Path, fake: FakeSearchConsole, environ: pytest.MonkeyPatch,
        prefect_api_url: str) -> None:
    fake.exceed_quota_next(1, reason="dailyLimitExceeded")
    stopped = run_source(db_url, str(map_file), "search_console", START)
    assert not stopped.failure, stopped.failure
    assert "daily quota is spent" in stopped.note
    assert stopped.streams[0].rows == 0
    assert ledger(db_url) == {}  # nothing marked read
    resumed = run_source(db_url, str(map_file), "search_console", START, map_days=HISTORY)
    assert not resumed.failure, resumed.failure
    assert not resumed.note
    assert set(ledger(db_url)) == set(history_of(START))
    got = facts(db_url)
    for day in history_of(START):
        assert {k: v for k, v in got.items() if k[1] == day} == expected(fake.cells(SITE, day), day), day


def test_rows_that_cannot_be_read_or_stored_are_quarantined_and_their_day_still_lands(
        db_url: str, map_file: Path, fake: FakeSearchConsole, environ: pytest.MonkeyPatch,
        prefect_api_url: str) -> None:
    day = START - dt.timedelta(days=5)
    keys = [day.isoformat(), LOAF, "MOBILE", "deu"]
    fake.inject_rows(day, ("date", "page", "device", "country"), [
        {"keys": keys, "clicks": 2.5, "impressions": 9, "ctr": 0.3, "position": 3.0},  # the reader refuses it
        {"keys": [*keys[:3], "aut"], "clicks": 12, "impressions": 9, "ctr": 1.3, "position": 3.0},  # the landing
    ])
    done = run_source(db_url, str(map_file), "search_console", START, map_days=HISTORY)
    assert not done.failure, done.failure
    assert done.streams[0].quarantined == 2
    assert any("clicks 12 exceed impressions 9" in r for r in done.streams[0].reasons)
    assert any("not a whole number" in r for r in done.streams[0].reasons)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        kept = conn.execute(select(Quarantine.source, Quarantine.stream)).all()
    engine.dispose()
    assert kept == [("search_console", "rows")] * 2
    got = facts(db_url)
    assert {k: v for k, v in got.items() if k[1] == day} == expected(fake.cells(SITE, day), day)


def test_a_rerun_leaves_every_table_as_one_run_and_a_row_google_no_longer_reports_goes(
        db_url: str, fake: FakeSearchConsole, environ: pytest.MonkeyPatch, prefect_api_url: str) -> None:
    assert not run(START).failed
    once = all_rows(db_url)
    engine = create_engine(db_url)
    with engine.begin() as conn:  # a row of a day still being counted that Search Console stops reporting
        conn.execute(insert(SearchConsoleRow).values(
            site_url=SITE, report="pages", date=START - dt.timedelta(days=1), row_key="0" * 40, page=LOAF,
            query="", device="DESKTOP", country="gbr", clicks=1, impressions=5, position_sum=10.0, final=False))
    engine.dispose()
    assert not run(START).failed
    assert all_rows(db_url) == once


def test_a_property_the_key_may_not_read_fails_only_search_console_and_says_how_to_fix_it(
        db_url: str, fake: FakeSearchConsole, environ: pytest.MonkeyPatch, prefect_api_url: str) -> None:
    fake.allowed_sites = set()
    with FakeStripe() as stripe:
        for d in range(1, 4):
            stripe.add_session(created=dt.datetime.combine(START - dt.timedelta(days=d), dt.time(9), dt.UTC),
                               customer_email=f"buyer{d}@example.com")
        environ.setenv("STRIPE_API_KEY", stripe.api_key)
        environ.setenv("STRIPE_API_BASE", stripe.url)
        done = run(START, Source.search_console, Source.stripe)
    assert set(done.failed) == {"search_console"}
    message = done.failed["search_console"]
    assert f"Search Console property {SITE}: permission denied" in message
    assert "add the service account's email as a user of the property" in message
    assert "Users and permissions" in message
    assert "Traceback" not in message
    engine = create_engine(db_url)
    with engine.connect() as conn:
        assert len(conn.execute(select(StripeCheckoutSession.session_id)).all()) == 3
        assert conn.execute(select(SearchConsoleRow.row_key)).all() == []
    engine.dispose()


@pytest.mark.parametrize(("site", "words"), [
    (None, ["SEARCH_CONSOLE_SITE_URL is not set", "sc-domain:example.com", "https://www.example.com/"]),
    ("example.com", ["SEARCH_CONSOLE_SITE_URL 'example.com' is not a Search Console property", "trailing slash"]),
])
def test_a_missing_or_wrong_site_url_names_the_variable_and_the_fix(
        db_url: str, map_file: Path, fake: FakeSearchConsole, environ: pytest.MonkeyPatch, prefect_api_url: str,
        site: str | None, words: list[str]) -> None:
    if site is None:
        environ.delenv("SEARCH_CONSOLE_SITE_URL")
    else:
        environ.setenv("SEARCH_CONSOLE_SITE_URL", site)
    done = run_source(db_url, str(map_file), "search_console", START)
    assert done.misconfigured
    for word in words:
        assert word in done.failure
    assert fake.requests == []


def test_the_demo_reads_search_console_when_the_map_uses_it(
        db_url: str, tmp_path: Path, environ: pytest.MonkeyPatch, prefect_api_url: str) -> None:
    page, lost_from, _ = RICH_RESULT_LOST
    demo_map = tmp_path / "demo.yaml"
    demo_map.write_text(MAP.format(loaf=(SITE_ROOT + page).replace(".", r"\."), starter=".*",
                                   queries="classic country loaf", history=HISTORY), encoding="utf-8")
    environ.setenv("JOURNEY_MAP_FILE", str(demo_map))
    as_of = lost_from + dt.timedelta(days=3)
    done = journey_pipeline(as_of=as_of, demo=True, sources=[Source.search_console])
    assert not done.failed, done.failed
    got = facts(db_url)
    for day in history_of(as_of):
        rows = [r for p in read_search_rows(day, day) for r in p]
        pages = [r for r in rows if r.report == "pages" and r.page == SITE_ROOT + page]
        queries = [r for r in rows if r.report == "queries" and r.query == "classic country loaf"]
        assert got[("loaf-page", day, "all")] == (sum(r.impressions for r in pages), sum(r.clicks for r in pages))
        assert got[("loaf-page", day, "device=mobile")] == (
            sum(r.impressions for r in pages if r.device == "MOBILE"),
            sum(r.clicks for r in pages if r.device == "MOBILE"))
        assert got[("starter-query", day, "all")] == (sum(r.impressions for r in queries),
                                                      sum(r.clicks for r in queries))
        assert ("starter-query", day, "device=mobile") not in got  # the queries report has no devices


def marks(url: str) -> dict[dt.date, tuple[str, bool]]:
    """The ledger's Search Console days: (status, settled)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        found = conn.execute(select(SyncedDay.day, SyncedDay.status, SyncedDay.settled).where(
            SyncedDay.source == "search_console")).all()
    engine.dispose()
    return {day: (status, bool(settled)) for day, status, settled in found}


def days_asked(fake: FakeSearchConsole) -> set[dt.date]:
    return {dt.date.fromisoformat(r.body["startDate"]) for r in fake.requests if r.status == 200}


def daily_source_run(db_url: str, map_file: Path, fake: FakeSearchConsole, clock: FakeClock,
                     as_of: dt.date) -> tuple[SourceResult, set[dt.date]]:
    """The Search Console sync of a run on `as_of` (the clock set to it, its days mapped): its result, the days
    it asked for."""
    clock.set(midnight(as_of))
    fake.requests.clear()
    done = run_source(db_url, str(map_file), "search_console", as_of, map_days=HISTORY)
    assert not done.failure, done.failure
    return done, days_asked(fake)


def test_an_empty_day_is_asked_again_named_in_a_warning_and_lands_when_search_console_fills_it_in(
        db_url: str, map_file: Path, fake: FakeSearchConsole, clock: FakeClock, environ: pytest.MonkeyPatch,
        prefect_api_url: str) -> None:
    late = START - dt.timedelta(days=2)
    fake.empty_day(late, until=START + dt.timedelta(days=1))  # Pacific Time: served again from the run of START + 2
    for as_of in (START, START + dt.timedelta(days=1)):
        done, asked = daily_source_run(db_url, map_file, fake, clock, as_of)
        assert late in asked
        assert len(done.warnings) == 1, done.warnings
        assert f"Search Console property {SITE}: 1 day(s) came back empty ({late})" in done.warnings[0]
        assert "asked again for 3 days, then recorded as gaps" in done.warnings[0]
        assert marks(db_url)[late][0] == "empty"
        assert not {k for k in facts(db_url) if k[1] == late}  # nothing stored for it yet
        other = late + dt.timedelta(days=1)  # the property is otherwise active
        assert {k: v for k, v in facts(db_url).items() if k[1] == other} == expected(fake.cells(SITE, other), other)
    filled, asked = daily_source_run(db_url, map_file, fake, clock, START + dt.timedelta(days=2))
    assert late in asked
    assert filled.warnings == []
    assert marks(db_url)[late] == ("ok", True)
    got = facts(db_url)
    assert {k: v for k, v in got.items() if k[1] == late} == expected(generate_day(SITE, late, SEED), late)
    _, asked = daily_source_run(db_url, map_file, fake, clock, START + dt.timedelta(days=3))
    assert late not in asked  # filled in and settled: done


def test_a_day_empty_for_good_is_a_confirmed_gap_after_empty_retry_days_and_a_backfill_reads_it_again(
        db_url: str, map_file: Path, fake: FakeSearchConsole, clock: FakeClock, environ: pytest.MonkeyPatch,
        prefect_api_url: str) -> None:
    outage = START - dt.timedelta(days=2)
    fake.empty_day(outage)  # for good
    asked, warnings = 0, []
    for d in range(5):  # the day stays in the history until the run of START + 4
        done, days = daily_source_run(db_url, map_file, fake, clock, START + dt.timedelta(days=d))
        asked += outage in days
        warnings.append(done.warnings)
    assert asked == 4  # the first read and 3 days of asking again (empty_retry_days), not the fifth run
    assert all(str(outage) in w[0] for w in warnings[:4])
    assert "came back empty" in warnings[2][0]
    assert f"1 day(s) stayed empty for 3 days ({outage}) and are now recorded as gaps" in warnings[3][0]
    assert "a backfill of those days reads them again" in warnings[3][0]
    assert warnings[4] == []  # a gap is not read again by a daily run, nor named again
    assert marks(db_url)[outage][0] == "gap"

    fake.empty_day(outage, until=fake.today)  # Search Console has the day after all
    fake.requests.clear()
    as_of = START + dt.timedelta(days=4)
    backfill = run_source(db_url, str(map_file), "search_console", as_of, window=(outage, outage), map_days=HISTORY)
    assert not backfill.failure, backfill.failure
    assert days_asked(fake) == {outage}
    assert backfill.warnings == []
    assert marks(db_url)[outage] == ("ok", True)
    got = facts(db_url)
    assert {k: v for k, v in got.items() if k[1] == outage} == expected(generate_day(SITE, outage, SEED), outage)


def test_an_empty_day_whose_retries_ran_out_between_runs_is_a_gap_without_another_read(
        db_url: str, map_file: Path, fake: FakeSearchConsole, clock: FakeClock, environ: pytest.MonkeyPatch,
        prefect_api_url: str) -> None:
    outage = START - dt.timedelta(days=1)
    fake.empty_day(outage)
    first, _ = daily_source_run(db_url, map_file, fake, clock, START)
    assert str(outage) in first.warnings[0]
    later, asked = daily_source_run(db_url, map_file, fake, clock, START + dt.timedelta(days=4))  # no runs between
    assert outage not in asked
    # the new days, and the day still settling at the last run; not the empty one
    assert asked == {START + dt.timedelta(days=d) for d in (-2, 0, 1, 2, 3)}
    assert later.warnings == []
    assert marks(db_url)[outage][0] == "gap"


def test_a_property_younger_than_the_history_has_no_empty_days_before_its_first_data(
        db_url: str, map_file: Path, fake: FakeSearchConsole, clock: FakeClock, environ: pytest.MonkeyPatch,
        prefect_api_url: str) -> None:
    young = [START - dt.timedelta(days=d) for d in (6, 5, 4)]  # Search Console has data of the last 3 days only
    for day in young:
        fake.empty_day(day)
    done, _ = daily_source_run(db_url, map_file, fake, clock, START)
    assert done.warnings == []
    assert all(marks(db_url)[day] == ("ok", True) for day in young)
    _, asked = daily_source_run(db_url, map_file, fake, clock, START + dt.timedelta(days=1))
    assert not asked & set(young)


def test_a_property_without_any_data_is_not_warned_about(
        db_url: str, map_file: Path, fake: FakeSearchConsole, clock: FakeClock, environ: pytest.MonkeyPatch,
        prefect_api_url: str) -> None:
    for day in history_of(START):
        fake.empty_day(day)
    done, asked = daily_source_run(db_url, map_file, fake, clock, START)
    assert asked == set(history_of(START))
    assert done.warnings == []
    assert {status for status, _ in marks(db_url).values()} == {"ok"}
