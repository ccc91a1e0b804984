"""How well a map fits what the sources show now: the volume it covers (and another map's share of it), pages with
real traffic it misses, touchpoints whose rule takes nothing any more, and new emails in its automations."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

import pandas as pd

from checks.discovery.observed import DISCOVERED, Observed
from models.config import JourneyMap, Touchpoint
from models.sources.discovery import Missed, NewEmail, OnRecord, display, section_pattern, sections

MIN_UNCOVERED_SHARE = 0.01  # of a report's volume: a page, landing page or event the map should look at
MAX_UNCOVERED = 10
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
    for source in DISCOVERED:
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
    names, listed = _missed(observed, journey_map)
    return Drift(_uncovered(listed), _dead(observed, journey_map, names), _new_emails(observed, journey_map))


def _missed(observed: Observed, journey_map: JourneyMap) -> tuple[dict[str, dict[str, pd.Series]], list[Missed]]:
    """Per source and rule key, the volume (or rows) of each name no touchpoint takes, by the source's own
    reading (automatic events weigh nothing); and of those, the ones an uncovered item may be listed from."""
    names: dict[str, dict[str, pd.Series]] = {}
    listed: list[Missed] = []
    for source, lent in DISCOVERED.items():
        raw = observed.raw.get(source, pd.DataFrame())
        if lent.missed is None or raw.empty:
            continue
        found = lent.missed(raw, observed.weight(source), ~observed.matched(source, _of(journey_map)))
        names[source] = {m.key: m.volumes for m in found}
        listed += [m for m in found if m.kind]
    return names, listed


def _uncovered(listed: list[Missed]) -> list[Uncovered]:
    out = []
    for missed in listed:
        volumes, total = missed.volumes, missed.total
        groups = sections(volumes.index, set()) if missed.by_folder else {item: [item] for item in volumes.index}
        for key, items in groups.items():
            volume = float(volumes[items].sum())
            if total and volume / total >= MIN_UNCOVERED_SHARE:
                name = f"{display(section_pattern(key))} ({len(items)} pages)" if len(items) > 1 else key
                out.append(Uncovered(missed.kind, name, volume, volume / total))
    return sorted(out, key=lambda u: -u.share)[:MAX_UNCOVERED]


def _dead(observed: Observed, journey_map: JourneyMap, names: dict[str, dict[str, pd.Series]]) -> list[Dead]:
    """Touchpoints that take nothing although their source has data, each with the new name it most resembles:
    something nothing takes now, of the same kind, given to one rule only (the most alike)."""
    dead = []
    for journey, tp in journey_map.touchpoints():
        raw = observed.raw.get(tp.source)
        if tp.source not in DISCOVERED or raw is None or raw.empty:
            continue  # no data from the source: a data alert's business, not the map's
        if observed.matched(tp.source, [tp]).any():
            continue
        dead.append((journey.id, tp))
    scores = []
    for i, (_, tp) in enumerate(dead):
        mine = names.get(tp.source, {})
        key = next((k for k in mine if k in tp.match), None)
        if key is None:
            continue
        plain = re.sub(r"\\(.)", r"\1", str(tp.match[key]))
        for name in mine[key].index:
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
    """Each source's emails of followed automations that no touchpoint takes."""
    tps = _of(journey_map)
    out: list[NewEmail] = []
    for source, lent in DISCOVERED.items():
        if lent.new_emails is not None:
            out += lent.new_emails(observed.records.get(source, OnRecord()), [tp for tp in tps if tp.source == source])
    return out


__all__ = ["Dead", "Drift", "NewEmail", "Uncovered", "coverage", "map_drift"]
