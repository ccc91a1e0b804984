"""What GA4 lends `journeymap discover`: traffic sources and landing sections, pages and page folders, and key
events as candidates; each row's volume by its report; the property's time zone and currency; and the pages,
landing pages and events a map misses."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Connection, select

from models.config import Touchpoint
from models.sources.discovery import (
    ANY,
    Candidate,
    Missed,
    OnRecord,
    Proposed,
    Shown,
    SourceDiscovery,
    display,
    exact,
    product_of,
    section_pattern,
    sections,
)
from models.sources.ga4.mapping import GA4_REPORT_VOLUME
from models.sources.ga4.tables import Ga4ReportMeta
from models.tables import table_of

NAME = "ga4"
# Events GA4 collects on every site by itself: they say nothing about this business's journey.
AUTOMATIC_EVENTS = frozenset({"page_view", "session_start", "first_visit", "user_engagement", "scroll",
                              "view_search_results", "video_start", "video_progress", "video_complete",
                              "form_start", "file_download"})
MIN_TRAFFIC_SHARE = 0.02  # a traffic source or landing section below this share of sessions is left out
MAX_TRAFFIC = 8  # of each: traffic sources, landing sections
MIN_PAGE_SHARE = 0.002  # of page views; pages a non-default rule places (cart, lessons, refer…) need only views
MAX_PAGES = 30
EMAIL_MEDIUM = r"e-?mail|newsletter"  # GA4 session media of a click in an email
FROM_EMAIL_SHARE = 0.5  # of a page's landing sessions from email links: the page follows the emails
TRAFFIC_KEYS = frozenset({"source", "medium", "channel", "landing_page", "campaign_name"})
METRICS = {"traffic": ("sessions", "keyEvents"), "landing": ("sessions", "keyEvents"),
           "page": ("screenPageViews", "keyEvents"), "event": ("eventCount", None)}
UNCOVERED = (("pages", "page_path", "page"), ("traffic", "landing_page", "landing page"),
             ("events", "event_name", "event"))  # report, the rule key naming its items, their kind


def weight(raw: pd.DataFrame) -> pd.Series:
    """A row's sessions / views / events by its report (GA4's automatic events weigh nothing)."""
    out = pd.Series(0.0, index=raw.index)
    for report, column in GA4_REPORT_VOLUME.items():
        out = out.where(raw["report"] != report, raw[column].astype(float))
    return out.where(~((raw["report"] == "events") & raw["item"].isin(AUTOMATIC_EVENTS)), 0.0)


def probe(stage: str) -> list[Touchpoint]:
    """GA4's three reports by item, with their traffic dimensions (so a rule on channel, source or medium can be
    judged)."""
    traffic = {"channel": ANY, "source": ANY, "medium": ANY}
    return [Touchpoint(id=f"probe-{key.replace('_', '-')}", name=key, stage=stage, source=NAME,
                       match={key: ANY, **traffic}, volume=volume, success="keyEvents")
            for key, volume in (("landing_page", "sessions"), ("page_path", "screenPageViews"),
                                ("event_name", "eventCount"))]


def on_record(conn: Connection, _since: dt.date, until: dt.date, _raw: pd.DataFrame) -> OnRecord:
    """The property's time zone and currency, as its newest report on or before `until` says."""
    meta = table_of(Ga4ReportMeta)
    zone = conn.execute(select(meta.c.time_zone, meta.c.currency_code).where(meta.c.date <= until)
                        .order_by(meta.c.date.desc()).limit(1)).first()
    if zone is None:
        return OnRecord()
    return OnRecord(time_zone=zone.time_zone or None, currency=zone.currency_code or None)


def _report(raw: pd.DataFrame, report: str) -> pd.DataFrame:
    return raw[raw["report"] == report] if len(raw) else raw


def candidates(shown: Shown) -> list[Proposed]:
    return traffic(shown) + events(shown) + pages(shown)


def pages(shown: Shown) -> list[Proposed]:
    """Pages and page folders with real views, every page a rule places in the funnel, and each product's page."""
    products = shown.products
    place = shown.judgement.place
    sums = _report(shown.raw, "pages").groupby("item", observed=True)[["screen_page_views", "key_events"]].sum()
    views, keys = sums["screen_page_views"][sums["screen_page_views"] > 0], sums["key_events"]
    total = float(views.sum()) or 1.0
    owner = {path: product_of(path, products) for path in views.index.astype(str)}
    apart = {path for path, product in owner.items() if product}
    default_why = place(Candidate("page", "/"))[1]
    visits = _report(shown.raw, "traffic")
    landed = visits.groupby("item", observed=True)["sessions"].sum()
    emailed = visits["medium"].astype(str).str.contains(EMAIL_MEDIUM, case=False) | \
        (visits["channel"].astype(str) == "Email") if len(visits) else pd.Series(dtype=bool)
    by_email = visits[emailed].groupby("item", observed=True)["sessions"].sum() if len(visits) else landed
    out = []
    for key, members in sections(views.index.astype(str), apart).items():
        volume = float(views[members].sum())
        grouped = len(members) > 1
        pattern = section_pattern(key) if grouped else exact(key)
        product = owner.get(key) or ""
        _, why = place(Candidate("page", key))
        if volume / total >= MIN_PAGE_SHARE or why != default_why or product:
            why += (f" — a folder of {len(members)} pages" if grouped else "") + \
                (f" — the page of {products[product]}" if product else "")
            name = f"{display(pattern)} pages" if grouped else ("Home page /" if key == "/" else key)
            share = float(by_email[by_email.index.isin(members)].sum()) / max(
                float(landed[landed.index.isin(members)].sum()), 1.0)
            out.append(Proposed("page", name, {"page_path": pattern}, volume, why,
                                key_events=float(keys[members].sum()), product=product,
                                from_email=share >= FROM_EMAIL_SHARE))
    return sorted(out, key=lambda p: -p.volume)[:MAX_PAGES]


