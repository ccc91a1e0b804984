"""The candidates a proposed map is made of, read from what each discovered source shows by its own discovery
(`models/sources/<source>/discover.py`), which the stage rules and the money-click streams are lent to: traffic
sources and landing sections, pages and page folders, key events, automation emails in order, newsletters, and a
checkout per product family. Each carries its volume over the window and why it was chosen."""

from __future__ import annotations

from collections.abc import Mapping

from checks.discovery.observed import DISCOVERED, Observed
from checks.discovery.parts import paid_click
from checks.discovery.rules import assign_stage
from models.sources.discovery import JourneySpec, Judgement, OnRecord, Proposed, Sales, Shown

JUDGEMENT = Judgement(place=assign_stage, paid_click=paid_click)


def _shown(observed: Observed, source: str, products: Mapping[str, str] | None = None) -> Shown:
    return Shown(observed.raw[source], observed.records.get(source, OnRecord()), JUDGEMENT, products or {})


def checkouts(observed: Observed) -> Sales:
    """Every sales source's checkout touchpoints and journeys (one per product family, the family with most revenue
    first); each product's name (id → name) and its family's journey (id → journey id)."""
    out = Sales([], [], {}, {})
    for source, lent in DISCOVERED.items():
        if lent.sales is not None and source in observed.raw:
            found = lent.sales(_shown(observed, source))
            for item in found.checkouts:
                item.source = source
            out.checkouts.extend(found.checkouts)
            out.journeys.extend(found.journeys)
            out.products.update(found.products)
            out.family_of.update(found.family_of)
    return out


def candidates(observed: Observed, products: Mapping[str, str]) -> list[Proposed]:
    """Every discovered source's other candidates (`products`: every sales source's, id → name, for the pages
    about them)."""
    out = []
    for source, lent in DISCOVERED.items():
        if lent.candidates is not None and source in observed.raw:
            for item in lent.candidates(_shown(observed, source, products)):
                item.source = source
                out.append(item)
    return out


__all__ = ["JUDGEMENT", "JourneySpec", "Proposed", "Sales", "candidates", "checkouts"]
