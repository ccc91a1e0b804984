"""GA4 report rows → touchpoint facts: rule matching on the report's item and traffic dimensions, per segment."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select

from models.config import JourneyMap, Persona, Touchpoint
from models.facts import METRIC_COLUMNS, concat, fullmatch, persona_segment, segment_facts
from models.frames import read_frame
from models.sources import stream_of
from models.sources.ga4.streams import GA4_REPORTS
from models.sources.ga4.tables import Ga4Row
from models.tables import table_of

GA4_METRICS = {"sessions": "sessions", "screenPageViews": "screen_page_views", "eventCount": "event_count",
               "keyEvents": "key_events", "purchaseRevenue": "purchase_revenue"}
GA4_RULE_COLUMNS = {"landing_page": "item", "page_path": "item", "event_name": "item",
                    "channel": "channel", "source": "source", "medium": "medium"}
GA4_REPORT_VOLUME = {"traffic": "sessions", "pages": "screen_page_views", "events": "event_count"}


def read_ga4(conn: Connection, since: dt.date, until: dt.date, _tz: ZoneInfo, account: str | None) -> pd.DataFrame:
    t = table_of(Ga4Row)
    # every column but the row key (a 40-character digest per row that nothing downstream reads)
    stmt = select(*(c for c in t.columns if c.name != "row_key")).where(t.c.date >= since, t.c.date <= until)
    if account is not None:  # every report named: the primary key (property, report, date, …) finds the window
        stmt = stmt.where(t.c.property_id == account, t.c.report.in_(GA4_REPORTS))
    # few distinct values: rules test each once
    return read_frame(conn, stmt, ("property_id", "report", "item", "channel", "source", "medium", "device",
                                   "user_type", "country"), shared=("date",))


def map_ga4(raw: pd.DataFrame, tps: list[tuple[str, Touchpoint]],
            journey_map: JourneyMap) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    dims = [d for d in journey_map.segments if d in ("device", "channel", "user_type", "country")]
    matched = pd.Series(False, index=raw.index)
    out: list[pd.DataFrame] = []
    persona_masks = {persona_segment(p): _persona_mask(raw, p) for p in journey_map.personas}
    for journey_id, tp in tps:
        mask = rule_mask(raw, tp)
        matched |= mask
        rows = raw[mask]
        frame = pd.DataFrame({
            "date": rows["date"], "volume": rows[GA4_METRICS[tp.volume]].astype(float),
            "success": rows[GA4_METRICS[tp.success]].astype(float) if tp.success else np.nan,
            "events": rows["event_count"].astype(float), "revenue": rows["purchase_revenue"].astype(float),
        })
        for dim in dims:
            frame[dim] = rows[dim]
        for key, pmask in persona_masks.items():
            frame[key] = pmask[mask]
        out.append(segment_facts(frame, tp, journey_id, dims, list(persona_masks)))
    left = raw[~matched]
    volume = np.select([left["report"] == r for r in GA4_REPORT_VOLUME],
                       [left[c].astype(float) for c in GA4_REPORT_VOLUME.values()], default=0.0)
    unmapped = pd.DataFrame({"date": left["date"], "source": "ga4", "stream": left["report"],
                             "item": left["item"].astype(str).str.slice(0, 500), "volume": volume})
    keys = ["date", "source", "stream", "item"]
    return (concat(out), unmapped.groupby(keys, as_index=False, observed=True)[["volume"]].sum(),
            pd.DataFrame(columns=METRIC_COLUMNS))  # a page's one metric is its volume: nothing beside it


def rule_mask(raw: pd.DataFrame, tp: Touchpoint) -> pd.Series:
    """The report rows (read_ga4) a touchpoint's rule takes: its report, every key a full match."""
    mask = raw["report"] == stream_of("ga4", tp.match)
    for key, pattern in tp.match.items():
        mask &= fullmatch(raw[GA4_RULE_COLUMNS[key]], str(pattern))
    return mask


def _persona_mask(raw: pd.DataFrame, persona: Persona) -> pd.Series:
    mask = pd.Series(True, index=raw.index)
    for dim, value in persona.where.items():
        mask &= raw[dim].astype(str) == value if dim in raw else False
    return mask
