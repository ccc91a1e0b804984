"""Steps of the map as detection sees them: n and k per (date, step, segment), and what each step is worth (a
source's cells by page, which shape a step's mix, come from its storing half: `SourceParts.mix`)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from checks.bottlenecks import StepInfo
from models.config import JourneyMap


def step_series(facts: pd.DataFrame, journey_map: JourneyMap) -> pd.DataFrame:
    """From touchpoint_daily rows to (date, step, segment, n, k).

    A step's k is the touchpoint's own success where it has one, else the next touchpoint's volume, for the
    segments both touchpoints report.
    """
    columns = ["date", "step", "segment", "n", "k"]
    if facts.empty:
        return pd.DataFrame(columns=columns)
    nxt, own = {}, set()
    for journey in journey_map.journeys:
        ordered = journey_map.ordered_touchpoints(journey)
        for i, tp in enumerate(ordered):
            if tp.success:
                own.add(tp.id)
            elif i + 1 < len(ordered):
                nxt[tp.id] = ordered[i + 1].id
    base = facts[["date", "touchpoint_id", "segment", "volume", "success"]]
    mine = base[base["touchpoint_id"].isin(own)].rename(columns={"touchpoint_id": "step", "volume": "n",
                                                                 "success": "k"})
    chained = base[base["touchpoint_id"].isin(list(nxt))].assign(next=lambda f: f["touchpoint_id"].map(nxt))
    targets = base.rename(columns={"touchpoint_id": "next", "volume": "k"})[["date", "next", "segment", "k"]]
    # a segment the next touchpoint's source does not report (a checkout has no device) cannot be measured on the
    # step; a day without a row of a reported segment is a day with zero volume
    reported = targets[["next", "segment"]].drop_duplicates()
    chained = chained.merge(reported, on=["next", "segment"])
    chained = chained.merge(targets, on=["date", "next", "segment"], how="left").fillna({"k": 0.0})
    chained = chained.rename(columns={"touchpoint_id": "step", "volume": "n"})
    out = pd.concat([mine[columns], chained[columns]], ignore_index=True)
    out["k"] = np.minimum(out["k"].fillna(0.0).astype(float), out["n"].astype(float))
    return out


def steps_of(journey_map: JourneyMap, series: pd.DataFrame) -> list[StepInfo]:
    """StepInfo for every step of the map; P(goal | step) is measured on the stored ALL series."""
    totals = series[series["segment"] == "all"].groupby("step")[["n", "k"]].sum()
    return steps_with(journey_map, {str(s): float(v) for s, v in totals["n"].items()},
                      {str(s): float(v) for s, v in totals["k"].items()})


def steps_with(journey_map: JourneyMap, n: dict[str, float], k: dict[str, float]) -> list[StepInfo]:
    """StepInfo for every step of the map from each step's total n and k of the ALL series (the steps with ALL
    rows only)."""
    reached = _volumes(journey_map, n, k)
    out = []
    stage_names = {s.id: s.name for s in journey_map.stages}
    for journey in journey_map.journeys:
        ordered = journey_map.ordered_touchpoints(journey)
        goal = journey.goal_touchpoint or ordered[-1].id
        goal_index = next(i for i, tp in enumerate(ordered) if tp.id == goal)
        goal_tp = ordered[goal_index]
        goal_k = k.get(goal, 0.0) if goal_tp.success else reached.get(goal, 0.0)
        for i, tp in enumerate(ordered):
            if not tp.success and i + 1 >= len(ordered):
                continue
            converted = k.get(tp.id, 0.0)
            share = 0.0 if i > goal_index else \
                (1.0 if i == goal_index else min(1.0, goal_k / converted) if converted else 0.0)
            out.append(StepInfo(tp.id, journey.id, stage_names[tp.stage], tp.name, tp.source,
                                journey_map.source_settings(tp.source).lag_days, journey.value, share))
    return out


def _volumes(journey_map: JourneyMap, n: dict[str, float], k: dict[str, float]) -> dict[str, float]:
    """Each touchpoint's volume, read back from the steps: its own step's n, or the previous step's k."""
    out = dict(n)
    for journey in journey_map.journeys:
        ordered = journey_map.ordered_touchpoints(journey)
        for before, tp in itertools.pairwise(ordered):
            if tp.id not in out and not before.success and before.id in n:
                out[tp.id] = k.get(before.id, 0.0)
    return out
