"""The statistics of detection (BOTTLENECKS.md § 2–5) on series laid out as rows × age (age 0 = the newest matured day).

`measure` reads each row on its own (and with the rows of its step, for the mix-adjusted expectation): it works as
well on one day's series as on every day of a replay stacked together. `judge` takes one day's rows and decides
what needs the whole day: the Benjamini–Hochberg q-values and the family of the flatline test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from checks.segments import drop_of_the_rest, shortfall_over_parent_window
from models.config import AlertPolicy

Z95 = 1.959963984540054
RESOLVE_DAYS = 7  # the window whose reading resolves an incident
CUSUM_CLIP = 2.0  # a single day moves the CUSUM by at most CUSUM_CLIP − 0.5 = 1.5: one bad day is not a drift
Measured = dict[str, np.ndarray]


@dataclass(frozen=True)
class Rows:
    """Series laid out for the statistics: counts and baseline exclusions by age, and what each row is."""

    n: np.ndarray  # rows × age
    k: np.ndarray
    excluded: np.ndarray  # rows × age, True = keep out of the baseline
    group: np.ndarray  # int per row: the rows of one step (of one day) share a code
    is_all: np.ndarray  # the step's ALL segment
    dimension: np.ndarray  # the segment's dimension ("device", …), "" for ALL

    def take(self, rows: np.ndarray | slice) -> Rows:
        return Rows(self.n[rows], self.k[rows], self.excluded[rows], self.group[rows], self.is_all[rows],
                    self.dimension[rows])


def measure(s: Rows, policy: AlertPolicy) -> Measured:
    """Baseline, overdispersion, window tests, CUSUM, the last week's reading and the stalls' raw figures."""
    windows = sorted(policy.windows)
    w_max = windows[-1]
    keep = ~s.excluded[:, w_max:]
    nb = (s.n[:, w_max:] * keep).sum(axis=1)
    kb = (s.k[:, w_max:] * keep).sum(axis=1)
    days_b = np.maximum(keep.sum(axis=1), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p0 = np.clip(np.where(nb > 0, kb / nb, np.nan), 1e-9, 1 - 1e-9)
    sigma = _laney_sigma(s.n[:, w_max:], s.k[:, w_max:], keep, p0)
    rows = len(s.n)
    best_p = np.ones(rows)
    best = {name: np.full(rows, np.nan) for name in ("z", "n_w", "k_w", "p0_w", "se", "window")}
    out: Measured = {}
    for w in windows:
        n_w, k_w = s.n[:, :w].sum(axis=1), s.k[:, :w].sum(axis=1)
        out[f"n_{w}"], out[f"k_{w}"] = n_w, k_w
        p0_w = _mix_adjusted(s, n_w[:, None], p0)[:, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            se = np.sqrt(p0_w * (1 - p0_w) * (1 / n_w + 1 / nb))
            z = (k_w / n_w - p0_w) / (sigma * se)
        gated = (n_w * p0 >= policy.min_expected_window) & (nb * p0 >= policy.min_expected_baseline)
        z = np.where(gated & np.isfinite(z), z, np.nan)
        if w == 7:
            out["z7"] = z
        p_one = np.where(np.isnan(z), 1.0, stats.norm.cdf(z))
        better = p_one < best_p
        best_p = np.where(better, p_one, best_p)
        for name, value in (("z", z), ("n_w", n_w), ("k_w", k_w), ("p0_w", p0_w), ("se", sigma * se),
                            ("window", np.full(rows, w))):
            best[name] = np.where(better | np.isnan(best[name]), value, best[name])
    out.setdefault("z7", best["z"])
    with np.errstate(divide="ignore", invalid="ignore"):
        p_w = best["k_w"] / best["n_w"]
        drop = 1 - p_w / best["p0_w"]
        lost = best["n_w"] * np.maximum(0.0, best["p0_w"] - p_w - Z95 * best["se"])
    cusum = _cusum(s.n[:, :w_max], s.k[:, :w_max], _mix_adjusted(s, s.n[:, :w_max], p0), sigma)
    # the last week's reading: it resolves incidents (spec § 7: "7-day z ≥ −1.5 and drop < 10 %") and keeps
    # drifts honest; ungated, so that small series resolve too
    n_r, k_r = s.n[:, :RESOLVE_DAYS].sum(axis=1), s.k[:, :RESOLVE_DAYS].sum(axis=1)
    p0_r = _mix_adjusted(s, n_r[:, None], p0)[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        se_r = sigma * np.sqrt(p0_r * (1 - p0_r) * (1 / n_r + 1 / nb))
        z_resolve = (k_r / n_r - p0_r) / se_r
        drop_resolve = 1 - (k_r / n_r) / p0_r
    # a drift is judged on whole steps (over hundreds of segment series it would mostly find noise), and
    # must have cost something: half the relative drop of a window alert over the last week, and lost ≥ min
    with np.errstate(divide="ignore", invalid="ignore"):
        lost_r = n_r * np.maximum(0.0, p0_r - k_r / n_r - Z95 * se_r)  # on the lower 95 % bound, as windows
    drift = (cusum > policy.cusum_threshold) & (nb * p0 >= policy.min_expected_baseline) & s.is_all & \
        (drop_resolve >= policy.min_relative_drop / 2) & (np.nan_to_num(lost_r) >= policy.min_lost_conversions)
    out.update(_stall_figures(s, p0, policy))
    out.update({f"best_{name}": value for name, value in best.items()})
    out.update(nb=nb, kb=kb, days_b=days_b, p0=p0, p_value=np.minimum(1.0, len(windows) * best_p), drop=drop,
               lost=lost, cusum=cusum, n_r=n_r, k_r=k_r, p0_r=p0_r, z_resolve=z_resolve, drop_resolve=drop_resolve,
               lost_r=lost_r, drift=drift, traffic=s.n[:, :w_max].sum(axis=1))
    return out


def judge(s: Rows, m: Measured, judged: np.ndarray, policy: AlertPolicy) -> Measured:
    """One day's rows (`judged`: the rows judged and named; the mix-only cells are not) → detect()'s columns."""
    windows = sorted(policy.windows)
    tested = ~np.isnan(m["best_z"]) & judged
    q = np.ones(len(s.n))
    if tested.any():
        q[tested] = stats.false_discovery_control(m["p_value"][tested], method="bh")
    significant = tested & (q <= policy.fdr_q) & (m["drop"] >= policy.min_relative_drop) & \
        (m["lost"] >= policy.min_lost_conversions)
    # flatline: 1/1000 per series, kept family-wise over all the series judged today
    flat = (m["expected_in_run"] >= math.log(1000 * max(1, int(judged.sum())))) & m["traffic_today"] & judged
    collapse, drift = m["collapse"] & ~flat & judged, m["drift"] & judged
    stall = flat | collapse
    stall_days = np.where(flat, np.maximum(m["run"], 1), 3)
    # a drift-only finding reports the last week, the span its lost conversions were counted over; a stall
    # reports its own days (the zero run of a flatline, the three days of a collapse)
    only_drift = drift & ~significant & ~stall
    span = (np.arange(s.n.shape[1])[None, :] < stall_days[:, None])
    n_s, k_s = (s.n * span).sum(axis=1), (s.k * span).sum(axis=1)
    lost_s = np.maximum(0.0, n_s * np.nan_to_num(m["p0"]) - k_s)
    best = {name: m[f"best_{name}"] for name in ("n_w", "k_w", "p0_w", "window")}
    for name, week, stalled in (("n_w", m["n_r"], n_s), ("k_w", m["k_r"], k_s), ("p0_w", m["p0_r"], m["p0"]),
                                ("window", RESOLVE_DAYS, stall_days)):
        best[name] = np.where(stall, stalled, np.where(only_drift, week, best[name]))
    with np.errstate(divide="ignore", invalid="ignore"):
        p_w = best["k_w"] / best["n_w"]
        drop = 1 - p_w / best["p0_w"]
    lost = np.where(stall, np.maximum(m["lost"], lost_s), np.where(only_drift, m["lost_r"], m["lost"]))
    lo, hi = _wilson(best["k_w"], best["n_w"])
    sums = {w: (m[f"n_{w}"], m[f"k_{w}"]) for w in windows}
    return {
        "drop_rest": drop_of_the_rest(s.group, s.is_all, sums, best["window"], m["nb"], m["kb"]),
        "shortfall": shortfall_over_parent_window(s.group, s.is_all, s.n, s.k, best["window"], m["p0"]),
        "z_resolve": m["z_resolve"], "drop_resolve": m["drop_resolve"], "n_w": best["n_w"], "k_w": best["k_w"],
        "p_w": p_w, "p_lo": lo, "p_hi": hi, "p0": best["p0_w"], "p0_raw": m["p0"], "z": m["best_z"], "z7": m["z7"],
        "p_value": m["p_value"], "q": q, "window": best["window"], "drop": drop, "lost": lost, "cusum": m["cusum"],
        "candidate": significant | drift, "stall": stall, "n_base": m["nb"], "traffic": m["traffic"],
        "conversions_per_day": m["kb"] / m["days_b"],
        "kind": np.select([flat, collapse, significant, drift], ["flatline", "collapse", "drop", "drift"], ""),
    }


def _wilson(k: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 1 + Z95**2 / n
        centre = (p + Z95**2 / (2 * n)) / denom
        half = Z95 * np.sqrt(p * (1 - p) / n + Z95**2 / (4 * n**2)) / denom
    return centre - half, centre + half


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


def _mix_adjusted(s: Rows, n: np.ndarray, p0: np.ndarray) -> np.ndarray:
    """Expected rate: for ALL, E = Σ_g n_g·p0_g / Σ_g n_g over one dimension's segments; p0 otherwise.

    Each dimension (channel, device, visitor type, and where the step's sessions land or which page they
    view) gives its own expectation; the lowest is kept, so that a shift of the traffic mix along any of them
    is not read as a leak. A segment without a baseline (a page first seen in the window) is expected at the
    step's own rate. `n` is series × columns (days, or one column per window); the result has the same shape.
    """
    expected = np.repeat(p0[:, None], n.shape[1], axis=1)
    if not len(s.group):
        return expected
    groups = int(s.group.max()) + 1
    p0_step = np.full(groups, np.nan)
    p0_step[s.group[s.is_all]] = p0[s.is_all]
    p0_child = np.where(np.isfinite(p0), p0, p0_step[s.group])
    adjusted = np.full_like(expected, np.inf)
    for dimension in sorted(set(s.dimension.tolist()) - {"", "persona"}):
        children = (s.dimension == dimension) & np.isfinite(p0_child)
        n_children = np.zeros((groups, n.shape[1]))
        e_children = np.zeros_like(n_children)
        np.add.at(n_children, s.group[children], n[children])
        np.add.at(e_children, s.group[children], n[children] * p0_child[children, None])
        n_c, e_c = n_children[s.group], e_children[s.group]
        usable = s.is_all[:, None] & (n_c > 0) & (np.abs(n_c - n) <= 0.01 * np.maximum(n, 1))
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


def _stall_figures(s: Rows, p0: np.ndarray, policy: AlertPolicy) -> Measured:
    """Flatline and collapse (they fire at once, no BH), short of the flatline's family-wise threshold.

    Flatline: the newest days all have zero conversions while ln(1000) ≈ 6.9 were expected over them
    (P(zero | Poisson) ≤ 1/1000) — the spec's ceil(ln 1000 / λ) days, with λ = n·p0 of each day, so days
    without traffic (a newsletter not sent) neither count nor break the run; `judge` sets the threshold over the
    day's family. Collapse: k ≤ 0.2·E over three days with a Poisson lower tail ≤ 1e-4.
    """
    horizon = min(s.n.shape[1], policy.windows[-1])
    n, k = s.n[:, :horizon], s.k[:, :horizon]
    expected_daily = n * np.nan_to_num(p0)[:, None]
    converted = k > 0
    run = np.where(converted.any(axis=1), np.argmax(converted, axis=1), horizon)  # newest days with k == 0
    in_run = np.arange(horizon)[None, :] < run[:, None]
    expected = s.n[:, :3].sum(axis=1) * np.nan_to_num(p0)
    k3 = s.k[:, :3].sum(axis=1)
    collapse = (expected >= 5) & (k3 <= 0.2 * expected) & (stats.poisson.cdf(k3, np.maximum(expected, 1e-9)) <= 1e-4)
    return {"run": run, "expected_in_run": (expected_daily * in_run).sum(axis=1), "traffic_today": n[:, 0] > 0,
            "collapse": collapse}
