"""GA4 steps by page: the cells that shape a step's mix-adjusted expectation (checks.bottlenecks.MIX_ONLY)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select

from models.config import JourneyMap
from models.frames import read_frame
from models.sources import stream_of
from models.sources.ga4.mapping import GA4_METRICS, rule_mask
from models.sources.ga4.tables import Ga4Row
from models.tables import table_of

# the GA4 reports whose item is a page: where a session landed (traffic) or which page was viewed (pages)
PAGE_DIMENSION = {"traffic": "landing", "pages": "page"}
CELL_COLUMNS = ["date", "step", "segment", "n", "k"]


def page_rows(conn: Connection, since: dt.date, until: dt.date, account: str | None) -> pd.DataFrame:
    """GA4's traffic and pages report rows of since..until (of the map's property when known)."""
    t = table_of(Ga4Row)
    stmt = select(t.c.report, t.c.date, t.c.item, t.c.channel, t.c.source, t.c.medium, t.c.sessions,
                  t.c.screen_page_views, t.c.event_count, t.c.key_events, t.c.purchase_revenue).where(
        t.c.date >= since, t.c.date <= until, t.c.report.in_(list(PAGE_DIMENSION)))
    if account is not None:
        stmt = stmt.where(t.c.property_id == account)
    return read_frame(conn, stmt, ("report", "item", "channel", "source", "medium"), shared=("date",))


def page_cells(raw: pd.DataFrame, journey_map: JourneyMap) -> pd.DataFrame:
    """(date, step, segment, n, k) of each GA4 step by its page: `landing=<page>` for a touchpoint read from the
    traffic report, `page=<path>` for one read from the pages report.

    Only steps whose success is the touchpoint's own metric have them (n and k are read from the same rows, so
    each page has its own rate); a step whose k is the next touchpoint's volume cannot be split by page. `raw`
    holds GA4 report rows: report, date, item, channel, source, medium and the metric columns.
    """
    parts = []
    for _, tp in journey_map.touchpoints():
        report = stream_of(tp.source, tp.match) if tp.source == "ga4" else ""
        if report not in PAGE_DIMENSION or not tp.success or raw.empty:
            continue
        rows = raw[rule_mask(raw, tp)]
        cells = pd.DataFrame({"date": rows["date"], "item": rows["item"].astype(str),
                              "n": rows[GA4_METRICS[tp.volume]].astype(float),
                              "k": rows[GA4_METRICS[tp.success]].astype(float)})
        cells = cells.groupby(["date", "item"], as_index=False)[["n", "k"]].sum()
        parts.append(cells.assign(step=tp.id, segment=PAGE_DIMENSION[report] + "=" + cells["item"],
                                  k=np.minimum(cells["k"], cells["n"]))[CELL_COLUMNS])
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=CELL_COLUMNS)


def stored_page_cells(conn: Connection, since: dt.date, until: dt.date, account: str | None,
                      journey_map: JourneyMap) -> pd.DataFrame:
    """The page cells of since..until from the stored rows (none when no touchpoint reads GA4)."""
    if not any(tp.source == "ga4" for _, tp in journey_map.touchpoints()):
        return pd.DataFrame(columns=CELL_COLUMNS)
    return page_cells(page_rows(conn, since, until, account), journey_map)
