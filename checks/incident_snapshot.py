"""An incident's snapshot: its reading on one judged day (rate now with its interval, the usual rate, since = its
first bad day, money per day, through which matured day), stored in the incident's payload and rendered by every
surface — Slack, the HTML map, the PNG, the summaries and the incident tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Snapshot:
    """An incident's reading on one judged day: what every surface shows of it.

    `since` is the incident's first bad day: the first day of the window that opened it, kept while the
    incident stays open (a reopened incident starts a new one). `through` is the newest matured day read.
    """

    rate: float | None
    low: float | None
    high: float | None
    baseline: float | None
    since: str | None  # ISO dates, as stored
    through: str | None
    lost_per_day: float
    impact_per_day: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def moved_beyond(self, shown: Snapshot) -> bool:
        """True when this reading's rate left the interval of the reading `shown`."""
        if self.rate is None or shown.low is None or shown.high is None:
            return False
        return not shown.low <= self.rate <= shown.high


def number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else float(value)


def snapshot_of(payload: Mapping[str, Any]) -> Snapshot:
    """The reading every surface shows of an incident (or an event): the one published last — at opening, on a
    severity change, or when a day's reading left its interval. Payloads stored before snapshots existed are
    read from the finding's own fields."""
    for name in ("shown", "snapshot"):
        stored = payload.get(name)
        if isinstance(stored, Mapping):
            return _stored(stored)
    return Snapshot(number(payload.get("p_w")), number(payload.get("p_lo")), number(payload.get("p_hi")),
                    number(payload.get("p0")), payload.get("since"), payload.get("through"),
                    float(payload.get("lost_per_day") or 0), float(payload.get("impact_per_day") or 0))


def _stored(values: Mapping[str, Any]) -> Snapshot:
    return Snapshot(number(values.get("rate")), number(values.get("low")), number(values.get("high")),
                    number(values.get("baseline")), values.get("since"), values.get("through"),
                    float(values.get("lost_per_day") or 0), float(values.get("impact_per_day") or 0))


def reading_of_row(row: pd.Series, as_of: dt.date, first_bad_day: str | None) -> Snapshot:
    lag = row.get("lag_days")
    through = (as_of - dt.timedelta(days=int(lag))).isoformat() if lag is not None and pd.notna(lag) else None
    since = row.get("since")
    since = since.isoformat() if isinstance(since, dt.date) else since
    return Snapshot(number(row.get("p_w")), number(row.get("p_lo")), number(row.get("p_hi")),
                    number(row.get("p0")), first_bad_day or since, through,
                    float(number(row.get("lost_per_day")) or 0), float(number(row.get("impact_per_day")) or 0))


def with_snapshot(payload: dict[str, Any], snapshot: Snapshot, shown: Snapshot) -> dict[str, Any]:
    return {**payload, "snapshot": snapshot.as_dict(), "shown": shown.as_dict()}


def published(payload: dict[str, Any], snapshot: Snapshot) -> dict[str, Any]:
    return with_snapshot(payload, snapshot, snapshot)
