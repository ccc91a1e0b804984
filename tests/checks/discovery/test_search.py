"""Search touchpoints in a proposal and in a map's drift, read from a hand-made warehouse on SQLite and PostgreSQL:
the pages (or page sections) with the most impressions in a search engine's results start the journey, in
awareness, before the visits they bring; a map without them gets them in `--diff`."""

from __future__ import annotations

import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, insert

from checks.discovery.drift import coverage, map_drift
from checks.discovery.observed import Observed, observe
from checks.discovery.proposal import propose
from checks.discovery.rules import Candidate, assign_stage
from models.config import Business, Journey, JourneyMap, Stage, Touchpoint
from models.sources.discovery import parent, sections, split_address
from models.sources.ga4.tables import Ga4Row
from models.sources.search_console.tables import SearchConsoleRow
from models.tables import table_of

DAY = dt.date(2026, 9, 10)
SITE = "https://www.example.com"
BLOG = r"https://www\.example\.com/blog/[^/]+/?"
LOAF = r"https://www\.example\.com/recipes/loaf/"
REVIEW = r"https://www\.example\.com/reviews/best-bread-knife/"


def ga4(report: str, item: str, volume: int, key_events: float = 0.0) -> dict[str, object]:
    column = {"traffic": "sessions", "pages": "screen_page_views", "events": "event_count"}[report]
    return {"property_id": "1", "report": report, "date": DAY, "item": item,
            "row_key": hashlib.sha1(f"{report}{item}".encode()).hexdigest(), "channel": "Organic Search",
            "source": "google", "medium": "organic", "device": "", "user_type": "", "country": "", "sessions": 0,
            "screen_page_views": 0, "event_count": 0, "key_events": key_events, "purchase_revenue": 0.0,
            column: volume}


def search(path: str, impressions: int, clicks: int, query: str = "") -> dict[str, object]:
    report = "queries" if query else "pages"
    return {"site_url": f"{SITE}/", "report": report, "date": DAY,
            "row_key": hashlib.sha1(f"{report}{path}{query}".encode()).hexdigest(), "page": SITE + path,
            "query": query, "device": "" if query else "MOBILE", "country": "" if query else "gbr", "clicks": clicks,
            "impressions": impressions, "position_sum": 3.0 * impressions, "final": True}


@pytest.fixture
def observed(engine: Engine) -> Observed:
    """A day of a blog: three posts and a recipe found in the results (a rarely shown about page too), a review
    page that carries affiliate links, and the visits they bring."""
    rows = [search(f"/blog/post-{i}/", 1000, 50) for i in range(3)]
    rows += [search("/recipes/loaf/", 2000, 120), search("/reviews/best-bread-knife/", 800, 40),
             search("/about/", 20, 1), search("/recipes/loaf/", 900, 60, query="sourdough loaf")]
    with engine.begin() as conn:
        conn.execute(insert(table_of(SearchConsoleRow)), rows)
        conn.execute(insert(table_of(Ga4Row)), [
            *(ga4("traffic", f"/blog/post-{i}/", 60 - 10 * i) for i in range(3)),
            ga4("traffic", "/recipes/loaf/", 100), ga4("pages", "/recipes/loaf/", 300),
            ga4("pages", "/reviews/best-bread-knife/", 80), ga4("events", "affiliate_click", 20, key_events=20),
            ga4("events", "sign_up", 10, key_events=10)])
        return observe(conn, DAY, DAY, ZoneInfo("UTC"))


def test_whole_addresses_are_grouped_by_folder_like_page_paths() -> None:
    assert split_address(f"{SITE}/blog/a/") == (SITE, "/blog/a/")
    assert split_address("/blog/a/") == ("", "/blog/a/")
    assert parent(f"{SITE}/blog/a/") == f"{SITE}/blog/"
    assert parent(f"{SITE}/about/") == f"{SITE}/"
    pages = [f"{SITE}/blog/{p}/" for p in "abc"] + [f"{SITE}/", f"{SITE}/about/", f"{SITE}/faq/", f"{SITE}/team/"]
    assert sections(pages, set()) == {f"{SITE}/blog/": sorted(pages[:3]), f"{SITE}/": [f"{SITE}/"],
                                      f"{SITE}/about/": [f"{SITE}/about/"], f"{SITE}/faq/": [f"{SITE}/faq/"],
                                      f"{SITE}/team/": [f"{SITE}/team/"]}  # top-level pages are never a folder


