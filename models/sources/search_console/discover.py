"""What Search Console lends `journeymap discover`: the pages (or page sections) with the most impressions in
Google's results as search candidates, placed before any visit; an impression of the pages report as a row's volume
(the queries report is a subset of the same impressions); and the pages with impressions a map misses."""

from __future__ import annotations

import pandas as pd

from models.config import Touchpoint
from models.sources.discovery import (
    ANY,
    Candidate,
    Missed,
    Proposed,
    Shown,
    SourceDiscovery,
    display,
    exact,
    section_pattern,
    sections,
    split_address,
)

NAME = "search_console"
METRICS = {"search": ("impressions", "clicks")}
MAX_SEARCH = 5  # of the pages or page sections with the most impressions
MIN_SEARCH_SHARE = 0.05  # of the window's impressions: a page below it is left out


def _pages(raw: pd.DataFrame) -> pd.DataFrame:
    return raw[raw["report"] == "pages"] if len(raw) else raw


def weight(raw: pd.DataFrame) -> pd.Series:
    """An impression of the pages report (the queries report's rows are a subset of them: they weigh nothing)."""
    return raw["impressions"].astype(float).where(raw["report"] == "pages", 0.0)


def probe(stage: str) -> list[Touchpoint]:
    """Every page's impressions and clicks."""
    return [Touchpoint(id="probe-search-page", name="page", stage=stage, source=NAME, match={"page": ANY},
                       volume="impressions", success="clicks")]


def candidates(shown: Shown) -> list[Proposed]:
    """The pages or page sections (grouped by folder as the web analytics candidates group them) with the most
    impressions over the window: where the journey starts, before the landing page's visits."""
    rows = _pages(shown.raw)
    if rows.empty:
        return []
    sums = rows.groupby(rows["page"].astype(str))[["impressions", "clicks"]].sum()
    sums = sums[sums["impressions"] > 0]
    total = float(sums["impressions"].sum()) or 1.0
    found = []
    for key, members in sections(sums.index, set()).items():
        impressions, clicks = (float(sums.loc[members, column].sum()) for column in ("impressions", "clicks"))
        found.append((impressions, clicks, key, members))
    out = []
    for impressions, clicks, key, members in sorted(found, key=lambda f: (-f[0], f[2]))[:MAX_SEARCH]:
        if impressions / total < MIN_SEARCH_SHARE:
            continue
        grouped = len(members) > 1
        _, path = split_address(key)
        pattern = section_pattern(key) if grouped else exact(key)
        where = "the home page /" if path == "/" else f"{display(section_pattern(path))} pages" if grouped else path
        _, why = shown.judgement.place(Candidate("search", key))
        why += f" ({clicks:,.0f} clicks)" + (f" — a folder of {len(members)} pages" if grouped else "")
        out.append(Proposed("search", f"Google results for {where}", {"page": pattern},
                            impressions, why, path=section_pattern(path) if grouped else path))
    return out


def candidate_of(touchpoint: Touchpoint) -> Candidate:
    """A page in the search results, by its address's rule."""
    return Candidate("search", str(touchpoint.match.get("page", touchpoint.name)))


def missed(raw: pd.DataFrame, weights: pd.Series, left: pd.Series) -> list[Missed]:
    """The impressions of each page no touchpoint takes, of the pages report's whole, grouped by folder."""
    mine = raw["report"] == "pages"
    volumes = weights[mine & left].groupby(raw.loc[mine & left, "page"].astype(str)).sum()
    return [Missed("page", volumes[volumes > 0], "search result", float(weights[mine].sum()), by_folder=True)]


DISCOVER = SourceDiscovery("Search Console rows", METRICS, weight, probe, candidates=candidates,
                           candidate_of=candidate_of, missed=missed)
