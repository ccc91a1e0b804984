"""Stalled-stage detection: counts tested as counts, overdispersion-corrected, FDR-controlled, ranked by money.

The spec is BOTTLENECKS.md of the design. Everything is vectorised over all (step, segment) series:
the series are laid out as a matrix (series × age in days, age 0 = the newest matured day).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from checks.segments import attribute
from checks.statistics import CUSUM_CLIP, RESOLVE_DAYS, Z95, Measured, Rows, _cusum, judge, measure
from models.config import AlertPolicy

__all__ = ["CUSUM_CLIP", "MIX_ONLY", "RESOLVE_DAYS", "Z95", "StepInfo", "_cusum", "detect", "findings_frame",
           "segment_rows"]
# dimensions that only shape a step's expectation (where its sessions land or which page they view): their cells
# are too many and too small to be judged or named themselves, but a shift of traffic between them is not a leak
MIX_ONLY = ("landing", "page")


@dataclass(frozen=True)
class StepInfo:
    """A step (touchpoint → next, or touchpoint → its own success) and what detection needs to know of it."""

    step: str
    journey: str
    stage: str
    touchpoint: str
    source: str
    lag_days: int
    value: float
    goal_share: float  # P(goal | the step's success)


@dataclass(frozen=True)
class _Layout:
    keys: pd.DataFrame  # one row per series: step, segment
    n: np.ndarray  # series × age
    k: np.ndarray
    excluded: np.ndarray  # series × age, True = keep out of the baseline


def _ages(frame: pd.DataFrame, lag: pd.Series, as_of: dt.date) -> np.ndarray:
    """Each row's age in matured days (0 = its step's newest matured day)."""
    end = pd.Timestamp(as_of) - pd.to_timedelta(frame["step"].map(lag), unit="D")
    return np.asarray((end - pd.to_datetime(frame["date"])).dt.days.to_numpy())


def _layout(series: pd.DataFrame, steps: Sequence[StepInfo], as_of: dt.date, horizon: int,
            excluded: pd.DataFrame | None, unreliable: pd.DataFrame | None = None) -> _Layout:
    lag = pd.Series({s.step: s.lag_days for s in steps}, dtype="int64")
    frame = series[series["step"].isin(lag.index)]
    end = pd.Timestamp(as_of) - pd.to_timedelta(frame["step"].map(lag), unit="D")
    age = (end - pd.to_datetime(frame["date"])).dt.days.to_numpy()
    keep = (age >= 0) & (age < horizon)
    frame, age = frame[keep], age[keep]
    codes = frame.groupby(["step", "segment"], sort=False).ngroup().to_numpy()
    keys = frame[["step", "segment"]].drop_duplicates().reset_index(drop=True)  # same order as the codes
    n = np.zeros((len(keys), horizon))
    k = np.zeros((len(keys), horizon))
    np.add.at(n, (codes, age), frame["n"].to_numpy(dtype=float))
    np.add.at(k, (codes, age), frame["k"].to_numpy(dtype=float))
    mask = np.zeros_like(n, dtype=bool)
    if excluded is not None and len(excluded):
        ex = excluded.merge(keys.reset_index(names="code"), on=["step", "segment"])
        ex_end = pd.Timestamp(as_of) - pd.to_timedelta(ex["step"].map(lag), unit="D")
        ex_age = (ex_end - pd.to_datetime(ex["date"])).dt.days.to_numpy()
        ok = (ex_age >= 0) & (ex_age < horizon)
        mask[ex["code"].to_numpy()[ok], ex_age[ok]] = True
    if unreliable is not None and len(unreliable):  # every segment of the step, out of baselines and windows
        bad = unreliable[["step", "date"]].drop_duplicates().merge(keys.reset_index(names="code"), on="step")
        bad_age = _ages(bad, lag, as_of)
        ok = (bad_age >= 0) & (bad_age < horizon)
        codes_bad, ages_bad = bad["code"].to_numpy()[ok], bad_age[ok]
        n[codes_bad, ages_bad] = 0.0
        k[codes_bad, ages_bad] = 0.0
        mask[codes_bad, ages_bad] = True
    return _Layout(keys, n, k, mask)


def segment_rows(segments: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per segment: is it ALL, its dimension ("" for ALL), and is it judged (the MIX_ONLY cells are not)."""
    dimension = segments.str.extract(r"^(\w+)=", expand=False).fillna("").to_numpy(dtype=object)
    judged = ~segments.str.match(rf"^({'|'.join(MIX_ONLY)})=").to_numpy(dtype=bool)
    return (segments == "all").to_numpy(), dimension, judged


