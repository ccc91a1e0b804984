"""Day frames behind the fake GA4: the demo business, a cheap synthetic bulk source, and an LRU day cache."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import date
from functools import lru_cache
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from connectors.demo import read_ga4_rows
from connectors.ga4.records import REPORTS
from tests.fakes.ga4_schema import DIMENSIONS, METRICS

# What a data source may return for one day: one frame that answers every request, or one frame per
# report keyed by the report's item dimension (landingPage / pagePath / eventName); the first key is
# the default for requests that name none of them.
DayFrames = pd.DataFrame | Mapping[str, pd.DataFrame]
DayFunction = Callable[[date], DayFrames]
ANY_ITEM = ""

_DEMO_COLUMNS = {"item": "", "channel": "sessionDefaultChannelGroup", "source": "sessionSource",
                 "medium": "sessionMedium", "device": "deviceCategory", "user_type": "newVsReturning",
                 "country": "country", "sessions": "sessions", "screen_page_views": "screenPageViews",
                 "event_count": "eventCount", "key_events": "keyEvents", "purchase_revenue": "purchaseRevenue"}


@runtime_checkable
class DaySource(Protocol):
    """An object whose `day_frames(day)` gives the day's frame(s), as an alternative to a plain callable."""

    def day_frames(self, day: date) -> DayFrames:
        """The day's finest-grain rows: GA4 dimension and metric columns named by API name."""


class DemoData:
    """The demo sourdough blog (connectors.demo), one frame per report keyed by its item dimension."""

    def __init__(self, seed: int = 7) -> None:
        self.seed = seed

    def __call__(self, day: date) -> dict[str, pd.DataFrame]:
        rows = [r for page in read_ga4_rows(day, day, seed=self.seed) for r in page]
        frames: dict[str, pd.DataFrame] = {}
        for report, item in REPORTS.items():
            mine = [r for r in rows if r.report == report]
            names = {field: (api or item) for field, api in _DEMO_COLUMNS.items()}
            frames[item] = pd.DataFrame({api: [getattr(r, field) for r in mine] for field, api in names.items()})
        return frames


def demo_data(seed: int = 7) -> DemoData:
    """The demo business's GA4 rows as fake-GA4 data: traffic (landingPage), pages (pagePath), events (eventName)."""
    return DemoData(seed)


_CHANNELS = (("Direct", "(direct)", "(none)"), ("Organic Search", "google", "organic"),
             ("Paid Social", "facebook", "cpc"), ("Email", "newsletter", "email"),
             ("Referral", "thefreshloaf.com", "referral"), ("Organic Social", "instagram", "social"))
_DEVICES = ("desktop", "mobile", "tablet")
_USER_TYPES = ("new", "returning")
_COUNTRIES = ("Canada", "France", "Germany", "Ireland", "United Kingdom", "United States")


@lru_cache(maxsize=4)
def _path_dtype(rows: int) -> pd.CategoricalDtype:
    # Zero-padded so that text order equals numeric order; built once per size (a million strings).
    return pd.CategoricalDtype([f"/p/{i:07d}/" for i in range(rows)])


def _codes(values: tuple[str, ...], codes: np.ndarray) -> pd.Categorical:
    order = np.argsort(values)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(values))
    return pd.Categorical.from_codes(rank[codes], categories=[values[i] for i in order])


class BulkData:
    """A synthetic property with exactly `rows_per_day` distinct pagePath rows a day (vectorised numpy)."""

    def __init__(self, rows_per_day: int, seed: int = 0) -> None:
        self.rows_per_day, self.seed = rows_per_day, seed

    def __call__(self, day: date) -> pd.DataFrame:
        n = self.rows_per_day
        rng = np.random.default_rng([self.seed, day.toordinal()])
        channel = rng.integers(0, len(_CHANNELS), n)
        sessions = 1 + rng.poisson(1.0, n)  # never 0, so no row is dropped as empty
        views = sessions + rng.poisson(1.5, n)
        key = rng.binomial(sessions, 0.05)
        return pd.DataFrame({
            "pagePath": pd.Categorical.from_codes(np.arange(n), dtype=_path_dtype(n)),
            "sessionDefaultChannelGroup": _codes(tuple(c for c, _, _ in _CHANNELS), channel),
            "sessionSource": _codes(tuple(s for _, s, _ in _CHANNELS), channel),
            "sessionMedium": _codes(tuple(m for _, _, m in _CHANNELS), channel),
            "deviceCategory": _codes(_DEVICES, rng.integers(0, len(_DEVICES), n)),
            "newVsReturning": _codes(_USER_TYPES, rng.integers(0, len(_USER_TYPES), n)),
            "country": _codes(_COUNTRIES, rng.integers(0, len(_COUNTRIES), n)),
            "sessions": sessions, "screenPageViews": views, "eventCount": views + sessions + key,
            "keyEvents": key.astype(np.float64), "purchaseRevenue": np.round(key * 12.5, 2),
        })


def bulk_data(rows_per_day: int, seed: int = 0) -> BulkData:
    """Synthetic data with `rows_per_day` distinct rows a day, cheap enough for a million-row benchmark."""
    if rows_per_day < 1:
        raise ValueError(f"rows_per_day must be at least 1, got {rows_per_day}")
    return BulkData(rows_per_day, seed)


def _categorical(column: pd.Series) -> pd.Series:
    """The column as a categorical whose categories are in text order (so groupby sorts by value)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        cats = column.cat.categories
        if cats.is_monotonic_increasing and cats.dtype == object:
            return column
    text = column if pd.api.types.infer_dtype(column, skipna=False) == "string" else column.astype(str)
    return text.astype("category")


def normalize(frame: pd.DataFrame) -> pd.DataFrame:
    """Known dimensions as sorted categoricals, known metrics as numbers; other columns untouched."""
    out = frame.copy(deep=False)
    for name in out.columns:
        if name in DIMENSIONS:
            out[name] = _categorical(out[name])
        elif name in METRICS:
            out[name] = pd.to_numeric(out[name])
    return out


class DayCache:
    """The source's normalised frames per day, least recently used days evicted (thread-safe)."""

    def __init__(self, source: DayFunction | DaySource, max_days: int = 400) -> None:
        self._fetch: DayFunction = source.day_frames if isinstance(source, DaySource) else source
        self._max_days = max_days
        self._lock = threading.Lock()
        self._days: OrderedDict[date, dict[str, pd.DataFrame]] = OrderedDict()

    def get(self, day: date) -> dict[str, pd.DataFrame]:
        """The day's frames keyed by item dimension (ANY_ITEM for a single frame)."""
        with self._lock:
            if day in self._days:
                self._days.move_to_end(day)
                return self._days[day]
        raw = self._fetch(day)
        frames = {ANY_ITEM: normalize(raw)} if isinstance(raw, pd.DataFrame) else {
            key: normalize(f) for key, f in raw.items()}
        with self._lock:
            self._days[day] = frames
            while len(self._days) > self._max_days:
                self._days.popitem(last=False)
        return frames
