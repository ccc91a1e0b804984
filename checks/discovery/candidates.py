"""The candidates a proposed map is made of, read from what the sources show: traffic sources and landing
sections, pages and page folders, key events, automation emails in order, newsletters, and a checkout per product
family. Each carries its volume over the window and why it was chosen."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from checks.discovery.observed import AUTOMATIC_EVENTS, Observed
from checks.discovery.parts import (
    display,
    exact,
    families,
    product_of,
    section_pattern,
    sections,
    slug,
    stream_of_event,
    title_prefix,
)
from checks.discovery.rules import Candidate, assign_stage

MIN_TRAFFIC_SHARE = 0.02  # a traffic source or landing section below this share of sessions is left out
MAX_TRAFFIC = 8  # of each: traffic sources, landing sections
MIN_PAGE_SHARE = 0.002  # of page views; pages a non-default rule places (cart, lessons, refer…) need only views
MAX_PAGES = 30
EMAIL_MEDIUM = r"e-?mail|newsletter"  # GA4 session media of a click in an email
FROM_EMAIL_SHARE = 0.5  # of a page's landing sessions from email links: the page follows the emails
PLAN = {"payment": "one-time", "subscription": "subscription"}  # Stripe Checkout modes as people say them


@dataclass
class Proposed:
    """One proposed touchpoint with what the comment beside it says."""

    kind: str  # a Candidate kind, or "landing" (a traffic touchpoint by landing page)
    name: str
    match: dict[str, str | int]
    volume: float
    why: str
    journey: str = ""  # journey id; "" = the main journey
    stage: str = ""
    order: tuple[object, ...] = ()
    goal: bool = False  # its success is the journey's goal (a checkout, a stream's paid click)
    key_events: float = 0.0  # a page's: without any, its step is to the next touchpoint
    product: str = ""  # the product id a page is about
    span: str = ""  # what the volume covers when not the window ("in all, by Mailchimp's report")
    from_email: bool = False  # a page most of whose visits start from an email's link: it comes after the emails


@dataclass(frozen=True)
class JourneySpec:
    id: str
    name: str
    goal: str
    value: float


def _ga4(observed: Observed, report: str) -> pd.DataFrame:
    raw = observed.raw["ga4"]
    return raw[raw["report"] == report] if len(raw) else raw


def pages(observed: Observed, products: dict[str, str]) -> list[Proposed]:
    """Pages and page folders with real views, every page a rule places in the funnel, and each product's page."""
    sums = _ga4(observed, "pages").groupby("item", observed=True)[["screen_page_views", "key_events"]].sum()
    views, keys = sums["screen_page_views"][sums["screen_page_views"] > 0], sums["key_events"]
    total = float(views.sum()) or 1.0
    owner = {path: product_of(path, products) for path in views.index.astype(str)}
    apart = {path for path, product in owner.items() if product}
    default_why = assign_stage(Candidate("page", "/"))[1]
    visits = _ga4(observed, "traffic")
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
        _, why = assign_stage(Candidate("page", key))
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


def traffic(observed: Observed) -> list[Proposed]:
    """The main traffic sources (source / medium) and landing pages or folders, by sessions."""
    rows = _ga4(observed, "traffic")
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


def events(observed: Observed) -> list[Proposed]:
    """Key events, events a rule places in the funnel, and the paid clicks of money-click streams."""
    rows = _ga4(observed, "events")
    sums = rows.groupby("item", observed=True)[["event_count", "key_events"]].sum()
    sums = sums[~sums.index.isin(AUTOMATIC_EVENTS) & (sums["event_count"] > 0)]
    out = []
    for name, row in sums.sort_values("event_count", ascending=False).iterrows():
        stage, why = assign_stage(Candidate("event", str(name)))
        stream = stream_of_event(str(name))
        # key events, and events a rule places in the funnel; any other would only make a meaningless step to its
        # neighbour (a share → the next email)
        if row["key_events"] > 0 or stage != "consideration" or stream:
            item = Proposed("event", f"{name} events", {"event_name": exact(str(name))}, float(row["event_count"]),
                            ("a key event in GA4 — " if row["key_events"] > 0 else "") + why)
            if stream:
                item.journey, item.stage, item.goal = stream.id, "purchase", True
                item.why = "the click this stream is paid for"
            out.append(item)
    return out


