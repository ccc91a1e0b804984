"""The days a run reads: "today" in the map's timezone, and the range a backfill may load."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from models.config import JourneyMap


def today_in(journey_map: JourneyMap) -> dt.date:
    """'Today' in the map's timezone: the day the flow run was scheduled for (a scheduled run that starts late,
    or a catch-up run, reads the window of its own day), else the wall clock's."""
    from prefect.runtime import flow_run

    zone = ZoneInfo(journey_map.business.timezone)
    scheduled = flow_run.scheduled_start_time if flow_run.id else None
    if isinstance(scheduled, dt.datetime):
        return (scheduled if scheduled.tzinfo else scheduled.replace(tzinfo=dt.UTC)).astimezone(zone).date()
    return dt.datetime.now(zone).date()


def check_range(start: dt.date, end: dt.date, *, today: dt.date) -> None:
    """A backfill range must run forwards and end by yesterday (today is not over: no source has all of it)."""
    if end < start:
        raise ValueError(f"the end date {end} is before the start date {start}; swap them")
    if end >= today:
        raise ValueError(f"the end date {end} is not over yet (today is {today} in the map's timezone); the last "
                         f"day a backfill can load is {today - dt.timedelta(days=1)}")
