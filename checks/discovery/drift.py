"""How well a map fits what the sources show now: the volume it covers (and another map's share of it), pages with
real traffic it misses, touchpoints whose rule takes nothing any more, and new emails in its automations."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

import pandas as pd

from checks.discovery.observed import Observed
from checks.discovery.parts import display, section_pattern, sections
from models.config import JourneyMap, Touchpoint
from models.sources import SOURCES as REGISTRY

MIN_UNCOVERED_SHARE = 0.01  # of a GA4 report's volume: a page, landing page or event the map should look at
MAX_UNCOVERED = 10
SOURCES = tuple(s.name for s in REGISTRY if s.discoverable)
UNCOVERED_KINDS = {"pages": "page", "traffic": "landing page", "events": "event"}
RENAMED_FROM = {"page_path": "pages", "landing_page": "traffic", "event_name": "events", "automation": "automation",
                "campaign": "campaign", "product": "product"}  # a rule's key → where its new name would show
RENAME_SIMILARITY = 0.6  # how alike (difflib's ratio) an old and a new name must be to call it a rename


@dataclass(frozen=True)
class Uncovered:
    """A page, landing page or event with real volume that no touchpoint takes."""

    kind: str  # page / landing page / event
    item: str
    volume: float
    share: float  # of its report's volume


@dataclass(frozen=True)
class Dead:
    """A touchpoint whose rule takes nothing in the window although its source has data (a renamed page, a
    retired email); `closest` is what the data shows now that looks most like the rule."""

    journey: str
    touchpoint: str
    name: str
    rule: str
    closest: str | None


@dataclass(frozen=True)
class NewEmail:
    """An email of an automation the map follows, at a position no touchpoint takes."""

    automation: str
    position: int
    title: str


@dataclass
class Drift:
    uncovered: list[Uncovered] = field(default_factory=list)
    dead: list[Dead] = field(default_factory=list)
    new_emails: list[NewEmail] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.uncovered or self.dead or self.new_emails)


def coverage(observed: Observed, reference: JourneyMap, other: JourneyMap | None = None) -> dict[str, float]:
    """Per source and "all": the share of the reference map's mapped volume that `other` maps too (or, with no
    other, the share of all volume the reference maps). Volume is each row's base volume (Observed.weight)."""
    sums = {"covered": 0.0, "whole": 0.0}
    out: dict[str, float] = {}
    for source in SOURCES:
        if source not in observed.raw or observed.raw[source].empty:
            continue
        weight = observed.weight(source)
        ref = observed.matched(source, _of(reference))
        whole = float(weight[ref].sum()) if other is not None else float(weight.sum())
        covered = float(weight[ref & observed.matched(source, _of(other))].sum()) if other is not None \
            else float(weight[ref].sum())
        if whole > 0:
            out[source] = covered / whole
            sums["covered"] += covered
            sums["whole"] += whole
    out["all"] = sums["covered"] / sums["whole"] if sums["whole"] else 0.0
    return out


def _of(journey_map: JourneyMap) -> list[Touchpoint]:
    return [tp for _, tp in journey_map.touchpoints()]


def map_drift(observed: Observed, journey_map: JourneyMap) -> Drift:
    """What the data shows that the map does not, and what the map expects that the data no longer shows."""
    missed, totals = _missed(observed, journey_map)
    return Drift(_uncovered(missed, totals), _dead(observed, journey_map, missed), _new_emails(observed, journey_map))


