"""Steps of the map as detection sees them: n and k per (date, step, segment), and what each step is worth."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from checks.bottlenecks import StepInfo
from models.config import JourneyMap
from models.sources import stream_of
from models.sources.ga4.mapping import GA4_METRICS, rule_mask

# the GA4 reports whose item is a page: where a session landed (traffic) or which page was viewed (pages)
PAGE_DIMENSION = {"traffic": "landing", "pages": "page"}


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
    # a segment the next touchpoint's source does not report (Stripe has no device) cannot be measured on the
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
    reached = _volumes(journey_map, totals)
    out = []
    stage_names = {s.id: s.name for s in journey_map.stages}
    for journey in journey_map.journeys:
        ordered = journey_map.ordered_touchpoints(journey)
        goal = journey.goal_touchpoint or ordered[-1].id
        goal_index = next(i for i, tp in enumerate(ordered) if tp.id == goal)
        goal_tp = ordered[goal_index]
        goal_k = float(totals["k"].get(goal, 0.0)) if goal_tp.success else reached.get(goal, 0.0)
        for i, tp in enumerate(ordered):
            if not tp.success and i + 1 >= len(ordered):
                continue
            k = float(totals["k"].get(tp.id, 0.0))
            share = 0.0 if i > goal_index else (1.0 if i == goal_index else min(1.0, goal_k / k) if k else 0.0)
            out.append(StepInfo(tp.id, journey.id, stage_names[tp.stage], tp.name, tp.source,
                                journey_map.source_settings(tp.source).lag_days, journey.value, share))
    return out


def _volumes(journey_map: JourneyMap, totals: pd.DataFrame) -> dict[str, float]:
    """Each touchpoint's volume, read back from the steps: its own step's n, or the previous step's k."""
    out = {str(step): float(n) for step, n in totals["n"].items()}
    for journey in journey_map.journeys:
        ordered = journey_map.ordered_touchpoints(journey)
        for before, tp in itertools.pairwise(ordered):
            if tp.id not in out and not before.success and before.id in totals.index:
                out[tp.id] = float(totals["k"].get(before.id, 0.0))
    return out


def page_cells(raw: pd.DataFrame, journey_map: JourneyMap) -> pd.DataFrame:
    """(date, step, segment, n, k) of each GA4 step by its page: `landing=<page>` for a touchpoint read from the
    traffic report, `page=<path>` for one read from the pages report.

    Only steps whose success is the touchpoint's own metric have them (n and k are read from the same rows, so
    each page has its own rate); a step whose k is the next touchpoint's volume cannot be split by page. The
    cells only shape the step's mix-adjusted expectation (checks.bottlenecks.MIX_ONLY). `raw` holds GA4 report
    rows: report, date, item, channel, source, medium and the metric columns.
    """
    columns = ["date", "step", "segment", "n", "k"]
    parts = []
    for _, tp in journey_map.touchpoints():
        report = stream_of(tp.source, tp.match) if tp.source == "ga4" else ""
        if report not in PAGE_DIMENSION or not tp.success or raw.empty:
            continue
        rows = raw[rule_mask(raw, tp)]
        cells = pd.DataFrame({"date": rows["date"], "item": rows["item"].astype(str),
                              "n": rows[GA4_METRICS[tp.volume]].astype(float),
                              "k": rows[GA4_METRICS[tp.success]].astype(float)})
        cells = cells.groupby(["date", "item"], as_index=False)[["n", "k"]].sum()
        parts.append(cells.assign(step=tp.id, segment=PAGE_DIMENSION[report] + "=" + cells["item"],
                                  k=np.minimum(cells["k"], cells["n"]))[columns])
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
