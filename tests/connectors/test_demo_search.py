"""The demo blog in Google Search: determinism, the two reports' relation, and the planted click-through drop."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from connectors.demo import business as biz
from connectors.demo import read_search_rows
from connectors.demo.search import COUNTRIES, DEVICES, RICH_RESULT_LOST, SITE_ROOT, search_rows
from connectors.search_console import REPORTS, SearchRow

DAY = date(2026, 9, 10)


def rows(first: date, last: date, seed: int = 7) -> list[SearchRow]:
    return [r for page in read_search_rows(first, last, seed=seed) for r in page]


def test_a_day_depends_only_on_the_seed_and_the_day() -> None:
    assert search_rows(7, DAY) == search_rows(7, DAY)
    assert search_rows(7, DAY) != search_rows(8, DAY)
    week = rows(DAY - timedelta(days=3), DAY + timedelta(days=3))
    assert [r for r in week if r.date == DAY] == search_rows(7, DAY)  # whatever window it is read in


def test_rows_are_shaped_as_search_console_sends_them() -> None:
    public = {SITE_ROOT + p for paths in biz.PAGE_GROUPS.values() for p in paths}
    found = rows(DAY, DAY + timedelta(days=6))
    assert {r.report for r in found} == set(REPORTS)
    for r in found:
        assert r.page in public
        assert 0 <= r.clicks <= r.impressions
        assert r.impressions > 0
        assert r.position >= 1
        assert r.final
        if r.report == "pages":
            assert (r.query, r.device in DEVICES, r.country in dict(COUNTRIES)) == ("", True, True)
        else:
            assert r.query
            assert (r.device, r.country) == ("", "")
    assert not any(r.page.endswith(("/cart/", "/checkout/complete/")) for r in found)  # not in search results


def test_the_queries_report_holds_only_named_queries_so_it_counts_less_than_the_pages_report() -> None:
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for r in rows(DAY, DAY + timedelta(days=6)):
        totals[(r.report, r.page)] += r.impressions
    pages = {page for report, page in totals if report == "pages"}
    assert all(totals[("queries", p)] < totals[("pages", p)] for p in pages)


def _ctr_and_impressions(found: list[SearchRow], page: str) -> tuple[float, int]:
    mine = [r for r in found if r.report == "pages" and r.page == page]
    impressions = sum(r.impressions for r in mine)
    return sum(r.clicks for r in mine) / impressions, impressions


def test_the_planted_lost_rich_result_cuts_the_pages_click_through_rate_and_nothing_else() -> None:
    page, first, factor = RICH_RESULT_LOST
    before = rows(first - timedelta(days=14), first - timedelta(days=1))
    after = rows(first, first + timedelta(days=13))
    ctr_before, shown_before = _ctr_and_impressions(before, SITE_ROOT + page)
    ctr_after, shown_after = _ctr_and_impressions(after, SITE_ROOT + page)
    assert ctr_after / ctr_before < (1 + factor) / 2  # well past the day-to-day noise, towards the planted factor
    assert 0.85 < shown_after / shown_before < 1.15  # still shown as often: the title and position held
    for other in ("/recipes/rosemary-focaccia/", "/blog/open-crumb-shaping/"):
        ctr_b, _ = _ctr_and_impressions(before, SITE_ROOT + other)
        ctr_a, _ = _ctr_and_impressions(after, SITE_ROOT + other)
        assert 0.75 < ctr_a / ctr_b < 1.33, other
