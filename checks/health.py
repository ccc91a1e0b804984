"""The health gate: a source with no data or a collapsed volume raises one data alert, not step alerts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
from scipy import stats

from checks.bottlenecks import StepInfo
from models.config import AlertPolicy


def health_gate(series: pd.DataFrame, steps: Sequence[StepInfo], as_of: dt.date,
                policy: AlertPolicy) -> dict[str, str]:
    """Source → why its data cannot be judged today (missing data is never read as zero conversions).

    Each step's volume (segment all) on the source's newest matured day is compared with the median of
    the same weekday over the baseline. When the typical (median) step is at or under `volume_floor` of
    its usual volume, the source is unhealthy: one step falling is a leak to judge; all of them falling
    together is a data problem. A fall counts only when it cannot be chance: the source's largest step,
    today against the same weekdays, must fail the exact conditional Poisson test at 1e-3 (five checkout
    sessions on a usual day and none today is a quiet day, not an outage).
    """
    problems: dict[str, str] = {}
    totals = series[series["segment"] == "all"].pivot_table(index="date", columns="step", values="n", aggfunc="sum")
    for source in sorted({s.source for s in steps}):
        lag = max(s.lag_days for s in steps if s.source == source)
        day = as_of - dt.timedelta(days=lag)
        mine = [s.step for s in steps if s.source == source and s.step in totals.columns]
        same_weekday = [day - dt.timedelta(days=7 * w) for w in range(1, policy.baseline_days // 7 + 1)]
        weeks = totals.reindex(same_weekday)[mine].fillna(0.0)
        usual = weeks.median()
        now = totals.reindex([day])[mine].fillna(0.0).iloc[0]
        judged = usual[usual > 0]
        if judged.empty:
            continue  # no history to compare with
        ratio = float((now[judged.index] / judged).median())
        top = judged.idxmax()  # exact conditional test of two Poisson rates: today against the same weekdays
        before = float(weeks[top].sum())
        implausible = stats.binom.cdf(float(now[top]), float(now[top]) + before, 1 / (1 + len(weeks))) <= 1e-3
        if ratio <= policy.volume_floor and implausible:
            what = "no data" if float(now.sum()) == 0 else f"volumes at {ratio:.0%} of the usual"
            problems[source] = (f"{source}: {what} on {day} (against the same weekday of the last "
                                f"{len(same_weekday)} weeks); its step alerts are held back until the data is back")
    return problems


def held_back(steps: Sequence[StepInfo], unreliable: pd.DataFrame, as_of: dt.date) -> dict[str, str]:
    """Step → why it is not judged today: its newest matured day is one a blocking check found missing or
    implausible (`unreliable`: step, date). Such a day is left out of every baseline and test window; a step is
    judged again from its next good matured day, so a gap holds a step back for as long as it is the day the
    step would be judged on — one day, not for as long as the gap stays in the quality window."""
    if unreliable.empty:
        return {}
    bad = set(zip(unreliable["step"], unreliable["date"], strict=True))
    out = {}
    for s in steps:
        day = as_of - dt.timedelta(days=s.lag_days)
        if (s.step, day) in bad:
            out[s.step] = (f"{s.touchpoint}: its newest matured day {day} failed a blocking {s.source} data check; "
                           "that day is left out of its baselines and windows, and the step is judged again from "
                           "the next good matured day")
    return out