def findings_frame(keys: pd.DataFrame, judged: Measured, as_of: dt.date, policy: AlertPolicy) -> pd.DataFrame:
    """detect()'s rows: `keys` (step, segment and the steps' StepInfo columns) with `judge`'s columns, money,
    severity and `since`, before attribution."""
    columns = {name: keys[name].to_numpy() for name in keys.columns}
    columns.update((name, value) for name, value in judged.items() if name != "kind")
    window = np.where(np.isnan(judged["window"]), 1, judged["window"])
    lost_per_day = judged["lost"] / window
    goal_share, value = columns["goal_share"].astype(float), columns["value"].astype(float)
    impact_per_day = lost_per_day * goal_share * value
    weekly_goal = 7 * judged["conversions_per_day"] * goal_share * value
    critical = judged["stall"] | ((weekly_goal > 0) &
                                  (7 * impact_per_day >= policy.critical_share_of_weekly_value * weekly_goal))
    flagged = judged["candidate"] | judged["stall"]
    window_days = np.where(np.isnan(judged["window"]), max(policy.windows), judged["window"]).astype(int)
    since = np.datetime64(as_of, "D") - (columns["lag_days"].astype(int) + window_days - 1).astype("timedelta64[D]")
    columns.update(kind=judged["kind"], lost_per_day=lost_per_day, impact_per_day=impact_per_day,
                   severity=np.where(flagged, np.where(critical, "critical", "warning"), ""),
                   since=since.astype(object))
    return pd.DataFrame(columns, index=keys.index)


def detect(series: pd.DataFrame, steps: Sequence[StepInfo], as_of: dt.date, policy: AlertPolicy, *,
           excluded: pd.DataFrame | None = None, unhealthy: Collection[str] = (), held: Collection[str] = (),
           unreliable: pd.DataFrame | None = None) -> pd.DataFrame:
    """Judge every (step, segment) series on the matured days before `as_of`.

    Args:
        series: one row per (date, step, segment) with `n` (reached) and `k` (converted).
        steps: the steps to judge; those of `unhealthy` sources and the `held` steps are skipped.
        excluded: (step, segment, date) rows kept out of the baseline: open incidents, annotated days.
        unreliable: (step, date) days left out of every baseline and test window of every segment of the step:
            data that failed a blocking check (a confirmed gap, an implausible volume), and the bad days of
            resolved incidents (checks.incidents.closed_days).

    Segments of the MIX_ONLY dimensions (`landing=…`, `page=…`) only shape ALL's mix-adjusted expectation;
    they are neither judged nor named.

    Returns:
        One row per judged series: rates, z, p-value, BH q-value, lost conversions and money,
        `candidate` / `stall` / `kind` / `severity`, and `alert_segment` (what should be alerted).
    """
    steps = [s for s in steps if s.source not in set(unhealthy) and s.step not in set(held)]
    lay = _layout(series, steps, as_of, max(policy.windows) + policy.baseline_days, excluded, unreliable)
    if lay.keys.empty:
        return pd.DataFrame()
    info = pd.DataFrame([s.__dict__ for s in steps]).set_index("step")
    is_all, dimension, judged = segment_rows(lay.keys["segment"])
    rows = Rows(lay.n, lay.k, lay.excluded, pd.factorize(lay.keys["step"])[0], is_all, dimension)
    out = findings_frame(lay.keys.join(info, on="step"), judge(rows, measure(rows, policy), judged, policy),
                         as_of, policy)
    out = out[judged].reset_index(drop=True)
    return attribute(out, policy).sort_values("impact_per_day", ascending=False, ignore_index=True)
