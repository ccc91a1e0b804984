"""What every source's mapping shares: the fact columns, segment keys, business days, rule matching, sums."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from models.config import Persona, Touchpoint

ALL = "all"
FACT_COLUMNS = ["date", "touchpoint_id", "segment", "journey_id", "volume", "success", "events", "revenue"]
METRIC_COLUMNS = ["date", "touchpoint_id", "journey_id", "metric", "value"]  # every metric of a touchpoint, per day


def segment_key(dimension: str, value: str) -> str:
    """The segment key used in touchpoint_daily, e.g. 'device=mobile'."""
    return f"{dimension}={value}"


def persona_segment(persona: Persona) -> str:
    return f"persona={persona.name}"


def between(ts: pd.Series, tz: ZoneInfo, since: dt.date, until: dt.date) -> tuple[pd.Series, pd.Series]:
    """Business-day dates of naive-UTC timestamps, and the mask of those inside the window."""
    local = pd.to_datetime(ts).dt.tz_localize("UTC").dt.tz_convert(tz).dt.date
    return local, (local >= since) & (local <= until)


def fullmatch(series: pd.Series, pattern: str) -> pd.Series:
    """Rows whose value fully matches the pattern; each distinct value is tested once."""
    regex = re.compile(pattern)
    values = series if isinstance(series.dtype, pd.CategoricalDtype) else series.astype("category")
    hits = [v for v in values.cat.categories if regex.fullmatch(str(v))]
    return values.isin(hits)


def segment_facts(frame: pd.DataFrame, tp: Touchpoint, journey_id: str, dims: list[str],
                   personas: list[str]) -> pd.DataFrame:
    """Sum a touchpoint's rows per date for ALL, each dimension value and each persona."""
    metrics = ["volume", "success", "events", "revenue"]
    parts = [sum_by(frame, ["date"], metrics).assign(segment=ALL)]
    for dim in dims:
        by = sum_by(frame, ["date", dim], metrics)
        by["segment"] = [segment_key(dim, v) for v in by[dim]]
        parts.append(by.drop(columns=[dim]))
    for key in personas:
        parts.append(sum_by(frame[frame[key]], ["date"], metrics).assign(segment=key))
    facts = concat(parts)
    if tp.success is None:
        facts["success"] = np.nan
    return facts.assign(touchpoint_id=tp.id, journey_id=journey_id)[FACT_COLUMNS]


def sum_by(frame: pd.DataFrame, keys: list[str], metrics: list[str]) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=[*keys, *metrics])
    return frame.groupby(keys, as_index=False, observed=True)[metrics].sum(min_count=1)


def concat(parts: Iterable[pd.DataFrame], columns: list[str] = FACT_COLUMNS) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def daily_facts(daily: pd.DataFrame, tp: Touchpoint, journey_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """From a touchpoint's metrics per day (date index, a column per metric, plus `events` and `revenue`): its
    ALL-segment facts (volume and success as the map names them) and every metric as rows (non-zero only)."""
    facts = pd.DataFrame({"date": daily.index, "segment": ALL, "touchpoint_id": tp.id, "journey_id": journey_id,
                          "volume": daily[tp.volume].to_numpy(dtype=float),
                          "success": daily[tp.success].to_numpy(dtype=float) if tp.success else np.nan,
                          "events": daily["events"].to_numpy(dtype=float),
                          "revenue": daily["revenue"].to_numpy(dtype=float)})[FACT_COLUMNS]
    long = daily.drop(columns=["events"]).rename_axis("date").reset_index() \
        .melt(id_vars="date", var_name="metric", value_name="value")
    long = long[long["value"] != 0].assign(touchpoint_id=tp.id, journey_id=journey_id)[METRIC_COLUMNS]
    return facts, long


def unmapped_items(left: pd.DataFrame, item: str, source: str, stream: str, weight: str | None = None
                   ) -> pd.DataFrame:
    """Volume no touchpoint took, per day and item (an email's title, a product's name): each row counts one,
    or its `weight`."""
    grouped = left.groupby(["date", item], observed=True)
    counts = grouped[weight].sum() if weight else grouped.size()
    return (counts.rename("volume").astype(float).reset_index().rename(columns={item: "item"})
            .assign(source=source, stream=stream))
