"""The health gate: a source with no data or a collapsed volume raises one data alert, not step alerts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from checks.bottlenecks import StepInfo
from models.config import AlertPolicy


@dataclass(frozen=True)
class Volumes:
    """Each step's ALL volume per day (NaN: no row that day), what the health gate reads."""

    values: np.ndarray  # dates × steps
    row: dict[dt.date, int]
    column: dict[str, int]

    @classmethod
    def of(cls, series: pd.DataFrame) -> Volumes:
        totals = series[series["segment"] == "all"].groupby(["date", "step"])["n"].sum()
        dates = sorted(set(totals.index.get_level_values("date")))
        steps = sorted(set(totals.index.get_level_values("step")))
        row, column = {d: i for i, d in enumerate(dates)}, {s: j for j, s in enumerate(steps)}
        values = np.full((len(dates), len(steps)), np.nan)
        if len(totals):
            values[[row[d] for d in totals.index.get_level_values("date")],
                   [column[s] for s in totals.index.get_level_values("step")]] = totals.to_numpy(dtype=float)
        return cls(values, row, column)

    def on(self, days: Sequence[dt.date], steps: Sequence[str]) -> np.ndarray:
        """days × steps, 0 where there is no row (a day without data reads as no volume)."""
        out = np.zeros((len(days), len(steps)))
        rows = [(i, self.row[d]) for i, d in enumerate(days) if d in self.row]
        if rows:
            at, source = zip(*rows, strict=True)
            out[list(at)] = np.nan_to_num(self.values[np.ix_(list(source), [self.column[s] for s in steps])])
        return out


def health_gate(series: pd.DataFrame, steps: Sequence[StepInfo], as_of: dt.date,
                policy: AlertPolicy, volumes: Volumes | None = None) -> dict[str, str]:
    """Source → why its data cannot be judged today (missing data is never read as zero conversions).

    Each step's volume (segment all) on the source's newest matured day is compared with the median of
    the same weekday over the baseline. When the typical (median) step is at or under `volume_floor` of
    its usual volume, the source is unhealthy: one step falling is a leak to judge; all of them falling
    together is a data problem. A fall counts only when it cannot be chance: the source's largest step,
    today against the same weekdays, must fail the exact conditional Poisson test at 1e-3 (five checkout
    sessions on a usual day and none today is a quiet day, not an outage). `volumes`: `Volumes.of(series)`,
    when the caller has it (a replay reads the volumes of all its days once; only days up to `as_of` are read).
    """
    problems: dict[str, str] = {}
    totals = volumes if volumes is not None else Volumes.of(series)
    for source in sorted({s.source for s in steps}):
        lag = max(s.lag_days for s in steps if s.source == source)
        day = as_of - dt.timedelta(days=lag)
        mine = [s.step for s in steps if s.source == source and s.step in totals.column]
        same_weekday = [day - dt.timedelta(days=7 * w) for w in range(1, policy.baseline_days // 7 + 1)]
        weeks = totals.on(same_weekday, mine)
        usual = np.median(weeks, axis=0) if len(weeks) else np.full(len(mine), np.nan)
        now = totals.on([day], mine)[0]
        judged = np.flatnonzero(usual > 0)
        if not len(judged):
            continue  # no history to compare with
        ratio = float(np.median(now[judged] / usual[judged]))
        top = judged[np.argmax(usual[judged])]  # exact conditional test of two Poisson rates: today against
        before = float(weeks[:, top].sum())  # the same weekdays
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


def hold(steps: Sequence[StepInfo], health: Mapping[str, str], unusable: Mapping[str, str] | None,
         unreliable: pd.DataFrame, as_of: dt.date) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """What a day does not judge: the unhealthy sources (the health gate's and `unusable`: failed a blocking
    check naming no day), the steps held back (step → why) and the day's data alerts (source → message; a step
    whose newest matured day is `unreliable` makes one for its source)."""
    unhealthy = {**health, **(unusable or {})}
    held = {s.step: unhealthy[s.source] for s in steps if s.source in unhealthy}
    on_bad_day = {k: v for k, v in held_back(steps, unreliable, as_of).items() if k not in held}
    held.update(on_bad_day)
    source_of = {s.step: s for s in steps}
    alerts = dict(unhealthy)
    for step in on_bad_day:  # the day it happens is one data alert for the source
        info = source_of[step]
        alerts.setdefault(info.source, f"{info.source}: {as_of - dt.timedelta(days=info.lag_days)} failed a "
                                          "blocking data check (missing or implausible); the day is left out of "
                                          "its steps' baselines and windows")
    return unhealthy, held, alerts
