"""Search Console report rows → touchpoint facts: a page's (or a page's query's) impressions and clicks, per segment.

A touchpoint with only `page` reads the pages report (every impression of the page, by device and country); one
with `query` reads the queries report (the page's top queries only, without device or country), so it has no
device or country segments. Search Console's devices and countries are given the spellings of the map's web
analytics, so that a segment of the map means the same visitors whichever source counts them; a country missing
from COUNTRIES is left out of the country segments (its rows still count in every other segment), never given a
made-up name.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select

from models.config import JourneyMap, Persona, Touchpoint
from models.facts import ALL, METRIC_COLUMNS, concat, fullmatch, persona_segment, segment_facts
from models.sources import stream_of
from models.sources.search_console.streams import SEARCH_REPORTS
from models.sources.search_console.tables import SearchConsoleRow
from models.tables import table_of

SEARCH_METRICS = {"impressions": "impressions", "clicks": "clicks"}
SEARCH_DIMENSIONS = ("device", "country")  # the map's segments the pages report can cut
# Search Console's ISO 3166-1 alpha-3 codes (lower case) → the country names the web analytics source reports.
COUNTRIES = {
    "are": "United Arab Emirates", "arg": "Argentina", "aus": "Australia", "aut": "Austria", "bel": "Belgium",
    "bgr": "Bulgaria", "bra": "Brazil", "can": "Canada", "che": "Switzerland", "chl": "Chile", "chn": "China",
    "col": "Colombia", "cze": "Czechia", "deu": "Germany", "dnk": "Denmark", "egy": "Egypt", "esp": "Spain",
    "est": "Estonia", "fin": "Finland", "fra": "France", "gbr": "United Kingdom", "grc": "Greece",
    "hkg": "Hong Kong", "hrv": "Croatia", "hun": "Hungary", "idn": "Indonesia", "ind": "India", "irl": "Ireland",
    "isl": "Iceland", "isr": "Israel", "ita": "Italy", "jpn": "Japan", "kor": "South Korea", "ltu": "Lithuania",
    "lux": "Luxembourg", "lva": "Latvia", "mex": "Mexico", "mlt": "Malta", "mys": "Malaysia", "nga": "Nigeria",
    "nld": "Netherlands", "nor": "Norway", "nzl": "New Zealand", "pak": "Pakistan", "per": "Peru",
    "phl": "Philippines", "pol": "Poland", "prt": "Portugal", "rou": "Romania", "sau": "Saudi Arabia",
    "sgp": "Singapore", "svk": "Slovakia", "svn": "Slovenia", "swe": "Sweden", "tha": "Thailand", "tur": "Türkiye",
    "twn": "Taiwan", "ukr": "Ukraine", "usa": "United States", "vnm": "Vietnam", "zaf": "South Africa",
}
DEVICES = {"DESKTOP": "desktop", "MOBILE": "mobile", "TABLET": "tablet"}


def read_search_console(conn: Connection, since: dt.date, until: dt.date, _tz: ZoneInfo,
                        account: str | None) -> pd.DataFrame:
    """The window's rows of both reports (Search Console's days are its own: Pacific Time, not the map's), with
    device and country in the web analytics source's spellings ("" where there is none, or no name there)."""
    t = table_of(SearchConsoleRow)
    stmt = select(t.c.report, t.c.date, t.c.page, t.c.query, t.c.device, t.c.country, t.c.clicks,
                  t.c.impressions).where(t.c.date >= since, t.c.date <= until)
    if account is not None:  # every report named: the primary key (site, report, date, …) finds the window
        stmt = stmt.where(t.c.site_url == account, t.c.report.in_(SEARCH_REPORTS))
    raw = pd.read_sql(stmt, conn)
    raw["device"] = raw["device"].map(DEVICES).fillna("")
    raw["country"] = raw["country"].map(COUNTRIES).fillna("")
    for column in ("report", "page", "query", "device", "country"):
        raw[column] = raw[column].astype("category")  # few distinct values: rules test each once
    return raw


def map_search_console(raw: pd.DataFrame, tps: list[tuple[str, Touchpoint]],
                       journey_map: JourneyMap) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Facts of the Search Console touchpoints, and the pages report's impressions no page touchpoint took (the
    queries report is a subset of the same impressions: never counted twice)."""
    taken = pd.Series(False, index=raw.index)
    out: list[pd.DataFrame] = []
    for journey_id, tp in tps:
        mask = rule_mask(raw, tp)
        if stream_of("search_console", tp.match) == "pages":
            taken |= mask
        rows = raw[mask]
        dims = [d for d in journey_map.segments if d in SEARCH_DIMENSIONS] if "query" not in tp.match else []
        frame = pd.DataFrame({
            "date": rows["date"], "volume": rows[SEARCH_METRICS[tp.volume]].astype(float),
            "success": rows[SEARCH_METRICS[tp.success]].astype(float) if tp.success else np.nan,
            "events": rows["impressions"].astype(float), "revenue": 0.0,
        })
        for dim in dims:
            frame[dim] = rows[dim]
        personas = [persona_segment(p) for p in journey_map.personas if dims and _readable(p)]
        for persona in journey_map.personas:
            if persona_segment(persona) in personas:
                frame[persona_segment(persona)] = _persona_mask(rows, persona)
        parts = [segment_facts(frame, tp, journey_id, [], personas)]
        for dim in dims:  # a row without the dimension's value (a country without a name) is in none of its segments
            cut = segment_facts(frame[frame[dim] != ""], tp, journey_id, [dim], [])
            parts.append(cut[cut["segment"] != ALL])
        out.append(concat(parts))
    left = raw[(raw["report"] == "pages") & ~taken]
    unmapped = pd.DataFrame({"date": left["date"], "source": "search_console", "stream": "pages",
                             "item": left["page"].astype(str).str.slice(0, 500),
                             "volume": left["impressions"].astype(float)})
    keys = ["date", "source", "stream", "item"]
    return (concat(out), unmapped.groupby(keys, as_index=False, observed=True)[["volume"]].sum(),
            pd.DataFrame(columns=METRIC_COLUMNS))


def rule_mask(raw: pd.DataFrame, tp: Touchpoint) -> pd.Series:
    """The report rows a touchpoint's rule takes: its report (queries when it names a query), every key a full
    match."""
    mask = raw["report"] == stream_of("search_console", tp.match)
    for key, pattern in tp.match.items():
        mask &= fullmatch(raw[key], str(pattern))
    return mask


def _readable(persona: Persona) -> bool:
    """Whether the pages report can tell a persona's visitors (it knows device and country only)."""
    return set(persona.where) <= set(SEARCH_DIMENSIONS)


def _persona_mask(rows: pd.DataFrame, persona: Persona) -> pd.Series:
    mask = pd.Series(True, index=rows.index)
    for dim, value in persona.where.items():
        mask &= rows[dim].astype(str) == value
    return mask
