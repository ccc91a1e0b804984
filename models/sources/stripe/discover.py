"""What Stripe lends `journeymap discover`: a checkout and a journey per product family (its products' names,
for the pages about them); a checkout session as a row's volume; the checkouts' currency; the products a map
misses."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Connection

from models.config import Touchpoint
from models.sources.discovery import (
    ANY,
    Candidate,
    JourneySpec,
    Missed,
    OnRecord,
    Proposed,
    Sales,
    Shown,
    SourceDiscovery,
    exact,
    families,
    slug,
)

NAME = "stripe"
METRICS = {"checkout": ("checkouts", "completed")}
PLAN = {"payment": "one-time", "subscription": "subscription"}  # Stripe Checkout modes as people say them


def weight(raw: pd.DataFrame) -> pd.Series:
    """A checkout session (its refunds, payments and subscription events weigh nothing)."""
    return (raw["kind"] == "session").astype(float)


def probe(stage: str) -> list[Touchpoint]:
    """Every checkout."""
    return [Touchpoint(id="probe-checkout", name="checkout", stage=stage, source=NAME, match={"product": ANY},
                       volume="checkouts")]


def _sessions(raw: pd.DataFrame) -> pd.DataFrame:
    return raw[raw["kind"] == "session"] if "kind" in raw else raw.iloc[:0]


def on_record(_conn: Connection, _since: dt.date, _until: dt.date, raw: pd.DataFrame) -> OnRecord:
    """The checkouts' most used currency."""
    sessions = _sessions(raw)
    return OnRecord(sales_currency=str(sessions["currency"].str.upper().mode().iloc[0]) if len(sessions) else None)


def sales(shown: Shown) -> Sales:
    """A checkout touchpoint and a journey per product family, the family with most revenue first; each
    product's name (id → name) and its family's journey (id → journey id)."""
    sessions = _sessions(shown.raw)
    if sessions.empty:
        return Sales([], [], {}, {})
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
    return Sales([i for f in found for i in f[2]], [f[3] for f in found], names, family_of)


def candidate_of(touchpoint: Touchpoint) -> Candidate:
    """A checkout, of its products."""
    return Candidate("checkout", str(touchpoint.match.get("product", touchpoint.name)))


def missed(raw: pd.DataFrame, _weights: pd.Series, left: pd.Series) -> list[Missed]:
    """The rows of each product no touchpoint takes."""
    rest = raw[left]
    return [Missed("product", rest.groupby(rest["product_name"].astype(str)).size().astype(float))]


DISCOVER = SourceDiscovery("checkout sessions", METRICS, weight, probe, on_record=on_record, sales=sales,
                           candidate_of=candidate_of, missed=missed)
