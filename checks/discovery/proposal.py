"""Propose a journey map from what the sources show: the candidates of `checks.discovery.candidates`, placed in
stages by the readable rules of `checks.discovery.rules`, grouped into journeys (one per product family, one per
money-click stream) and put in funnel order inside each stage."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from checks.discovery.candidates import candidates, checkouts
from checks.discovery.observed import DISCOVERED, Observed
from checks.discovery.parts import STREAMS, Stream, slug, stream_of_page
from checks.discovery.rules import Candidate, Kind, assign_stage
from models.config import STAGE_DEFAULTS, Business, Journey, JourneyMap, Stage, Touchpoint
from models.sources.discovery import JourneySpec, Proposed

KIND_ORDER: dict[str, tuple[str, ...]] = {  # inside a stage and funnel position
    "retention": ("email", "page", "event", "search", "traffic", "landing", "campaign", "checkout"),
    "": ("search", "traffic", "landing", "campaign", "page", "event", "email", "checkout"),
}
UNITS = {"search": "impressions", "traffic": "sessions", "landing": "sessions", "page": "page views",
         "event": "events", "email": "sends", "campaign": "sends", "checkout": "checkout sessions"}


@dataclass
class Proposal:
    """The proposed map, and per touchpoint id the comment written beside it."""

    journey_map: JourneyMap
    notes: dict[str, str] = field(default_factory=dict)  # touchpoint id → "volume — why"


def funnel_position(item: Proposed) -> int:
    """Where a purchase-like step sits: product pages, then the cart, the checkout, the confirmation, the receipt
    (a search engine's results come before any visit, whatever the page)."""
    name = str(next(iter(item.match.values()), item.name)) if item.kind != "email" else item.name
    if item.kind == "search":
        return 0
    if item.kind == "checkout":
        return 30
    if re.search(r"complete|thank|success|confirm|receipt|order|^purchase$", name, re.IGNORECASE):
        return 40
    if re.search(r"add.?to.?(cart|basket)", name, re.IGNORECASE):
        return 15  # adding to the cart happens on the product page, before the cart is seen
    if re.search(r"cart|basket", name, re.IGNORECASE):
        return 20
    return 10


def propose(observed: Observed, like: JourneyMap | None = None) -> Proposal:
    """The proposed map for what `observed` shows (raises ValueError when the sources show nothing to map).

    `like`, the current map, lends its business name, segments and personas; the time zone and currency are the
    sources' own where they say (a web analytics property's, the sales' most used).
    """
    found, product_journeys, products, family_of = checkouts(observed)
    items = candidates(observed, products)
    for item in items:
        if item.product:  # a product's page joins its family's journey
            item.journey = family_of.get(item.product, "")
    items += found
    if not items:
        raise ValueError(f"the sources show nothing between {observed.since} and {observed.until}: no "
                         f"{either([lent.shows for lent in DISCOVERED.values()])}; check the credentials and --days")
    streams = [s for s in STREAMS if any(i.journey == s.id for i in items)]
    journeys = _journeys(product_journeys, streams, items)
    return _assemble(observed, items, journeys, like)


def _journeys(product_journeys: list[JourneySpec], streams: list[Stream], items: list[Proposed]) -> list[JourneySpec]:
    """The product journeys (without any sale, one for the website), then a journey per money-click stream, which
    takes the pages that carry its links (and their search results). The first journey takes every touchpoint no
    other one claims."""
    out = list(product_journeys) or [JourneySpec("website", "The website", "A visitor takes a key action", 0.0)]
    for stream in streams:
        out.append(JourneySpec(stream.id, stream.name, stream.goal, 0.0))
        for item in items:
            path = item.path or str(item.match.get("page_path", item.match.get("landing_page", "")))
            if not item.journey and path and stream_of_page(path, [stream]):
                item.journey = stream.id
    return out


def _assemble(observed: Observed, items: list[Proposed], journeys: list[JourneySpec], like: JourneyMap | None,
              ) -> Proposal:
    main = journeys[0].id
    used: set[str] = set()
    notes: dict[str, str] = {}
    built: list[Journey] = []
    for journey in journeys:
        mine = [i for i in items if (i.journey or main) == journey.id]
        for item in mine:
            if not item.stage:
                item.stage, _ = assign_stage(Candidate(_kind(item.kind), _described(item)))
            kinds = KIND_ORDER.get(item.stage, KIND_ORDER[""])
            item.order = (STAGE_DEFAULTS.index(item.stage), funnel_position(item), _rank(item, kinds),
                          *item.order, -item.volume)
        tps, goal = [], None
        for item in sorted(mine, key=lambda i: i.order):
            tid = _unique(slug(item.name), used)
            span = item.span or f"in {observed.days} day{'s' if observed.days != 1 else ''}"
            notes[tid] = f"{item.volume:,.0f} {UNITS[item.kind]} {span} — {item.why}"
            tps.append(_touchpoint(tid, item))
            goal = goal or (tid if item.goal else None)
        if tps:
            built.append(Journey(id=journey.id, name=journey.name, goal=journey.goal, value=journey.value,
                                 goal_touchpoint=goal, touchpoints=tps))
    stages = [Stage(id=s, name=s.capitalize()) for s in STAGE_DEFAULTS]
    known = like.business if like else Business(name="My business")
    business = Business(name=known.name, timezone=observed.time_zone or known.timezone,
                        currency=observed.currency or known.currency)
    journey_map = JourneyMap(business=business, stages=stages, journeys=built)
    if like is not None:
        journey_map = journey_map.model_copy(update={"segments": like.segments, "personas": like.personas})
    return Proposal(journey_map, notes)


def _rank(item: Proposed, kinds: tuple[str, ...]) -> float:
    """Where a kind of touchpoint sits in its stage; a page people reach from an email's link comes right after
    the emails (the data's own order: landing → page → event → email → the page the emails send people to)."""
    if item.kind == "page" and item.from_email and "email" in kinds:
        return kinds.index("email") + 0.5
    return float(kinds.index(item.kind))


def either(names: list[str]) -> str:
    """'a, b or c'."""
    return " or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def _kind(kind: str) -> Kind:
    return "traffic" if kind == "landing" else kind  # type: ignore[return-value]


def _described(item: Proposed) -> str:
    """The name a stage rule reads: the page path, event name or automation title (not the display name)."""
    return str(next(iter(item.match.values()))) if item.kind in ("page", "event", "email") else item.name


def _unique(tid: str, used: set[str]) -> str:
    out, n = tid, 2
    while out in used:
        out, n = f"{tid}-{n}", n + 1
    used.add(out)
    return out


def _touchpoint(tid: str, item: Proposed) -> Touchpoint:
    volume, success = DISCOVERED[item.source].metrics[item.kind]  # its source's metrics of the kind
    if item.kind == "page" and item.stage == "purchase" and not item.key_events:
        success = None  # a cart or checkout page fires no key event: its step is to the next touchpoint
    return Touchpoint(id=tid, name=item.name[:200], stage=item.stage, source=item.source, match=item.match,
                      volume=volume, success=success)
