"""The journey map as people read it: stages, touchpoints in order, volume and step conversion."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import pandas as pd

from models.config import MONEY_METRICS, SOURCES, Journey, JourneyMap, Touchpoint
from models.feedback import StageFeedback
from models.sources import BY_NAME


@dataclass(frozen=True)
class TouchpointView:
    id: str
    name: str
    source: str
    volume: float | None  # None: the source has no data for this segment (e.g. email for a device persona)
    previous_volume: float | None
    conversions: float | None  # k of the step: own success, or the next touchpoint's volume
    previous_conversions: float | None
    step_to: str  # what the step converts to: the next touchpoint's name or the success metric
    volume_metric: str = ""
    metrics: dict[str, float] = field(default_factory=dict)  # every metric of the source over the period

    @property
    def other_rates(self) -> list[tuple[str, float]]:
        """The source's other metrics as shares of the volume (an email's clicks beside its opens; a checkout's
        abandonment and refunds beside its completion). Money is not a rate."""
        base = self.metrics.get(self.volume_metric)
        if not base:
            return []
        order = SOURCES.get(self.source, {}).get("metrics", ())
        return [(m, self.metrics[m] / base) for m in sorted(self.metrics, key=lambda m: (m not in order,
                                                                                         order.index(m) if m in order
                                                                                         else 0, m))
                if m not in (self.volume_metric, self.step_to, "revenue") and m not in MONEY_METRICS
                and self.metrics[m] and self.metrics[m] <= base]

    @property
    def money(self) -> list[tuple[str, float]]:
        """The source's money metrics over the period (revenue shows as revenue, never as a rate)."""
        return [(m, v) for m, v in sorted(self.metrics.items()) if m in MONEY_METRICS and v]

    @property
    def volume_change(self) -> float | None:
        """Relative change of volume against the previous period (None without a base)."""
        if self.volume is None or not self.previous_volume:
            return None
        return self.volume / self.previous_volume - 1

    @property
    def conversion(self) -> float | None:
        """k / n, or None when it is no rate: nothing to divide, or more conversions than volume (a next page that
        people also reach from elsewhere; a count of something else)."""
        return _rate(self.conversions, self.volume)

    @property
    def beyond_volume(self) -> bool:
        """The step counts more conversions than its volume: no rate can be shown for it."""
        return self.conversions is not None and self.volume is not None and self.conversions > self.volume > 0

    @property
    def previous_conversion(self) -> float | None:
        return _rate(self.previous_conversions, self.previous_volume)

    @property
    def conversion_change(self) -> float | None:
        """Change of step conversion in percentage points."""
        now, before = self.conversion, self.previous_conversion
        return None if now is None or before is None else (now - before) * 100


def _rate(k: float | None, n: float | None) -> float | None:
    """k of n as a share within 0–1, or None when it is not one."""
    if k is None or not n or n <= 0 or k < 0 or k > n:
        return None
    return k / n


@dataclass(frozen=True)
class StageView:
    id: str
    name: str
    touchpoints: list[TouchpointView]


@dataclass(frozen=True)
class JourneyView:
    id: str
    name: str
    goal: str
    value: float
    stages: list[StageView]


@dataclass(frozen=True)
class FeedbackView:
    """The emotion row of one stage: NPS over the period, against the period before, and its pain points."""

    stage: str
    answers: int
    nps: float | None
    previous_nps: float | None
    pain_points: tuple[str, ...]
    scores: tuple[int, ...] = ()  # answers per score 0..10 over the period
    stage_only: int = 0  # of the answers, those with only a stage: shown under this stage in every journey


@dataclass(frozen=True)
class MapView:
    business: str
    currency: str
    segment: str
    since: dt.date
    until: dt.date
    journeys: list[JourneyView] = field(default_factory=list)
    feedback: list[FeedbackView] = field(default_factory=list)  # stages with answers (NPS and the like), in stage order
    no_data: dict[str, dt.date | None] = field(default_factory=dict)  # source → its last day with data (None:
    # never), for sources whose data stops before `until`: their cards say so instead of showing zeros
    journey_feedback: dict[str, list[FeedbackView]] = field(default_factory=dict)  # the same, per journey

    def feedback_for(self, journey_id: str) -> list[FeedbackView]:
        """The feedback row of one journey: its own answers and those with only a stage (the whole map's rows
        when the view was built without per-journey feedback)."""
        return self.journey_feedback.get(journey_id, []) if self.journey_feedback else self.feedback


def with_gaps(view: MapView, last_days: Mapping[str, dt.date | None]) -> MapView:
    """The view with each source whose last day with data (`last_days`) is before the view's end marked."""
    return replace(view, no_data={s: d for s, d in last_days.items() if d is None or d < view.until})


