"""Read-side queries over the stored map and facts."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Connection, func, select

from models.tables import TouchpointDaily, TouchpointMetricDaily, UnmappedDaily, table_of


def facts(conn: Connection, since: dt.date, until: dt.date, segment: str = "all") -> pd.DataFrame:
    """touchpoint_daily rows of one segment for since..until (inclusive)."""
    t = table_of(TouchpointDaily)
    stmt = select(t).where(t.c.date >= since, t.c.date <= until, t.c.segment == segment)
    return pd.read_sql(stmt, conn)


def metric_totals(conn: Connection, since: dt.date, until: dt.date) -> pd.DataFrame:
    """Each touchpoint's every metric summed over since..until (touchpoint_id, metric, value)."""
    t = table_of(TouchpointMetricDaily)
    stmt = (select(t.c.touchpoint_id, t.c.metric, func.sum(t.c.value).label("value"))
            .where(t.c.date >= since, t.c.date <= until).group_by(t.c.touchpoint_id, t.c.metric))
    return pd.read_sql(stmt, conn)


def unmapped(conn: Connection, since: dt.date, until: dt.date) -> pd.DataFrame:
    """Volume that matched no touchpoint, per source, stream and item, for since..until."""
    t = table_of(UnmappedDaily)
    stmt = (select(t.c.source, t.c.stream, t.c.item, func.sum(t.c.volume).label("volume"))
            .where(t.c.date >= since, t.c.date <= until)
            .group_by(t.c.source, t.c.stream, t.c.item))
    return pd.read_sql(stmt, conn)


def last_fact_date(conn: Connection) -> dt.date | None:
    """The newest date in touchpoint_daily, or None when there are no facts yet."""
    value = conn.execute(select(func.max(TouchpointDaily.date))).scalar()
    if isinstance(value, str):  # SQLite returns aggregates of dates as text
        return dt.date.fromisoformat(value)
    return value


def table_counts(conn: Connection, names: list[str]) -> dict[str, int]:
    """Row counts of the named tables."""
    from models.tables import Base

    tables = Base.metadata.tables
    return {n: int(conn.execute(select(func.count()).select_from(tables[n])).scalar_one()) for n in names}


def facts_all_segments(conn: Connection, since: dt.date, until: dt.date) -> pd.DataFrame:
    """touchpoint_daily rows of every segment for since..until (inclusive)."""
    t = TouchpointDaily.__table__
    return pd.read_sql(select(t).where(t.c.date >= since, t.c.date <= until), conn)
