"""GA4's landing streams: what its records become as rows of its tables, and which checks they pass
first (records that fail go to the quarantine; see `models.sync.rows`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from models.sources.ga4.tables import Ga4Row
from models.store import row_key
from models.sync.rows import (
    BadRecord,
    RawStream,
    Record,
    choice,
    day_of,
    number,
)
from models.tables import table_of

GA4_REPORTS = ("traffic", "pages", "events")

GA4_DIMENSIONS = ("item", "channel", "source", "medium", "device", "user_type", "country")

GA4_COUNTS = ("sessions", "screen_page_views", "event_count")

GA4_AMOUNTS = ("key_events", "purchase_revenue")

def _ga4_row(r: Record) -> dict[str, Any]:
    if not isinstance(r["date"], dt.date):
        raise BadRecord(f"date must be a date, got {r['date']!r}")
    dims = {d: str(r[d]) for d in GA4_DIMENSIONS}
    return {"property_id": str(r["property_id"]), "report": choice(r, "report", GA4_REPORTS), "date": r["date"],
            "row_key": row_key(*dims.values()), **dims,
            **{m: number(r, m, whole=True) for m in GA4_COUNTS},
            **{m: number(r, m, whole=False) for m in GA4_AMOUNTS}}

GA4_ROWS = RawStream("ga4", "rows", table_of(Ga4Row), _ga4_row,
                     lambda r: f"{r['report']}|{r['date']}|{r['item']}", day_of("date"))