def _missed(observed: Observed, journey_map: JourneyMap) -> tuple[dict[str, pd.Series], dict[str, float]]:
    """Per GA4 report, the volume of each item no touchpoint takes (GA4's own automatic events weigh nothing) and the
    report's whole volume; per Mailchimp and Stripe rule key, the rows of each name no touchpoint takes."""
    out: dict[str, pd.Series] = {}
    totals: dict[str, float] = {}
    raw = observed.raw.get("ga4", pd.DataFrame())
    if not raw.empty:
        weight = observed.weight("ga4")
        left = ~observed.matched("ga4", _of(journey_map))
        for report in UNCOVERED_KINDS:
            mine = raw["report"] == report
            totals[report] = float(weight[mine].sum())
            missed = weight[mine & left].groupby(raw.loc[mine & left, "item"].astype(str)).sum()
            out[report] = missed[missed > 0]  # (GA4's automatic events weigh nothing)
    for source, key, column in (("mailchimp", "automation", "workflow_title"), ("mailchimp", "campaign", "title"),
                                ("stripe", "product", "product_name")):
        frame = observed.raw.get(source, pd.DataFrame())
        if not frame.empty:
            rest = frame[~observed.matched(source, _of(journey_map))]
            out[key] = rest.groupby(rest[column].astype(str)).size().astype(float)
    return out, totals


def _uncovered(missed: dict[str, pd.Series], totals: dict[str, float]) -> list[Uncovered]:
    out = []
    for report, kind in UNCOVERED_KINDS.items():
        volumes, total = missed.get(report, pd.Series(dtype=float)), totals.get(report, 0.0)
        groups = {item: [item] for item in volumes.index} if report == "events" else sections(volumes.index, set())
        for key, items in groups.items():
            volume = float(volumes[items].sum())
            if total and volume / total >= MIN_UNCOVERED_SHARE:
                name = f"{display(section_pattern(key))} ({len(items)} pages)" if len(items) > 1 else key
                out.append(Uncovered(kind, name, volume, volume / total))
    return sorted(out, key=lambda u: -u.share)[:MAX_UNCOVERED]


def _dead(observed: Observed, journey_map: JourneyMap, missed: dict[str, pd.Series]) -> list[Dead]:
    """Touchpoints that take nothing although their source has data, each with the new name it most resembles:
    something nothing takes now, of the same kind, given to one rule only (the most alike)."""
    dead = []
    for journey, tp in journey_map.touchpoints():
        raw = observed.raw.get(tp.source)
        if tp.source not in SOURCES or raw is None or raw.empty:
            continue  # no data from the source: a data alert's business, not the map's
        if observed.matched(tp.source, [tp]).any():
            continue
        dead.append((journey.id, tp))
    scores = []
    for i, (_, tp) in enumerate(dead):
        key = next((k for k in RENAMED_FROM if k in tp.match), None)
        if key is None:
            continue
        plain = re.sub(r"\\(.)", r"\1", str(tp.match[key]))
        for name in missed.get(RENAMED_FROM[key], pd.Series(dtype=float)).index:
            ratio = difflib.SequenceMatcher(None, plain, str(name)).ratio()
            if ratio >= RENAME_SIMILARITY:
                scores.append((ratio, i, str(name)))
    guess: dict[int, str] = {}
    for _, i, name in sorted(scores, reverse=True):
        if i not in guess and name not in guess.values():
            guess[i] = name
    return [Dead(jid, tp.id, tp.name, ", ".join(f"{k}: {v}" for k, v in tp.match.items()), guess.get(i))
            for i, (jid, tp) in enumerate(dead)]


def _new_emails(observed: Observed, journey_map: JourneyMap) -> list[NewEmail]:
    emails = observed.emails[observed.emails["kind"] == "automation"]
    rules = [tp for _, tp in journey_map.touchpoints() if tp.source == "mailchimp" and "automation" in tp.match]
    out = []
    ordered = emails.sort_values(["workflow_title", "position"]).drop_duplicates(["workflow_title", "position"])
    for _, email in ordered.iterrows():
        mine = [tp for tp in rules if re.fullmatch(str(tp.match["automation"]), str(email["workflow_title"]))]
        taken = any("email" not in tp.match or int(tp.match["email"]) == int(email["position"]) for tp in mine)
        if mine and not taken:
            out.append(NewEmail(str(email["workflow_title"]), int(email["position"]), str(email["title"])))
    return out
