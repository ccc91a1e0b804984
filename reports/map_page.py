"""The rendered map's content: per persona (all customers first) the map view with each touchpoint's 90-day series,
and beside it what the business acts on — incidents, annotated changes, its own research questions and the data
quality of each source. Rendering (HTML, PNG) reads only this."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from checks.incident_snapshot import Snapshot
from reports.map_view import MapView, StageView, TouchpointView
from reports.summary import AnnotationEffect

SPARK_DAYS = 90
Z95 = 1.959964


@dataclass(frozen=True)
class IncidentNote:
    """An incident on its touchpoint's card (open ones) or in the resolved list."""

    touchpoint: str
    segment: str
    severity: str
    status: str  # open | ongoing | resolved
    opened_on: dt.date
    resolved_on: dt.date | None
    impact_per_day: float  # money lost per day, in the business currency
    rate: float | None  # the step's conversion while it was bad, and its baseline
    baseline: float | None
    since: str | None = None  # its first bad day (ISO), as in Slack
    through: str | None = None  # the newest matured day of the reading

    @property
    def reading(self) -> Snapshot:
        """The incident's stored snapshot, as every surface renders it."""
        return Snapshot(self.rate, None, None, self.baseline, self.since or self.opened_on.isoformat(), self.through,
                        0.0, self.impact_per_day)


@dataclass(frozen=True)
class SourceStatus:
    """A source's data-quality status: the newest run's checks and the newest day it has data for."""

    source: str
    passed: int
    failed: tuple[str, ...]
    checked_on: dt.date | None
    last_day: dt.date | None  # None: no volume on its touchpoints yet
    mapped: bool = True  # False: it has no touchpoints of its own (survey answers go to the stages)
    settling: tuple[dt.date, ...] = ()  # days last read before they settled: late data may change them


@dataclass(frozen=True)
class PersonaPage:
    """One persona's map (`name` "" for all customers) and each touchpoint's daily volume over SPARK_DAYS days
    (None: no row that day)."""

    name: str
    description: str
    view: MapView
    series: dict[str, list[float | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class MapPage:
    business: str
    currency: str
    as_of: dt.date
    personas: list[PersonaPage]
    questions: dict[str, tuple[str, ...]] = field(default_factory=dict)  # touchpoint → the business's questions
    incidents: list[IncidentNote] = field(default_factory=list)
    changes: list[AnnotationEffect] = field(default_factory=list)  # annotated changes, with their effect
    sources: list[SourceStatus] = field(default_factory=list)

    @property
    def last_day(self) -> dict[str, dt.date | None]:
        return {s.source: s.last_day for s in self.sources}


def wilson(k: float | None, n: float | None) -> tuple[float, float] | None:
    """The 95 % Wilson interval of k successes out of n (k clipped to n: a next step can count more people than
    the step before it, e.g. visitors arriving from elsewhere)."""
    if k is None or not n or n <= 0:
        return None
    p = min(max(k, 0.0), n) / n
    centre = (p + Z95 * Z95 / (2 * n)) / (1 + Z95 * Z95 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95 * Z95 / (4 * n * n)) / (1 + Z95 * Z95 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def lost(card: TouchpointView) -> float | None:
    """People the step loses over the period (volume less conversions), when it converts to something."""
    if card.volume is None or card.conversions is None or not card.step_to:
        return None
    return max(card.volume - card.conversions, 0.0)


def largest_leak(stage: StageView) -> str | None:
    """The touchpoint of the stage whose step loses the most people (None when no step of it converts)."""
    leaks = [(lost(c), c.id) for c in stage.touchpoints if lost(c)]
    return max(leaks)[1] if leaks else None
