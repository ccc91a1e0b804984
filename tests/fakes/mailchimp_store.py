"""The fake Mailchimp's activity storage: per campaign, numpy columns (recipient number, action code, epoch second)
appended in chunks, merged and indexed on first read, with a view per moment of the shared clock (what has
happened by then), and the monthly growth history derived from such columns."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from tests.fakes.mailchimp_wire import IntArray

ACTIONS = ("sent", "open", "click", "bounce", "unsub")
SENT, OPEN, CLICK, BOUNCE, UNSUB = range(len(ACTIONS))
CODES = {name: code for code, name in enumerate(ACTIONS)}
NEVER = np.iinfo(np.int64).max  # "no such moment": later than any clock reading

Int8Array = npt.NDArray[np.int8]
Columns = tuple[IntArray, Int8Array, IntArray]


@dataclass(frozen=True)
class FakeActivity:
    """One action of one recipient on one campaign; `email` is the plain address."""

    campaign_id: str
    email: str
    action: str  # one of ACTIONS
    timestamp: datetime  # UTC (a naive value is taken as UTC)


def rate(part: int, whole: int) -> float:
    return part / whole if whole else 0


def _distinct_sorted(values: IntArray) -> int:
    return 0 if not len(values) else 1 + int(np.count_nonzero(np.diff(values)))


def groups(sorted_keys: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """(keys, starts, ends) of the runs of equal values in a sorted array."""
    if not len(sorted_keys):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    change = np.flatnonzero(np.diff(sorted_keys)) + 1
    starts = np.concatenate(([0], change)).astype(np.int64)
    ends = np.concatenate((change, [len(sorted_keys)])).astype(np.int64)
    return sorted_keys[starts], starts, ends


def empty_columns() -> Columns:
    return np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros(0, np.int64)


@dataclass(frozen=True, slots=True)
class Stats:
    """One campaign's cumulative report numbers."""

    sent: int
    opens: int
    unique_opens: int
    clicks: int
    unique_clicks: int
    bounces: int
    unsubs: int
    last_open: int | None
    last_click: int | None

    @property
    def delivered(self) -> int:
        return max(0, self.sent - self.bounces)

    @property
    def open_rate(self) -> float:
        return rate(self.unique_opens, self.delivered)

    @property
    def click_rate(self) -> float:
        return rate(self.unique_clicks, self.delivered)


class CampaignIndex:
    """One campaign's rows sorted by (recipient, time, action) and grouped by recipient, with its report numbers.

    `presorted`: the columns are already in that order (a clock view filtered from a sorted index).
    """

    def __init__(self, emails: IntArray, actions: Int8Array, times: IntArray, *, presorted: bool = False) -> None:
        if presorted:
            self.e, self.a, self.t = emails, actions, times
        else:
            order = np.lexsort((actions, times, emails))
            self.e, self.a, self.t = emails[order], actions[order], times[order]
        self.recipients, self.starts, self.ends = groups(self.e)
        self.is_event = (self.a == OPEN) | (self.a == CLICK) | (self.a == BOUNCE)
        counts = np.bincount(self.a, minlength=len(ACTIONS)) if len(self.a) else np.zeros(len(ACTIONS), np.int64)
        opens, clicks = self.a == OPEN, self.a == CLICK
        self.stats = Stats(
            sent=int(counts[SENT]), opens=int(counts[OPEN]), unique_opens=_distinct_sorted(self.e[opens]),
            clicks=int(counts[CLICK]), unique_clicks=_distinct_sorted(self.e[clicks]), bounces=int(counts[BOUNCE]),
            unsubs=int(counts[UNSUB]), last_open=int(self.t[opens].max()) if counts[OPEN] else None,
            last_click=int(self.t[clicks].max()) if counts[CLICK] else None)
        self.counts = counts

    @cached_property
    def sorted_times(self) -> IntArray:
        """Every row's time, ascending: how many rows have happened by a moment is one binary search."""
        return np.sort(self.t)

    def visible_count(self, now: int) -> int:
        return int(np.searchsorted(self.sorted_times, now, side="right"))

    def until(self, now: int) -> CampaignIndex:
        """The rows with time <= now, still in index order (a filter keeps a sort)."""
        keep = self.t <= now
        return CampaignIndex(self.e[keep], self.a[keep], self.t[keep], presorted=True)