def test_a_search_result_is_awareness_whatever_its_page() -> None:
    assert assign_stage(Candidate("search", f"{SITE}/checkout/"))[0] == "awareness"


def test_the_top_pages_in_search_start_their_journey_before_the_visits_they_bring(observed: Observed) -> None:
    made = propose(observed)
    journeys = {j.id: j for j in made.journey_map.journeys}
    assert list(journeys) == ["website", "affiliate"]
    main = journeys["website"].touchpoints
    found = [(t.stage, t.source, dict(t.match), t.volume, t.success) for t in main if t.source == "search_console"]
    assert found == [("awareness", "search_console", {"page": BLOG}, "impressions", "clicks"),  # 3,000 impressions
                     ("awareness", "search_console", {"page": LOAF}, "impressions", "clicks")]  # 2,000
    order = [t.id for t in main]
    landing = [i for i, t in enumerate(main) if "landing_page" in t.match]
    searched = [i for i, t in enumerate(main) if t.source == "search_console"]
    assert landing, order
    assert max(searched) < min(landing), order  # the results, then the visits they bring
    assert all(t.stage == "awareness" for t in main[:min(landing)])
    blog = next(t for t in main if t.match.get("page") == BLOG)
    assert blog.name == "Google results for /blog/… pages"
    assert made.notes[blog.id] == ("3,000 impressions in 1 day — people find the site in a search engine's results, "
                                   "before any visit (150 clicks) — a folder of 3 pages")
    assert not any("about" in str(t.match) for _, t in made.journey_map.touchpoints())  # 1 % of impressions
    # the review page's results join the journey of the affiliate links it carries, before its page
    affiliate = journeys["affiliate"].touchpoints
    assert [(t.source, dict(t.match)) for t in affiliate[:1]] == [("search_console", {"page": REVIEW})]
    assert coverage(observed, made.journey_map)["search_console"] == pytest.approx(5800 / 5820)


def a_map(*tps: Touchpoint) -> JourneyMap:
    return JourneyMap(business=Business(name="Blog"), stages=[Stage(id="awareness", name="Awareness")],
                      journeys=[Journey(id="j", name="j", goal="g", value=1, touchpoints=list(tps))])


def test_diff_lists_the_pages_in_search_no_search_touchpoint_takes(observed: Observed) -> None:
    landing = Touchpoint(id="landing", name="landing", stage="awareness", source="ga4",
                         match={"landing_page": "/recipes/loaf/"}, volume="sessions")
    uncovered = {(u.kind, u.item): round(u.share, 3) for u in map_drift(observed, a_map(landing)).uncovered}
    assert uncovered[("search result", f"{SITE}/blog/… (3 pages)")] == round(3000 / 5820, 3)
    assert uncovered[("search result", f"{SITE}/recipes/loaf/")] == round(2000 / 5820, 3)
    assert ("search result", f"{SITE}/about/") not in uncovered  # below 1 % of the impressions

    blog = Touchpoint(id="blog-search", name="blog in search", stage="awareness", source="search_console",
                      match={"page": BLOG}, volume="impressions", success="clicks")
    drift = map_drift(observed, a_map(landing, blog))
    assert [u.item for u in drift.uncovered if u.kind == "search result"] == [f"{SITE}/recipes/loaf/",
                                                                              f"{SITE}/reviews/best-bread-knife/"]


def test_a_search_rule_on_a_moved_page_is_dead_and_names_the_new_address(observed: Observed) -> None:
    old = Touchpoint(id="loaf-search", name="loaf in search", stage="awareness", source="search_console",
                     match={"page": r"https://www\.example\.com/recipes/loaf-old/"}, volume="impressions",
                     success="clicks")
    drift = map_drift(observed, a_map(old))
    assert [(d.touchpoint, d.closest) for d in drift.dead] == [("loaf-search", f"{SITE}/recipes/loaf/")]
