"""Judge many days at once: the statistics of every (day, step, segment) series in one vectorised pass, then the
incident lifecycle day after day.

What a day-by-day replay (`checks.detection.judge_day` on each day) finds, without its per-day frames: the
series of every judged day are laid out together (rows = day × series, as `checks.bottlenecks.detect` lays out
one day's, in the same order) and measured at once. The lifecycle then moves the incidents on one day at a time:
a day's open incidents keep their step's days out of its baselines and a resolved one its bad days out of its
windows, so the rows of those steps are measured again for that day before the day is judged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from checks.bottlenecks import StepInfo, findings_frame, segment_rows
from checks.health import Volumes, health_gate, hold
from checks.incidents import Incident, advance, closed_days
from checks.outcome import DetectionOutcome, conclude
from checks.segments import attribute
from checks.stacked import Grid, Stack, grid_of, stack_of
from checks.statistics import Measured, Rows, judge, measure
from checks.steps import steps_with
from models.config import AlertPolicy, JourneyMap

CELLS = 4_000_000  # (day, series, age) cells laid out at once; longer replays go in chunks of days
INFO = ["journey", "stage", "touchpoint", "source", "lag_days", "value", "goal_share"]


@dataclass(frozen=True)
class JudgedDay:
    """One replayed day: the incidents before and after it, its outcome and its candidate keys."""

    day: dt.date
    before: dict[str, Incident]
    after: dict[str, Incident]
    outcome: DetectionOutcome
    candidates: list[str]


def _chunks(days: Sequence[dt.date], size: int) -> Iterator[Sequence[dt.date]]:
    for i in range(0, len(days), size):
        yield days[i:i + size]


def replay(series: pd.DataFrame, journey_map: JourneyMap, days: Sequence[dt.date], incidents: dict[str, Incident],
           earlier: Mapping[dt.date, set[str]], annotations: pd.DataFrame, unusable: pd.DataFrame, history: int,
           whole: Mapping[str, str] | None = None) -> list[JudgedDay]:
    """Judge `days` (consecutive, in order) as `checks.detection.judge_day` would one after the other.

    Args:
        series: every step's (date, segment) counts from `history` days before the first day on.
        incidents: every incident as it stood before the first day; `earlier`: the candidate keys of the two days
            before it.
        annotations: (touchpoint_id, date) of the annotated change days.
        unusable: (touchpoint_id, date, found): days a blocking check found missing or implausible, and the first
            day whose run knew it.
        history: the days a run reads (checks.detection.history_needed).
        whole: the sources held back whole on the last day (a blocking failure naming no day).
    """
    policy = journey_map.alerts
    horizon = max(policy.windows) + policy.baseline_days
    template = steps_with(journey_map, {}, {})
    names = [s.step for s in template]
    lags = np.array([s.lag_days for s in template])
    origin = days[0] - dt.timedelta(days=history)
    grid = grid_of(series, names, origin, days[-1], horizon + int(lags.max(initial=0)), annotations, unusable)
    is_all, dimension, judged = segment_rows(grid.keys["segment"])
    volumes = Volumes.of(series)
    lag_of = {s.step: s.lag_days for s in template}
    history_of = dict(earlier)
    none_unusable = pd.DataFrame(columns=["step", "date"])
    closed = _Closed(lag_of)
    out: list[JudgedDay] = []
    size = max(1, CELLS // max(1, len(grid.keys) * horizon))
    for chunk in _chunks(days, size):
        gates = []
        for day, steps in zip(chunk, _steps_by_day(grid, journey_map, chunk, history), strict=True):
            bad = unusable[unusable["found"] <= day][["touchpoint_id", "date"]].rename(
                columns={"touchpoint_id": "step"}) if len(unusable) else none_unusable
            gates.append((steps, *hold(steps, health_gate(series, steps, day, policy, volumes),
                                       whole if day == days[-1] else None, bad, day)))
        allowed = np.array([[s.step not in held and s.source not in unhealthy for s in steps]
                            for steps, unhealthy, held, _ in gates], dtype=bool).reshape(len(chunk), len(names))
        stack = stack_of(grid, chunk, lags, allowed, horizon, is_all, dimension)
        measured = measure(stack.rows, policy)
        for day, (steps, _, held, alerts), (start, end) in zip(chunk, gates, stack.bounds, strict=True):
            recent = {key: [key in history_of.get(day - dt.timedelta(days=2), set()),
                            key in history_of.get(day - dt.timedelta(days=1), set())]
                      for key in history_of.get(day - dt.timedelta(days=2), set()) |
                      history_of.get(day - dt.timedelta(days=1), set())}
            findings = _findings(grid, stack, measured, slice(start, end), judged, steps, incidents, closed, day,
                                 journey_map)
            today, events = advance(findings, incidents, recent, day, policy)
            outcome, candidates = conclude(day, findings, today, events, alerts, held)
            out.append(JudgedDay(day, incidents, today, outcome, candidates))
            history_of[day] = set(candidates)
            incidents = today
    return out


def _steps_by_day(grid: Grid, journey_map: JourneyMap, days: Sequence[dt.date], history: int,
                  ) -> list[list[StepInfo]]:
    """steps_of on what a run on each day reads: the ALL totals of the history_needed days up to it (counts:
    their running sums are exact)."""
    rows = np.flatnonzero((grid.keys["segment"] == "all").to_numpy())
    names = [grid.steps[grid.step[r]] for r in rows]
    running = [np.concatenate([np.zeros((len(rows), 1)), np.cumsum(a[rows], axis=1)], axis=1)
               for a in (grid.n, grid.k, grid.exists)]
    out = []
    for day in days:
        lo, hi = grid.column(day - dt.timedelta(days=history)), grid.column(day) + 1
        n, k, seen = (r[:, hi] - r[:, lo] for r in running)
        out.append(steps_with(journey_map, {s: float(v) for s, v, c in zip(names, n, seen, strict=True) if c},
                              {s: float(v) for s, v, c in zip(names, k, seen, strict=True) if c}))
    return out


def _findings(grid: Grid, stack: Stack, measured: Measured, rows: slice, judged_key: np.ndarray,
              steps: Sequence[StepInfo], incidents: dict[str, Incident], closed: _Closed, day: dt.date,
              journey_map: JourneyMap) -> pd.DataFrame:
    """detect()'s findings of one day, with the days its incidents keep out; only the rows the lifecycle reads:
    the steps with a flagged row (all their rows, for the attribution) and the steps of open incidents."""
    if rows.start == rows.stop:
        return pd.DataFrame()
    policy = journey_map.alerts
    lay, m = stack.rows.take(rows), {name: value[rows] for name, value in measured.items()}
    lay, m = _remeasured(grid, stack, lay, m, rows, incidents, closed, day, policy)
    key = stack.key[rows]
    judged, step = judged_key[key], grid.step[key]
    cols = judge(Rows(lay.n, lay.k, lay.excluded, step, lay.is_all, lay.dimension), m, judged, policy)
    flagged = (cols["candidate"] | cols["stall"]) & judged
    wanted = np.zeros(len(grid.steps), dtype=bool)
    wanted[step[flagged]] = True
    wanted[[grid.steps.index(i.step) for i in incidents.values() if i.status != "resolved" and i.step in grid.steps]] \
        = True
    mine = np.flatnonzero(judged)
    chosen = mine[wanted[step[mine]]]
    if not len(chosen):  # nothing flagged, no open incident judged: the lifecycle reads no row
        return pd.DataFrame()
    # detect's order: the judged rows by impact per day, as its sort leaves them
    goal_share, value = (np.array([getattr(s, name) for s in steps], dtype=float) for name in ("goal_share", "value"))
    window = cols["window"][mine]
    impact = cols["lost"][mine] / np.where(np.isnan(window), 1, window) * goal_share[step[mine]] * value[step[mine]]
    rank = np.empty(len(mine), dtype=int)
    rank[pd.Series(impact).sort_values(ascending=False).index.to_numpy()] = np.arange(len(mine))
    info = pd.DataFrame([s.__dict__ for s in steps]).set_index("step")
    keys = grid.keys.iloc[key[chosen]].reset_index(drop=True)
    out = findings_frame(keys.join(info[INFO], on="step"), {name: v[chosen] for name, v in cols.items()}, day,
                         policy)
    # nothing flagged: no row alerts, and the lifecycle reads no top segments
    out = attribute(out, policy) if flagged[chosen].any() else out.assign(top_segments="", alert_segment=False)
    return out.iloc[np.argsort(rank[np.searchsorted(mine, chosen)], kind="stable")].reset_index(drop=True)


class _Closed:
    """closed_days by step, read again only when the resolved incidents change."""

    def __init__(self, lags: Mapping[str, int]) -> None:
        self.lags = lags
        self.seen: tuple[object, ...] = ()
        self.days: dict[str, list[dt.date]] = {}

    def of(self, incidents: dict[str, Incident]) -> dict[str, list[dt.date]]:
        resolved = tuple((i.key, i.status, i.resolved_on, i.payload.get("since")) for i in incidents.values()
                         if i.status == "resolved")
        if resolved != self.seen:
            self.seen, self.days = resolved, {}
            for step, bad_day in closed_days(incidents, self.lags).itertuples(index=False):
                self.days.setdefault(step, []).append(bad_day)
        return self.days


def _remeasured(grid: Grid, stack: Stack, lay: Rows, m: Measured, rows: slice, incidents: dict[str, Incident],
                closed_by: _Closed, day: dt.date, policy: AlertPolicy) -> tuple[Rows, Measured]:
    """The day's rows with the days its incidents keep out: an open incident's days (from its first bad day on)
    out of its step's baselines (incident_days), a resolved one's bad days out of its step's baselines and
    windows (closed_days). Only those steps' rows are measured again."""
    first: dict[str, dt.date] = {}
    for i in incidents.values():
        if i.status != "resolved":
            since = i.payload.get("since")
            start = min(i.opened_on, dt.date.fromisoformat(since)) if since else i.opened_on
            first[i.step] = min(first.get(i.step, start), start)
    closed = closed_by.of(incidents)
    touched = (set(first) | set(closed)) & set(grid.steps)
    if not touched:
        return lay, m
    step = grid.step[stack.key[rows]]
    horizon = lay.n.shape[1]
    n, k, excluded = lay.n, lay.k, lay.excluded
    copied = False
    for name in sorted(touched):
        mine = np.flatnonzero(step == grid.steps.index(name))
        if not len(mine):
            continue
        end = day - dt.timedelta(days=closed_by.lags[name])
        block_n, block_k, block_x = n[mine].copy(), k[mine].copy(), excluded[mine].copy()
        if name in first and (end - first[name]).days >= 0:
            upto = min(horizon, (end - first[name]).days + 1)
            block_x[:, :upto] |= stack.exists[rows][mine, :upto]
        ages = [a for a in ((end - d).days for d in closed.get(name, [])) if 0 <= a < horizon]
        block_n[:, ages], block_k[:, ages], block_x[:, ages] = 0.0, 0.0, True
        if not ages and np.array_equal(block_x, excluded[mine]):
            continue
        if not copied:
            n, k, excluded, m, copied = n.copy(), k.copy(), excluded.copy(), {a: v.copy() for a, v in m.items()}, True
        n[mine], k[mine], excluded[mine] = block_n, block_k, block_x
        block = Rows(block_n, block_k, block_x, np.zeros(len(mine), dtype=int), lay.is_all[mine],
                     lay.dimension[mine])
        for a, value in measure(block, policy).items():
            m[a][mine] = value
    return Rows(n, k, excluded, lay.group, lay.is_all, lay.dimension), m
