"""Which segments a step's leak sits in: shortfall per segment, the rest of the step, and who alerts alone."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.config import AlertPolicy


def _of_parent(group: np.ndarray, is_all: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each row's value of its step's ALL row (`group`: the rows of one step share a code); NaN without one."""
    parent = np.full(int(group.max()) + 1 if len(group) else 0, np.nan)
    parent[group[is_all]] = values[is_all]
    return np.asarray(parent[group], dtype=float)


def shortfall_over_parent_window(group: np.ndarray, is_all: np.ndarray, n: np.ndarray, k: np.ndarray,
                                 window: np.ndarray, p0: np.ndarray) -> np.ndarray:
    """Conversions each row fell short of its own baseline over its step's ALL window (for attribution, so
    that every segment of a step is measured over the same days)."""
    parent_window = _of_parent(group, is_all, window)
    days = np.clip(np.nan_to_num(parent_window, nan=1).astype(int), 1, n.shape[1])
    n_w = np.take_along_axis(np.cumsum(n, axis=1), days[:, None] - 1, axis=1)[:, 0]
    k_w = np.take_along_axis(np.cumsum(k, axis=1), days[:, None] - 1, axis=1)[:, 0]
    return np.asarray(np.maximum(0.0, n_w * np.nan_to_num(p0) - k_w), dtype=float)


def drop_of_the_rest(group: np.ndarray, is_all: np.ndarray, sums: dict[int, tuple[np.ndarray, np.ndarray]],
                     window: np.ndarray, nb: np.ndarray, kb: np.ndarray) -> np.ndarray:
    """For each segment row: the relative drop of the rest of its step (ALL minus the segment) over the
    segment's own window against the rest's baseline. NaN for ALL rows and steps without an ALL row."""
    parent = _of_parent(group, is_all, np.arange(len(group), dtype=float))
    has = ~is_all & np.isfinite(parent) & np.isfinite(window)
    idx = np.where(has, parent, 0).astype(int)
    n_rest, k_rest = np.full(len(group), np.nan), np.full(len(group), np.nan)
    for w, (n_w, k_w) in sums.items():
        mine = has & (window == w)
        n_rest[mine] = n_w[idx[mine]] - n_w[mine]
        k_rest[mine] = k_w[idx[mine]] - k_w[mine]
    with np.errstate(divide="ignore", invalid="ignore"):
        p_rest0 = (kb[idx] - kb) / (nb[idx] - nb)
        return np.asarray(np.where(has, 1 - (k_rest / n_rest) / p_rest0, np.nan), dtype=float)


def attribute(out: pd.DataFrame, policy: AlertPolicy) -> pd.DataFrame:
    """Top segments by share of the step's shortfall on ALL rows; which rows alert on their own (spec § 6: only
    when ALL is not significant and the segment carries ≥ segment_min_traffic_share of the traffic)."""
    children = out[out["segment"] != "all"]
    # a stable sort: a step's ties keep their order, whatever other steps' rows are in `out`
    lost = children[children["shortfall"] > 0].sort_values("shortfall", ascending=False, kind="stable")
    share = lost["shortfall"] / lost.groupby("step")["shortfall"].transform("sum")
    top = (lost.assign(label=lost["segment"] + " (" + (share * 100).round().astype(int).astype(str) + " %)")
           .groupby("step")["label"].apply(lambda s: ", ".join(s.head(3))))
    out["top_segments"] = np.where(out["segment"] == "all", out["step"].map(top).fillna(""), "")
    flagged = out["candidate"] | out["stall"]
    all_flagged = out[out["segment"] == "all"].set_index("step")["candidate"] | \
        out[out["segment"] == "all"].set_index("step")["stall"]
    all_traffic = out[out["segment"] == "all"].set_index("step")["traffic"]
    parent_quiet = ~out["step"].map(all_flagged).fillna(False).astype(bool)
    big_enough = out["traffic"] >= policy.segment_min_traffic_share * out["step"].map(all_traffic).fillna(np.inf)
    # a segment alerts on its own for its own leak: its drop must exceed the rest of the step's by
    # min_relative_drop (when everyone dropped, it is the step's leak, told — or not — on ALL)
    own = ~(out["drop"] - out["drop_rest"] < policy.min_relative_drop)  # NaN (no rest to compare) counts as own
    out["alert_segment"] = flagged & ((out["segment"] == "all") | (parent_quiet & big_enough & own))
    return out
