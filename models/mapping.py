"""Map raw source records onto touchpoints: `touchpoint_daily` per segment, plus unmapped volume.

Each source maps in its own module (`mapping_ga4`, `mapping_search`, `mapping_email`, `mapping_sales`, and
`feedback` for surveys); this one runs them over a window and replaces the window's facts.
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
from models.feedback import map_surveys, read_surveys
from models.mapping_email import SEND_LOOKBACK, map_mailchimp, read_mailchimp
from models.mapping_ga4 import map_ga4, read_ga4
from models.mapping_sales import map_stripe, read_stripe
from models.mapping_search import map_search_console, read_search_console
from models.store import replace_window
from models.tables import TouchpointDaily, TouchpointMetricDaily, UnmappedDaily, table_of

# How far before the first day a sync read its facts may change: an email's opens count for its send day (a
# cohort), so an open read today changes the facts of the emails sent up to SEND_LOOKBACK before it.
REACH = {"mailchimp": SEND_LOOKBACK}


def facts_reach(source: str, first_read: dt.date) -> dt.date:
    """The first day whose facts a sync that read from `first_read` on may change."""
    return first_read - REACH.get(source, dt.timedelta(0))


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

    `accounts` names, per source, the account whose rows count (the GA4 property); None reads all.
    """
    tz = ZoneInfo(journey_map.business.timezone)
    frames: list[pd.DataFrame] = []
    unmapped: list[pd.DataFrame] = []
    result = MappingResult()
    metrics: list[pd.DataFrame] = []
    for source, reader, mapper in (("ga4", read_ga4, map_ga4),
                                   ("search_console", read_search_console, map_search_console),
                                   ("mailchimp", read_mailchimp, map_mailchimp),
                                   ("stripe", read_stripe, map_stripe), ("surveys", read_surveys, map_surveys)):
        raw = reader(conn, since, until, tz, (accounts or {}).get(source))
        tps = [(j.id, tp) for j, tp in journey_map.touchpoints() if tp.source == source]
        facts, left, source_metrics = mapper(raw, tps, journey_map)
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