def traffic(shown: Shown) -> list[Proposed]:
    """The main traffic sources (source / medium) and landing pages or folders, by sessions."""
    rows = _report(shown.raw, "traffic")
    total = float(rows["sessions"].sum()) or 1.0
    out = []
    by_source = rows.groupby(["source", "medium"], observed=True)["sessions"].sum().sort_values(ascending=False)
    for key, sessions in by_source.head(MAX_TRAFFIC).items():
        source, medium = (str(part) for part in key)  # type: ignore[attr-defined]
        if sessions / total >= MIN_TRAFFIC_SHARE:
            out.append(Proposed("traffic", f"Visits from {source} / {medium}",
                                {"source": exact(source), "medium": exact(medium)}, float(sessions),
                                "a traffic source brings people in"))
    landing = rows.groupby("item", observed=True)["sessions"].sum()
    landing = landing[landing > 0]
    grouped = {key: (float(landing[members].sum()), len(members) > 1)
               for key, members in sections(landing.index.astype(str), set()).items()}
    for key, (sessions, folder) in sorted(grouped.items(), key=lambda kv: -kv[1][0])[:MAX_TRAFFIC]:
        if sessions / total >= MIN_TRAFFIC_SHARE:
            pattern = section_pattern(key) if folder else exact(key)
            where = "the home page /" if key == "/" else display(pattern)
            out.append(Proposed("landing", f"Sessions that start on {where}", {"landing_page": pattern},
                                sessions, "where visits start: the pages people find first"))
    return out


def events(shown: Shown) -> list[Proposed]:
    """Key events, events a rule places in the funnel, and the paid clicks of money-click streams."""
    rows = _report(shown.raw, "events")
    sums = rows.groupby("item", observed=True)[["event_count", "key_events"]].sum()
    sums = sums[~sums.index.isin(AUTOMATIC_EVENTS) & (sums["event_count"] > 0)]
    out = []
    for name, row in sums.sort_values("event_count", ascending=False).iterrows():
        stage, why = shown.judgement.place(Candidate("event", str(name)))
        stream = shown.judgement.paid_click(str(name))
        # key events, and events a rule places in the funnel; any other would only make a meaningless step to its
        # neighbour (a share → the next email)
        if row["key_events"] > 0 or stage != "consideration" or stream:
            item = Proposed("event", f"{name} events", {"event_name": exact(str(name))}, float(row["event_count"]),
                            ("a key event in GA4 — " if row["key_events"] > 0 else "") + why)
            if stream:
                item.journey, item.stage, item.goal = stream, "purchase", True
                item.why = "the click this stream is paid for"
            out.append(item)
    return out


def candidate_of(touchpoint: Touchpoint) -> Candidate:
    """A rule on a page path is a page, on an event name an event, on a traffic dimension a traffic source."""
    match = touchpoint.match
    if "page_path" in match:
        return Candidate("page", str(match["page_path"]))
    if "event_name" in match:
        return Candidate("event", str(match["event_name"]))
    if set(match) & TRAFFIC_KEYS:
        return Candidate("traffic", " ".join(f"{k}={v}" for k, v in sorted(match.items())))
    return Candidate("page", touchpoint.name)


def missed(raw: pd.DataFrame, weights: pd.Series, left: pd.Series) -> list[Missed]:
    """Per report, the volume of each item no touchpoint takes (the automatic events weigh nothing), of the
    report's whole volume; pages and landing pages grouped by folder."""
    out = []
    for report, key, kind in UNCOVERED:
        mine = raw["report"] == report
        volumes = weights[mine & left].groupby(raw.loc[mine & left, "item"].astype(str)).sum()
        out.append(Missed(key, volumes[volumes > 0], kind, float(weights[mine].sum()), by_folder=report != "events"))
    return out


DISCOVER = SourceDiscovery("GA4 rows", METRICS, weight, probe, on_record=on_record, candidates=candidates,
                           candidate_of=candidate_of, missed=missed)
