"""The demo blog in Google Search: impressions and clicks of its public pages per query, device and country.

Each day depends only on (seed, day). A page's queries are read from its address; each (page, query) has a usual
position, and its click-through rate falls with the position. Every page also has rare queries that Search Console
anonymises: they count in the pages report (page × device × country) and not in the queries report (page × query),
as Google's do. Devices and countries follow the Organic Search channel's mix (DEVICES, COUNTRIES of business).

Planted, for the map and the detector (not an INCIDENTS row, as the example map has no Search Console
touchpoints): from 2026-09-18 on, the classic country loaf recipe loses its rich result — its impressions and
position hold, and its click-through rate falls by 55 % (RICH_RESULT_LOST).
"""

from __future__ import annotations

import math
from datetime import date
from functools import lru_cache

import numpy as np

from connectors.demo import business as biz
from connectors.search_console.records import SearchRow

SEARCH_STREAM = 2  # the third number of a day's seed sequence (the site's streams use 0 and 1)
SITE_ROOT = "https://www.sourdoughhour.example"
GROUPS = ("home", "blog", "recipes", "reviews", "partners", "lead_magnet", "course", "product")
DEVICES = ("DESKTOP", "MOBILE", "TABLET")
DEVICE_SHARES = np.array(biz.CHANNELS[0].devices)  # Organic Search's
COUNTRIES = (("gbr", 0.8), ("usa", 0.2))  # business.COUNTRIES as Search Console spells them (ISO 3166-1 alpha-3)
IMPRESSIONS_PER_QUERY = 120.0  # a day's mean impressions of a page's first query at an average weekday
ANONYMISED_SHARE = 0.25  # of a page's impressions: rare queries Search Console does not name
RICH_RESULT_LOST = ("/recipes/classic-country-loaf/", date(2026, 9, 18), 0.45)  # page, first day, CTR factor


def _queries(path: str) -> tuple[str, ...]:
    """What people search for to find a page: its address's words, and two common variants."""
    words = path.strip("/").split("/")[-1].replace("-", " ") or "sourdough blog"
    return (words, f"how to {words}" if path.startswith("/blog/") else f"{words} sourdough", f"{words} uk")


PAGES = tuple(path for group in GROUPS for path in biz.PAGE_GROUPS[group])
QUERIES = {path: _queries(path) for path in PAGES}


@lru_cache(maxsize=64)
def _usual_positions(seed: int) -> dict[tuple[str, str], float]:
    """Each (page, query)'s usual position (1 is the top), the same every day."""
    rng = np.random.default_rng([seed, 0, SEARCH_STREAM])
    return {(page, query): float(rng.uniform(1.0, 4.0) * (1 + i)) for page in PAGES
            for i, query in enumerate((*QUERIES[page], ""))}


def _ctr(position: float) -> float:
    """The share of impressions clicked at a position: about 30 % at the top, falling fast below it."""
    return min(0.6, 0.3 * math.pow(position, -1.3))


def search_rows(seed: int, day: date) -> list[SearchRow]:
    """A day's rows of both reports (`pages`, then `queries`), only those with impressions."""
    rng = np.random.default_rng([seed, day.toordinal(), SEARCH_STREAM])
    weekday = biz.WEEKDAY_FACTORS[day.weekday()]
    positions = _usual_positions(seed)
    shares = np.outer(DEVICE_SHARES, [share for _, share in COUNTRIES])  # device × country
    pages: dict[tuple[str, str, str], list[float]] = {}
    queries: dict[tuple[str, str], list[float]] = {}
    lost_page, lost_from, lost_factor = RICH_RESULT_LOST
    for page in PAGES:
        for i, query in enumerate((*QUERIES[page], "")):  # "": the page's anonymised queries
            mean = IMPRESSIONS_PER_QUERY * weekday / (1 + i) if query else \
                IMPRESSIONS_PER_QUERY * weekday * ANONYMISED_SHARE
            impressions = rng.poisson(mean * shares)
            position = positions[(page, query)]
            ctr = _ctr(position) * (lost_factor if page == lost_page and day >= lost_from else 1.0)
            clicks = rng.binomial(impressions, ctr)
            ranks = np.maximum(1.0, position + rng.uniform(-0.5, 0.5, impressions.shape))
            for d, device in enumerate(DEVICES):
                for c, (country, _) in enumerate(COUNTRIES):
                    if not impressions[d, c]:
                        continue
                    shown, clicked, weighted = int(impressions[d, c]), int(clicks[d, c]), float(ranks[d, c])
                    cell = pages.setdefault((page, device, country), [0, 0, 0.0])
                    cell[0], cell[1], cell[2] = cell[0] + clicked, cell[1] + shown, cell[2] + weighted * shown
                    if query:
                        total = queries.setdefault((page, query), [0, 0, 0.0])
                        total[0], total[1], total[2] = total[0] + clicked, total[1] + shown, total[2] + weighted * shown
    out = [_row("pages", day, page, "", device, country, totals)
           for (page, device, country), totals in pages.items()]
    return out + [_row("queries", day, page, query, "", "", totals) for (page, query), totals in queries.items()]


def _row(report: str, day: date, path: str, query: str, device: str, country: str, totals: list[float]) -> SearchRow:
    clicks, impressions, weighted = int(totals[0]), int(totals[1]), float(totals[2])
    return SearchRow(site_url=biz.DEMO_PROPERTY_ID, report=report, date=day, page=SITE_ROOT + path, query=query,
                     device=device, country=country, clicks=clicks, impressions=impressions,
                     ctr=clicks / impressions, position=weighted / impressions, final=True)
