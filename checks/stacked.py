"""The series of many judged days laid out together for checks.statistics: rows = day × series, each day's rows
in the order checks.bottlenecks.detect lays out that day's (the order its series first appear in the facts)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from checks.statistics import Rows


@dataclass(frozen=True)
class Grid:
    """Every series of the map's steps by calendar day: column PAD + i is `origin` + i days."""

    keys: pd.DataFrame  # step, segment
    step: np.ndarray  # key → step code (into `steps`)
    steps: list[str]
    n: np.ndarray  # keys × columns
    k: np.ndarray
    exists: np.ndarray  # a row in the series
    first: np.ndarray  # position of the key's row that day in the series (inf: none): the order detect keeps
    annotated: np.ndarray  # keys × columns, the rows of annotated days
    bad_from: np.ndarray  # steps × columns: ordinal of the first day whose runs know the day unusable
    origin: dt.date
    pad: int

    def column(self, day: dt.date) -> int:
        return self.pad + (day - self.origin).days


def grid_of(series: pd.DataFrame, steps: Sequence[str], origin: dt.date, last: dt.date, pad: int,
          annotations: pd.DataFrame, unusable: pd.DataFrame) -> Grid:
    frame = series[series["step"].isin(steps)]
    offset = (pd.to_datetime(frame["date"]) - pd.Timestamp(origin)).dt.days.to_numpy()
    inside = (offset >= 0) & (offset <= (last - origin).days)
    frame, offset, position = frame[inside], offset[inside], np.flatnonzero(inside).astype(float)
    codes = frame.groupby(["step", "segment"], sort=False).ngroup().to_numpy()
    keys = frame[["step", "segment"]].drop_duplicates().reset_index(drop=True)
    step_code = {s: i for i, s in enumerate(steps)}
    step = keys["step"].map(step_code).to_numpy(dtype=int)
    shape = (len(keys), pad + (last - origin).days + 1)
    n, k, first = np.zeros(shape), np.zeros(shape), np.full(shape, np.inf)
    columns = pad + offset
    np.add.at(n, (codes, columns), frame["n"].to_numpy(dtype=float))
    np.add.at(k, (codes, columns), frame["k"].to_numpy(dtype=float))
    np.minimum.at(first, (codes, columns), position)
    exists = np.isfinite(first)
    annotated = np.zeros(shape, dtype=bool)
    for tp, day in zip(annotations["touchpoint_id"], annotations["date"], strict=True):
        if tp in step_code and 0 <= (day - origin).days <= (last - origin).days:
            mine = step == step_code[tp]
            annotated[mine, pad + (day - origin).days] = exists[mine, pad + (day - origin).days]
    bad_from = np.full((len(steps), shape[1]), np.iinfo(np.int64).max)
    for tp, day, found in zip(unusable["touchpoint_id"], unusable["date"], unusable["found"], strict=True):
        if tp in step_code and 0 <= (day - origin).days <= (last - origin).days:
            at = (step_code[tp], pad + (day - origin).days)
            bad_from[at] = min(bad_from[at], found.toordinal())
    return Grid(keys, step, list(steps), n, k, exists, first, annotated, bad_from, origin, pad)


@dataclass(frozen=True)
class Stack:
    """The series of a run of days, laid out together: rows of one day are contiguous, in detect's order."""

    rows: Rows
    key: np.ndarray  # row → grid key
    exists: np.ndarray  # rows × age
    bounds: list[tuple[int, int]]  # per day: its rows


def stack_of(grid: Grid, days: Sequence[dt.date], lags: np.ndarray, allowed: np.ndarray, horizon: int,
           is_all: np.ndarray, dimension: np.ndarray) -> Stack:
    """`allowed`: days × steps, the steps judged that day (the others are held back)."""
    keys = len(grid.keys)
    day_of = np.repeat(np.arange(len(days)), keys)
    key = np.tile(np.arange(keys), len(days))
    ends = np.array([grid.column(d) for d in days])[day_of] - lags[grid.step[key]]
    cols = ends[:, None] - np.arange(horizon)[None, :]
    exists = grid.exists[key[:, None], cols]
    first = grid.first[key[:, None], cols].min(axis=1)
    keep = exists.any(axis=1) & allowed[day_of, grid.step[key]]
    order = np.lexsort((first[keep], day_of[keep]))
    chosen = np.flatnonzero(keep)[order]
    day_of, key, cols, exists = day_of[chosen], key[chosen], cols[chosen], exists[chosen]
    n, k = grid.n[key[:, None], cols], grid.k[key[:, None], cols]
    ordinals = np.array([d.toordinal() for d in days])
    bad = grid.bad_from[grid.step[key][:, None], cols] <= ordinals[day_of][:, None]
    n[bad], k[bad] = 0.0, 0.0
    rows = Rows(n, k, grid.annotated[key[:, None], cols] | bad, day_of * len(grid.steps) + grid.step[key],
                is_all[key], dimension[key])
    starts = np.searchsorted(day_of, np.arange(len(days) + 1))
    return Stack(rows, key, exists, [(int(a), int(b)) for a, b in itertools.pairwise(starts)])