def feedback_rows(journey_map: JourneyMap, now: dict[str, StageFeedback],
                  before: dict[str, StageFeedback]) -> list[FeedbackView]:
    """FeedbackView per stage that had answers in either period, in the map's stage order."""
    return [FeedbackView(s.name, now[s.id].responses if s.id in now else 0,
                         now[s.id].nps if s.id in now else None, before[s.id].nps if s.id in before else None,
                         now[s.id].pain_points if s.id in now else (), now[s.id].scores if s.id in now else (),
                         now[s.id].stage_only if s.id in now else 0)
            for s in journey_map.stages if s.id in now or s.id in before]


def _blind(journey_map: JourneyMap, segment: str) -> set[str]:
    """Touchpoints whose source does not carry the segment's dimensions (a persona's: all of them)."""
    name, _, value = segment.partition("=")
    persona = next((p for p in journey_map.personas if p.name == value), None) if name == "persona" else None
    wanted = set(persona.where) if persona is not None else {name}
    out = set()
    for _, tp in journey_map.touchpoints():
        source = BY_NAME.get(tp.source)
        if source is None or not wanted <= set(source.segments) or set(tp.match) & source.unsegmented_by:
            out.add(tp.id)
    return out


def build_map_view(journey_map: JourneyMap, current: pd.DataFrame, previous: pd.DataFrame, *,
                   since: dt.date, until: dt.date, segment: str = "all",
                   journey_id: str | None = None, metrics: pd.DataFrame | None = None) -> MapView:
    """Assemble the view from facts of the current and the previous period (one segment).

    In a segment or persona view, touchpoints of sources without segment dimensions
    show no numbers rather than the whole audience's.
    """
    now, before = _totals(current), _totals(previous)
    if segment != "all":
        blind = _blind(journey_map, segment)
        now, before = now.drop(index=list(blind & set(now.index))), before.drop(index=list(blind & set(before.index)))
    else:
        blind = set()
    journeys = [j for j in journey_map.journeys if journey_id in (None, j.id)]
    per_touchpoint: dict[str, dict[str, float]] = {}
    if metrics is not None and segment == "all":
        for tp_id, metric, value in metrics[["touchpoint_id", "metric", "value"]].itertuples(index=False):
            per_touchpoint.setdefault(str(tp_id), {})[str(metric)] = float(value)
    view = MapView(journey_map.business.name, journey_map.business.currency, segment, since, until)
    for journey in journeys:
        ordered = journey_map.ordered_touchpoints(journey)
        cards = {tp.id: _card(tp, ordered[i + 1] if i + 1 < len(ordered) else None, now, before, tp.id in blind,
                              per_touchpoint.get(tp.id, {}))
                 for i, tp in enumerate(ordered)}
        stages = [StageView(s.id, s.name, [cards[tp.id] for tp in ordered if tp.stage == s.id])
                  for s in journey_map.stages]
        view.journeys.append(JourneyView(journey.id, journey.name, journey.goal, journey.value,
                                         [s for s in stages if s.touchpoints]))
    return view


def _totals(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=["volume", "success"], index=pd.Index([], name="touchpoint_id"))
    return frame.groupby("touchpoint_id")[["volume", "success"]].sum(min_count=1)


def _value(totals: pd.DataFrame, tp_id: str, column: str) -> float | None:
    if tp_id not in totals.index:
        return None
    value = pd.to_numeric(totals.at[tp_id, column])
    return None if value is None or math.isnan(value) else float(value)


def _card(tp: Touchpoint, nxt: Touchpoint | None, now: pd.DataFrame, before: pd.DataFrame,
          blind: bool, metrics: dict[str, float]) -> TouchpointView:
    if tp.success:
        step_to, k_now, k_before = tp.success, _value(now, tp.id, "success"), _value(before, tp.id, "success")
    elif nxt is not None:
        step_to, k_now, k_before = nxt.name, _value(now, nxt.id, "volume"), _value(before, nxt.id, "volume")
    else:
        step_to, k_now, k_before = "", None, None
    if tp.success:  # a touchpoint with data but no success events converts at 0 %, not "unknown"
        k_now = k_now if k_now is not None or _value(now, tp.id, "volume") is None else 0.0
    if blind:
        return TouchpointView(tp.id, tp.name, tp.source, None, None, None, None, step_to)
    return TouchpointView(tp.id, tp.name, tp.source, _value(now, tp.id, "volume") or 0.0,
                          _value(before, tp.id, "volume") or 0.0, k_now, k_before, step_to, tp.volume, metrics)


def journey_of(journey_map: JourneyMap, journey_id: str) -> Journey | None:
    return next((j for j in journey_map.journeys if j.id == journey_id), None)
