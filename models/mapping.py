"""Map raw source records onto touchpoints: `touchpoint_daily` per segment, plus unmapped volume.

Each source maps in its own module (`models/sources/<source>/mapping.py`, listed by `models.sources.registry`);
this one runs them over a window and replaces the window's facts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection

from models.config import JourneyMap
from models.facts import ALL, FACT_COLUMNS, METRIC_COLUMNS, concat, persona_segment, segment_key
from models.sources.registry import PARTS
from models.store import replace_window
from models.tables import TouchpointDaily, TouchpointMetricDaily, UnmappedDaily, table_of


def facts_reach(source: str, first_read: dt.date) -> dt.date:
    """The first day whose facts a sync that read from `first_read` on may change (a source whose later reads
    change earlier days' facts says how far back: its parts' `reach`)."""
    return first_read - PARTS[source].reach


@dataclass
class MappingResult:
    """What one mapping pass wrote."""

    facts: int = 0
    metrics: int = 0
    unmapped: int = 0
    unmapped_volume: dict[str, float] = field(default_factory=dict)  # per source
    mapped_volume: dict[str, float] = field(default_factory=dict)


def map_window(conn: Connection, journey_map: JourneyMap, since: dt.date, until: dt.date,
               accounts: Mapping[str, str | None] | None = None) -> MappingResult:
    """Recompute facts and unmapped volume for since..until from the raw tables (idempotent).

    `accounts` names, per source, the account whose rows count (a property, a site); None reads all.
    """
    tz = ZoneInfo(journey_map.business.timezone)
    frames: list[pd.DataFrame] = []
    unmapped: list[pd.DataFrame] = []
    result = MappingResult()
    metrics: list[pd.DataFrame] = []
    for source, parts in PARTS.items():
        raw = parts.read(conn, since, until, tz, (accounts or {}).get(source))
        tps = [(j.id, tp) for j, tp in journey_map.touchpoints() if tp.source == source]
        facts, left, source_metrics = parts.map(raw, tps, journey_map)
        frames.append(facts)
        metrics.append(source_metrics)
        unmapped.append(left)
        result.unmapped_volume[source] = float(left["volume"].sum()) if len(left) else 0.0
        mapped = facts[facts["segment"] == ALL]["volume"].sum() if len(facts) else 0.0
        result.mapped_volume[source] = float(mapped)
    facts = concat(frames)
    left = concat(unmapped, ["date", "source", "stream", "item", "volume"])
    result.metrics = replace_window(conn, table_of(TouchpointMetricDaily), since, until,
                                    _records(concat(metrics, METRIC_COLUMNS)))
    result.facts = replace_window(conn, table_of(TouchpointDaily), since, until, _records(facts))
    result.unmapped = replace_window(conn, table_of(UnmappedDaily), since, until, _records(left))
    return result


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Plain Python values (no numpy scalars, NaN → None) for the database driver."""
    plain = frame.astype(object)
    plain[frame.isna()] = None
    return [{str(k): v for k, v in row.items()} for row in plain.to_dict("records")]


__all__ = ["ALL", "FACT_COLUMNS", "MappingResult", "map_window", "persona_segment", "segment_key"]
