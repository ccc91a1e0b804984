"""Dates in survey exports: ISO 8601 first, then day first (as Google Forms writes them outside the US)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo

_TZ_SUFFIX = re.compile(r"\s*(?:UTC|GMT)$", re.IGNORECASE)
_DAY_FIRST = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?")


def parse_date(value: str, tz: tzinfo, date_format: str | None, shown: str) -> tuple[datetime | None, str]:
    """(the value as UTC, "") or (None, what is wrong with it and the fix); `shown` is the value as a message
    may quote it."""
    if not value:
        return None, "the date is empty; fill it in or remove the row"
    if date_format is not None:
        try:
            return to_utc(datetime.strptime(value, date_format), tz), ""
        except ValueError:
            return None, (f"{shown} does not match date_format '{date_format}'; fix the row or the survey's "
                          f"date_format in journey.yaml")
    iso = _TZ_SUFFIX.sub("+00:00", value)
    try:
        return to_utc(datetime.fromisoformat(iso), tz), ""
    except ValueError:
        pass
    match = _DAY_FIRST.fullmatch(value)
    if match is not None:
        day, _, month, year, hour, minute, second = match.groups()
        try:
            when = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
        except ValueError:
            if int(month) > 12 >= int(day):
                fmt = "%m/%d/%Y %H:%M:%S" if hour else "%m/%d/%Y"
                return None, (f"{shown} is not a day-first date (it looks month first); set date_format: "
                              f"'{fmt}' for this survey in journey.yaml, or fix the row")
            return None, f"{shown} is not a calendar date; fix the row or remove it"
        return to_utc(when, tz), ""
    return None, (f"{shown} is not a date (expected ISO 8601 like 2026-09-14 10:31:00, or day first like "
                  f"14/09/2026 10:31:00); set date_format for this survey in journey.yaml, or fix the row")


def day_first_parts(value: str) -> tuple[int, int] | None:
    match = _DAY_FIRST.fullmatch(value)
    return None if match is None else (int(match.group(1)), int(match.group(3)))


def to_utc(when: datetime, tz: tzinfo) -> datetime:
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    return when.astimezone(UTC)