def emails(observed: Observed) -> list[Proposed]:
    """Every email of each automation with activity in the window, in order; regular campaigns by title series."""
    raw = observed.raw["mailchimp"]
    sends = raw[raw["action"] == "sent"].groupby("campaign_id")["weight"].sum() if len(raw) else pd.Series()
    active = set(raw["campaign_id"]) if len(raw) else set()
    on_record = observed.emails
    out = []
    auto = on_record[on_record["kind"] == "automation"].sort_values(["workflow_title", "position"])
    for workflow, group in auto.groupby("workflow_title", sort=True):
        if not set(group["campaign_id"]) & active:
            continue  # an automation nobody went through in the window
        for _, email in group.drop_duplicates("position").iterrows():
            why = f"email {email['position']} of the automation '{workflow}' — " + \
                assign_stage(Candidate("email", str(workflow)))[1]
            volume, span = float(sends.get(email["campaign_id"], 0.0)), ""
            if not volume and pd.notna(email["reported_sent"]):  # no send times: Mailchimp's report has the total
                volume, span = float(email["reported_sent"]), "in all, by Mailchimp's report (no send times on record)"
            out.append(Proposed("email", str(email["title"]) or f"{workflow} email {email['position']}",
                                {"automation": exact(str(workflow)), "email": int(email["position"])}, volume, why,
                                order=(str(workflow), int(email["position"])), span=span))
    regular = on_record[(on_record["kind"] != "automation") & on_record["campaign_id"].isin(active)]
    for prefix, group in regular.groupby(regular["title"].map(title_prefix), sort=True):
        out.append(Proposed("campaign", f"{prefix} campaigns", {"campaign": exact(str(prefix)) + ".*"},
                            float(sends[sends.index.isin(group["campaign_id"])].sum()),
                            f"a regular newsletter or campaign reaches the audience — {len(group)} sent"))
    return out


def checkouts(observed: Observed) -> tuple[list[Proposed], list[JourneySpec], dict[str, str], dict[str, str]]:
    """A checkout touchpoint and a journey per product family, the family with most revenue first; each
    product's name (id → name) and its family's journey (id → journey id)."""
    raw = observed.raw["stripe"]
    sessions = raw[raw["kind"] == "session"] if len(raw) else raw
    if sessions.empty:
        return [], [], {}, {}
    names = {str(k): str(v) for k, v in
             sessions.groupby("product_id")["product_name"].agg(lambda s: s.mode().iloc[0]).items()}
    paid = sessions[sessions["status"] == "complete"]
    known = paid[paid["customer_hash"].astype(str) != ""] if "customer_hash" in paid else paid.iloc[:0]
    buyers = {str(k): set(v) for k, v in known.groupby("product_id")["customer_hash"]}
    found: list[tuple[float, str, list[Proposed], JourneySpec]] = []
    family_of: dict[str, str] = {}
    for family, ids in families(names, buyers).items():
        mine, won = sessions[sessions["product_id"].isin(ids)], paid[paid["product_id"].isin(ids)]
        jid = slug(family)
        family_of.update(dict.fromkeys(ids, jid))
        products = ", ".join(names[i] for i in ids)
        rule = "|".join(exact(names[i]) for i in ids)
        why = f"a checkout is where the money changes hands ({products})"
        modes = sorted(set(mine["mode"].astype(str)))
        if len(modes) > 1:  # one-time and recurring plans convert apart: a checkout each
            items = [Proposed("checkout", f"Checkout: {family} ({PLAN.get(mode, mode)})",
                              {"product": rule, "mode": mode}, float((mine["mode"] == mode).sum()),
                              f"{why}, {PLAN.get(mode, mode)}", jid, goal=True) for mode in modes]
        else:
            items = [Proposed("checkout", f"Checkout: {family}", {"product": rule}, float(len(mine)), why, jid,
                              goal=True)]
        subscription = (mine["mode"] == "subscription").mean() > 0.5
        spec = JourneySpec(jid, family, f"A customer {'subscribes to' if subscription else 'buys'} {family}",
                           round(float(won["amount"].mean()), 2) if len(won) else 0.0)
        found.append((-float(won["amount"].sum()), family, items, spec))
    found.sort(key=lambda f: f[:2])  # the most revenue first
    return [i for f in found for i in f[2]], [f[3] for f in found], names, family_of
