"""Day-by-day landing: replace a day's raw rows, keep its report metadata, remember it is done."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, delete, select

from models.store import replace_window, upsert
from models.tables import Ga4ReportMeta, Ga4Row, SyncedDay, table_of


def replace_ga4_day(conn: Connection, property_id: str, day: dt.date, rows: Iterable[Mapping[str, Any]],
                    meta: Iterable[Mapping[str, Any]]) -> int:
    """Replace one day of one property: rows GA4 no longer reports (a split "(other)" row) disappear."""
    written = replace_window(conn, table_of(Ga4Row), day, day, rows, where={"property_id": [property_id]})
    conn.execute(delete(Ga4ReportMeta).where(Ga4ReportMeta.property_id == property_id,
                                             Ga4ReportMeta.date == day))
    upsert(conn, table_of(Ga4ReportMeta), [{**m, "property_id": property_id} for m in meta])
    return written


def mark_day(conn: Connection, source: str, account: str, day: dt.date, plan: str) -> None:
    """Record a day as committed with the request plan it was read with."""
    upsert(conn, table_of(SyncedDay), [{"source": source, "account": account, "day": day, "plan": plan}])


def finished_days(conn: Connection, source: str, account: str, since: dt.date, until: dt.date,
                  plan: str) -> set[dt.date]:
    """Days of since..until already committed with this plan (a changed plan reads them again)."""
    stmt = select(SyncedDay.day).where(SyncedDay.source == source, SyncedDay.account == account,
                                       SyncedDay.day >= since, SyncedDay.day <= until, SyncedDay.plan == plan)
    return set(conn.execute(stmt).scalars())
