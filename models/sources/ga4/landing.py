"""Landing that replaces what a read of GA4 covers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, delete

from models.sources.ga4.streams import GA4_REPORTS
from models.sources.ga4.tables import Ga4ReportMeta, Ga4Row
from models.store import replace_window, upsert
from models.tables import table_of


def replace_ga4_day(conn: Connection, property_id: str, day: dt.date, rows: Iterable[Mapping[str, Any]],
                    meta: Iterable[Mapping[str, Any]]) -> int:
    """Replace one day of one property: rows GA4 no longer reports (a split "(other)" row) disappear. The delete
    names every report, so that it finds the day through the primary key (property, report, date, …) instead of
    reading the property's whole history: the cost of a day stays the same however long the history grows."""
    written = replace_window(conn, table_of(Ga4Row), day, day, rows,
                             where={"property_id": [property_id], "report": list(GA4_REPORTS)})
    conn.execute(delete(Ga4ReportMeta).where(Ga4ReportMeta.property_id == property_id,
                                             Ga4ReportMeta.date == day))
    upsert(conn, table_of(Ga4ReportMeta), [{**m, "property_id": property_id} for m in meta])
    return written