class CampaignActivity:
    """One campaign's activity rows as numpy columns, appended in chunks and merged (and indexed) on first read."""

    VIEWS = 8  # clock views kept per campaign (a daily run reads at one moment; a few stay warm for going back)

    def __init__(self) -> None:
        self._chunks: list[Columns] = []
        self._index: CampaignIndex | None = None
        self._views: OrderedDict[int, CampaignIndex] = OrderedDict()

    def append(self, emails: IntArray, actions: Int8Array, times: IntArray) -> None:
        if len(emails):
            self._chunks.append((emails.astype(np.int64), actions.astype(np.int8), times.astype(np.int64)))
            self._index = None
            self._views.clear()

    def __len__(self) -> int:
        return sum(len(chunk[0]) for chunk in self._chunks)

    def columns(self) -> Columns:
        if len(self._chunks) > 1:
            self._chunks = [(np.concatenate([c[0] for c in self._chunks]),
                             np.concatenate([c[1] for c in self._chunks]),
                             np.concatenate([c[2] for c in self._chunks]))]
        if not self._chunks:
            return empty_columns()
        return self._chunks[0]

    def index(self, now: int | None = None) -> CampaignIndex:
        """Every row (now None), or only the rows that have happened by `now` (epoch seconds)."""
        if self._index is None:
            self._index = CampaignIndex(*self.columns())
        if now is None:
            return self._index
        # Rows only ever become visible as time passes, so the number visible names the visible set exactly: a view
        # cached under that number is right for every clock reading that shows as many rows, forwards or back.
        visible = self._index.visible_count(now)
        if visible == len(self._index.t):
            return self._index
        view = self._views.get(visible)
        if view is None:
            view = self._views[visible] = self._index.until(now)
            if len(self._views) > self.VIEWS:
                self._views.popitem(last=False)
        else:
            self._views.move_to_end(visible)
        return view


def _months(seconds: IntArray) -> IntArray:
    return seconds.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)


def growth_history(list_id: str, e: IntArray, a: Int8Array, t: IntArray) -> list[dict[str, Any]]:
    """Monthly growth, oldest first, from a list's rows (campaign activity and member events alike).

    A recipient joins in the month of their first row (`optins`) and leaves at their first unsubscribe
    (`unsubscribed`) or hard bounce (`cleaned`), whichever came first; `subscribed` is the count at the end of the
    month and `existing` the count at its start.
    """
    if not len(e):
        return []
    order = np.lexsort((t, e))
    e, a, t = e[order], a[order], t[order]
    people, starts, _ = groups(e)
    left = {}
    for code in (UNSUB, BOUNCE):
        first = np.full(len(people), NEVER, np.int64)
        mask = a == code
        np.minimum.at(first, np.searchsorted(people, e[mask]), t[mask])
        left[code] = first
    unsub = (left[UNSUB] != NEVER) & (left[UNSUB] <= left[BOUNCE])
    cleaned = (left[BOUNCE] != NEVER) & (left[BOUNCE] < left[UNSUB])
    joined, unsub_m, cleaned_m = _months(t[starts]), _months(left[UNSUB][unsub]), _months(left[BOUNCE][cleaned])
    lo = int(joined.min())
    hi = int(max(joined.max(), unsub_m.max(initial=lo), cleaned_m.max(initial=lo)))
    n = hi - lo + 1
    optins = np.bincount(joined - lo, minlength=n)
    unsubscribed = np.bincount(unsub_m - lo, minlength=n)
    cleaned_n = np.bincount(cleaned_m - lo, minlength=n)
    subscribed = np.cumsum(optins - unsubscribed - cleaned_n)
    history: list[dict[str, Any]] = []
    for i in range(n):
        month = lo + i
        history.append({
            "list_id": list_id, "month": f"{1970 + month // 12:04d}-{month % 12 + 1:02d}",
            "existing": int(subscribed[i - 1]) if i else 0, "imports": 0, "optins": int(optins[i]),
            "subscribed": int(subscribed[i]), "unsubscribed": int(unsubscribed[i]), "reconfirm": 0,
            "cleaned": int(cleaned_n[i]), "pending": 0, "deleted": 0, "transactional": 0})
    return history
