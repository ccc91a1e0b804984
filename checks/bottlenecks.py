"""Stalled-stage detection: counts tested as counts, overdispersion-corrected, FDR-controlled, ranked by money.

The spec is BOTTLENECKS.md of the design. Everything is vectorised over all (step, segment) series:
the series are laid out as a matrix (series × age in days, age 0 = the newest matured day).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from checks.segments import attribute, drop_of_the_rest, shortfall_over_parent_window
from models.config import AlertPolicy

Z95 = 1.959963984540054
RESOLVE_DAYS = 7  # the window whose reading resolves an incident
CUSUM_CLIP = 2.0  # a single day moves the CUSUM by at most CUSUM_CLIP − 0.5 = 1.5: one bad day is not a drift
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


def _wilson(k: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 1 + Z95**2 / n
        centre = (p + Z95**2 / (2 * n)) / denom
        half = Z95 * np.sqrt(p * (1 - p) / n + Z95**2 / (4 * n**2)) / denom
    return centre - half, centre + half


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
    windows = sorted(policy.windows)
    w_max, base = windows[-1], policy.baseline_days
    lay = _layout(series, steps, as_of, w_max + base, excluded, unreliable)
    if lay.keys.empty:
        return pd.DataFrame()
    info = pd.DataFrame([s.__dict__ for s in steps]).set_index("step")
    out = lay.keys.join(info, on="step")
    judged = ~out["segment"].str.match(rf"^({'|'.join(MIX_ONLY)})=").to_numpy()

    keep = ~lay.excluded[:, w_max:]
    nb = (lay.n[:, w_max:] * keep).sum(axis=1)
    kb = (lay.k[:, w_max:] * keep).sum(axis=1)
    days_b = np.maximum(keep.sum(axis=1), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p0 = np.clip(np.where(nb > 0, kb / nb, np.nan), 1e-9, 1 - 1e-9)
    sigma = _laney_sigma(lay.n[:, w_max:], lay.k[:, w_max:], keep, p0)

    best_p = np.ones(len(out))
    best = {name: np.full(len(out), np.nan) for name in ("z", "n_w", "k_w", "p0_w", "se", "window")}
    z_by_window = {}
    sums = {}
    for w in windows:
        n_w, k_w = lay.n[:, :w].sum(axis=1), lay.k[:, :w].sum(axis=1)
        sums[w] = (n_w, k_w)
        p0_w = _mix_adjusted(out, n_w[:, None], p0)[:, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            se = np.sqrt(p0_w * (1 - p0_w) * (1 / n_w + 1 / nb))
            z = (k_w / n_w - p0_w) / (sigma * se)
        gated = (n_w * p0 >= policy.min_expected_window) & (nb * p0 >= policy.min_expected_baseline)
        z = np.where(gated & np.isfinite(z), z, np.nan)
        z_by_window[w] = z
        p_one = np.where(np.isnan(z), 1.0, stats.norm.cdf(z))
        better = p_one < best_p
        best_p = np.where(better, p_one, best_p)
        for name, value in (("z", z), ("n_w", n_w), ("k_w", k_w), ("p0_w", p0_w), ("se", sigma * se),
                            ("window", np.full(len(out), w))):
            best[name] = np.where(better | np.isnan(best[name]), value, best[name])
    tested = ~np.isnan(best["z"]) & judged
    p_series = np.minimum(1.0, len(windows) * best_p)
    q = np.ones(len(out))
    if tested.any():
        q[tested] = stats.false_discovery_control(p_series[tested], method="bh")
    with np.errstate(divide="ignore", invalid="ignore"):
        p_w = best["k_w"] / best["n_w"]
        drop = 1 - p_w / best["p0_w"]
        lost = best["n_w"] * np.maximum(0.0, best["p0_w"] - p_w - Z95 * best["se"])
    cusum = _cusum(lay.n[:, :w_max], lay.k[:, :w_max], _mix_adjusted(out, lay.n[:, :w_max], p0), sigma)
    significant = tested & (q <= policy.fdr_q) & (drop >= policy.min_relative_drop) & \
        (lost >= policy.min_lost_conversions)
    # the last week's reading: it resolves incidents (spec § 7: "7-day z ≥ −1.5 and drop < 10 %") and keeps
    # drifts honest; ungated, so that small series resolve too
    n_r, k_r = lay.n[:, :RESOLVE_DAYS].sum(axis=1), lay.k[:, :RESOLVE_DAYS].sum(axis=1)
    p0_r = _mix_adjusted(out, n_r[:, None], p0)[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        se_r = sigma * np.sqrt(p0_r * (1 - p0_r) * (1 / n_r + 1 / nb))
        z_resolve = (k_r / n_r - p0_r) / se_r
        drop_resolve = 1 - (k_r / n_r) / p0_r
    # a drift is judged on whole steps (over hundreds of segment series it would mostly find noise), and
    # must have cost something: half the relative drop of a window alert over the last week, and lost ≥ min
    with np.errstate(divide="ignore", invalid="ignore"):
        lost_r = n_r * np.maximum(0.0, p0_r - k_r / n_r - Z95 * se_r)  # on the lower 95 % bound, as windows
    drift = (cusum > policy.cusum_threshold) & (nb * p0 >= policy.min_expected_baseline) & \
        (out["segment"] == "all").to_numpy() & (drop_resolve >= policy.min_relative_drop / 2) & \
        (np.nan_to_num(lost_r) >= policy.min_lost_conversions)
    flat, collapse, stall_days = _stalls(lay, p0, policy, int(judged.sum()))
    flat, collapse, drift = flat & judged, collapse & judged, drift & judged
    stall = flat | collapse
    # a drift-only finding reports the last week, the span its lost conversions were counted over; a stall
    # reports its own days (the zero run of a flatline, the three days of a collapse)
    only_drift = drift & ~significant & ~stall
    span = (np.arange(lay.n.shape[1])[None, :] < stall_days[:, None])
    n_s, k_s = (lay.n * span).sum(axis=1), (lay.k * span).sum(axis=1)
    lost_s = np.maximum(0.0, n_s * np.nan_to_num(p0) - k_s)
    for name, week, stalled in (("n_w", n_r, n_s), ("k_w", k_r, k_s), ("p0_w", p0_r, p0),
                                ("window", RESOLVE_DAYS, stall_days)):
        best[name] = np.where(stall, stalled, np.where(only_drift, week, best[name]))
    with np.errstate(divide="ignore", invalid="ignore"):
        p_w = best["k_w"] / best["n_w"]
        drop = 1 - p_w / best["p0_w"]
    lost = np.where(stall, np.maximum(lost, lost_s), np.where(only_drift, lost_r, lost))
    lo, hi = _wilson(best["k_w"], best["n_w"])

    drop_rest = drop_of_the_rest(out, sums, best["window"], nb, kb)
    out = out.assign(
        drop_rest=drop_rest, shortfall=shortfall_over_parent_window(out, lay.n, lay.k, best["window"], p0),
        z_resolve=z_resolve, drop_resolve=drop_resolve,
        n_w=best["n_w"], k_w=best["k_w"], p_w=p_w, p_lo=lo, p_hi=hi, p0=best["p0_w"], p0_raw=p0, z=best["z"],
        z7=z_by_window.get(7, best["z"]), p_value=p_series, q=q, window=best["window"], drop=drop,
        lost=lost, cusum=cusum, candidate=significant | drift, stall=stall, n_base=nb,
        traffic=lay.n[:, :w_max].sum(axis=1), conversions_per_day=kb / days_b,
    )
    out["kind"] = np.select([flat, collapse, significant, drift], ["flatline", "collapse", "drop", "drift"], "")
    out["lost_per_day"] = out["lost"] / out["window"].fillna(1)
    out["impact_per_day"] = out["lost_per_day"] * out["goal_share"] * out["value"]
    weekly_goal = 7 * out["conversions_per_day"] * out["goal_share"] * out["value"]
    critical = out["stall"] | ((weekly_goal > 0) &
                               (7 * out["impact_per_day"] >= policy.critical_share_of_weekly_value * weekly_goal))
    out["severity"] = np.where(out["candidate"] | out["stall"], np.where(critical, "critical", "warning"), "")
    window_days = out["window"].fillna(w_max).astype(int)
    ends = pd.Timestamp(as_of) - pd.to_timedelta(out["lag_days"], unit="D")
    out["since"] = (ends - pd.to_timedelta(window_days - 1, unit="D")).dt.date
    out = out[judged].reset_index(drop=True)
    return attribute(out, policy).sort_values("impact_per_day", ascending=False, ignore_index=True)


def _laney_sigma(n: np.ndarray, k: np.ndarray, keep: np.ndarray, p0: np.ndarray) -> np.ndarray:
    """σz = max(1, mean moving range of the baseline's daily z / 1.128) — Laney's p′ chart."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (k / n - p0[:, None]) / np.sqrt(p0[:, None] * (1 - p0[:, None]) / n)
    z = np.where(keep & (n > 0), z, np.nan)
    moving = np.abs(np.diff(z, axis=1))
    finite = np.isfinite(moving)
    counts = finite.sum(axis=1)
    mr = np.where(counts > 0, np.where(finite, moving, 0.0).sum(axis=1) / np.maximum(counts, 1), np.nan)
    return np.asarray(np.maximum(1.0, np.nan_to_num(mr / 1.128, nan=1.0)), dtype=float)


def _mix_adjusted(out: pd.DataFrame, n: np.ndarray, p0: np.ndarray) -> np.ndarray:
    """Expected rate: for ALL, E = Σ_g n_g·p0_g / Σ_g n_g over one dimension's segments; p0 otherwise.

    Each dimension (channel, device, visitor type, and where the step's sessions land or which page they
    view) gives its own expectation; the lowest is kept, so that a shift of the traffic mix along any of them
    is not read as a leak. A segment without a baseline (a page first seen in the window) is expected at the
    step's own rate. `n` is series × columns (days, or one column per window); the result has the same shape.
    """
    expected = np.repeat(p0[:, None], n.shape[1], axis=1)
    is_all = (out["segment"] == "all").to_numpy()
    step_code, _ = pd.factorize(out["step"])
    p0_step = np.full(step_code.max() + 1, np.nan)
    p0_step[step_code[is_all]] = p0[is_all]
    p0_child = np.where(np.isfinite(p0), p0, p0_step[step_code])
    dimensions = out["segment"].str.extract(r"^(\w+)=", expand=False)
    adjusted = np.full_like(expected, np.inf)
    for dimension in sorted(set(dimensions.dropna()) - {"persona"}):
        children = (dimensions == dimension).to_numpy() & np.isfinite(p0_child)
        n_children = np.zeros((step_code.max() + 1, n.shape[1]))
        e_children = np.zeros_like(n_children)
        np.add.at(n_children, step_code[children], n[children])
        np.add.at(e_children, step_code[children], n[children] * p0_child[children, None])
        n_c, e_c = n_children[step_code], e_children[step_code]
        usable = is_all[:, None] & (n_c > 0) & (np.abs(n_c - n) <= 0.01 * np.maximum(n, 1))
        with np.errstate(divide="ignore", invalid="ignore"):
            adjusted = np.where(usable, np.minimum(adjusted, e_c / n_c), adjusted)
    return np.where(np.isfinite(adjusted), np.clip(adjusted, 1e-9, 1 - 1e-9), expected)


def _cusum(n: np.ndarray, k: np.ndarray, p0: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """One-sided lower CUSUM of daily z over the test days, oldest first: S_t = max(0, S_{t−1} − z_t − 0.5).

    `p0` is the expected rate per series and day. Closed form of the recursion (no loop over days):
    S_t = C_t − min(0, min_{j≤t} C_j) with C = cumsum(−z − 0.5). Each day's −z is capped at CUSUM_CLIP
    (a winsorised CUSUM): a single dip, however deep, cannot cross the threshold alone — the window tests
    judge sharp drops; the CUSUM is for drifts made of many moderately bad days.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (k / n - p0) / (sigma[:, None] * np.sqrt(p0 * (1 - p0) / n))
    x = np.where(np.isfinite(z), np.minimum(-z, CUSUM_CLIP) - 0.5, 0.0)[:, ::-1]  # oldest day first
    c = np.cumsum(x, axis=1)
    s = c - np.minimum(0.0, np.minimum.accumulate(c, axis=1))
    return np.asarray(s[:, -1])


def _stalls(lay: _Layout, p0: np.ndarray, policy: AlertPolicy,
            family: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flatline and collapse, which fire at once (no BH).

    Flatline: the newest days all have zero conversions while ln(1000) ≈ 6.9 were expected over them
    (P(zero | Poisson) ≤ 1/1000) — the spec's ceil(ln 1000 / λ) days, with λ = n·p0 of each day, so days
    without traffic (a newsletter not sent) neither count nor break the run. Collapse: k ≤ 0.2·E over
    three days with a Poisson lower tail ≤ 1e-4. `family`: the series judged today. Returns both flags and the
    stall's span in days.
    """
    horizon = min(lay.n.shape[1], policy.windows[-1])
    n, k = lay.n[:, :horizon], lay.k[:, :horizon]
    expected_daily = n * np.nan_to_num(p0)[:, None]
    converted = k > 0
    run = np.where(converted.any(axis=1), np.argmax(converted, axis=1), horizon)  # newest days with k == 0
    in_run = np.arange(horizon)[None, :] < run[:, None]
    expected_in_run = (expected_daily * in_run).sum(axis=1)
    # 1/1000 per series, kept family-wise over all the series judged today
    flat = (expected_in_run >= math.log(1000 * max(1, family))) & (n[:, 0] > 0)
    expected = lay.n[:, :3].sum(axis=1) * np.nan_to_num(p0)
    k3 = lay.k[:, :3].sum(axis=1)
    collapse = (expected >= 5) & (k3 <= 0.2 * expected) & (stats.poisson.cdf(k3, np.maximum(expected, 1e-9)) <= 1e-4)
    days = np.where(flat, np.maximum(run, 1), 3)
    return flat, collapse & ~flat, days
