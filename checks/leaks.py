"""Static leaks for summaries: the steps that lose the most customers this period, against the period before."""

from __future__ import annotations

import numpy as np
import pandas as pd


def static_leaks(current: pd.DataFrame, previous: pd.DataFrame, *, segment: str = "all",
                 top: int = 5) -> pd.DataFrame:
    """Steps ranked by customers lost (n − k) this period, with the drop-off rate and its change.

    Args:
        current, previous: step series (date, step, segment, n, k) of the two periods.

    Returns:
        step, n, lost, drop_off (1 − k/n), previous_drop_off, change_pp (percentage points), at most `top` rows.
    """
    def totals(frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return pd.DataFrame(columns=["n", "k"], index=pd.Index([], name="step"))
        mine = frame[frame["segment"] == segment]
        return mine.groupby("step")[["n", "k"]].sum()

    now, before = totals(current), totals(previous)
    out = now.assign(lost=now["n"] - now["k"])
    with np.errstate(divide="ignore", invalid="ignore"):
        out["drop_off"] = np.where(now["n"] > 0, 1 - now["k"] / now["n"], np.nan)
        prev = before.reindex(out.index)
        out["previous_drop_off"] = np.where(prev["n"] > 0, 1 - prev["k"] / prev["n"], np.nan)
    out["change_pp"] = (out["drop_off"] - out["previous_drop_off"]) * 100
    return out[out["n"] > 0].sort_values("lost", ascending=False).head(top).reset_index()
