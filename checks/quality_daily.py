"""Freshness and volume: each daily source's rows per day, read once, against the same weekday over the weeks
before (a day without rows is missing data only when that weekday always has rows; a fall or flood is a data
problem only when no chance explains it)."""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats
from sqlalchemy import Connection, DateTime, Table, text

from checks.quality import Check
from models.sources import SOURCES
from models.sources.registry import stream as raw_stream
from models.sync.rows import RawStream

# the stream whose days show that a source delivered, as each source declares it (none for answers that arrive
# when people answer)
DAILY: dict[str, tuple[RawStream, str]] = {s.name: (raw_stream(s.name, s.daily[0]), s.daily[1])
                                           for s in SOURCES if s.daily}
ZERO_DAY_ALPHA = 1e-3  # a day without rows is missing data when zero rows had at most this chance
HISTORY_WEEKS = 5  # the weekday history read before the window (freshness and volume use 4 weeks of it)


def read_history(conn: Connection, sources: Sequence[str], since: dt.date, until: dt.date,
                 ) -> dict[str, list[tuple[str, int]]]:
    """Each daily source's rows per day from HISTORY_WEEKS before `since` to `until`; for a source that delivered
    nothing in those weeks before the window, also the HISTORY_WEEKS up to its last day with rows (a gap longer
    than the weekday history is judged against the weeks before it, not against itself)."""
    start = since - dt.timedelta(weeks=HISTORY_WEEKS)
    out = {}
    for source in (s for s in DAILY if s in sources):
        rows = _counts(conn, source, start, until)
        if not any(day < since.isoformat() for day, _ in rows):
            stream, column = DAILY[source]
            last = conn.execute(text(f'SELECT MAX("{column}") FROM "{stream.table.name}" '
                                     f"WHERE \"{column}\" < '{start.isoformat()}'")).scalar()
            if last is not None:
                day = dt.date.fromisoformat(str(last)[:10])
                rows = _counts(conn, source, day - dt.timedelta(weeks=HISTORY_WEEKS), day) + rows
        out[source] = rows
    return out


def _counts(conn: Connection, source: str, since: dt.date, until: dt.date) -> list[tuple[str, int]]:
    return [(str(day)[:10], int(n)) for day, n in conn.execute(text(daily_history_query(
        source, since, until, conn.dialect.name)))]


def daily_history_query(source: str, since: dt.date, until: dt.date, dialect: str) -> str:
    """Rows per day of a source's daily stream since..until (what `build_suite`'s `history` holds)."""
    stream, day = DAILY[source]
    grouped = _day_of(stream.table, day, dialect)
    return (f'SELECT {grouped} AS day, COUNT(*) AS n FROM "{stream.table.name}" '
            f'WHERE "{day}" >= \'{since.isoformat()}\' AND "{day}" < \'{(until + dt.timedelta(days=1)).isoformat()}\' '
            f"GROUP BY {grouped}")


def _day_of(table: Table, column: str, dialect: str) -> str:
    """A date or timestamp column as its day, grouped natively (SQLite stores both as ISO text; PostgreSQL casts
    a timestamp to its date): a text conversion per row would cost more than the read."""
    if isinstance(table.c[column].type, DateTime):
        return f'CAST("{column}" AS DATE)' if dialect == "postgresql" else f'substr("{column}", 1, 10)'
    return f'"{column}"'


def daily_checks(gxe: Any, source: str, table: Table, usual: dict[str, tuple[float, list[int]]],
                 counts: dict[str, int], since: dt.date, last: dt.date, floor: float, ceiling: float) -> list[Check]:
    """Freshness and volume, two expectations on one batch: each matured day's rows (one read of the source's
    daily counts, `read_history`) beside the median of the same weekday over the 4 weeks before it.

    Freshness: every day on which the source always has rows has some (a weekday that usually has a few rows may
    have none by chance: days with e^-median > ZERO_DAY_ALPHA are not asked for). Volume: no day outside
    floor..ceiling × its usual and beyond chance (`implausible`)."""
    days = [(d, float(n), median * floor, median * ceiling, median, float(implausible(n, weeks)),
             float(math.exp(-median) <= ZERO_DAY_ALPHA))
            for d, (median, weeks) in usual.items() if median > 0 for n in [counts.get(d, 0)]]
    if not days:
        return []
    query = calendar(days, ["day", "n", "low", "high", "usual", "implausible", "expected"])
    out = []
    if any(expected for *_, expected in days):
        out.append(Check(f"{source} has data for every matured day {since.isoformat()}..{last.isoformat()}",
                         "freshness", source, table.name, query,
                         gxe.UnexpectedRowsExpectation(
                             unexpected_rows_query="SELECT day, usual FROM {batch} WHERE expected > 0 AND n = 0 "
                                                   "ORDER BY day"),
                         ("day",), f"days missing from {table.name}: run `journeymap backfill` for them once the "
                                   "source has them", keep=len(days)))
    out.append(Check(f"{source}'s rows per day stay within {floor:.0%}–{ceiling:.0%} of the same weekday's usual",
                     "volume", source, table.name, query,
                     gxe.UnexpectedRowsExpectation(unexpected_rows_query="SELECT day, n, usual FROM {batch} "
                                                                         "WHERE (n < low OR n > high) AND "
                                                                         "implausible > 0 ORDER BY day"),
                     ("day",), "a sudden fall or flood of rows is a data problem until proven otherwise: compare the "
                               "source's own reports for those days", keep=len(days)))
    return out


def usual_counts(history: list[tuple[str, int]], since: dt.date, last: dt.date) -> dict[str, tuple[float, list[int]]]:
    """Each matured day of the window → (median rows of the same weekday over the 4 weeks before it, those
    counts), for days with at least 3 of those weeks stored (days before the first stored day are unknown,
    not zero). The weeks are taken up to the source's last day with rows before the day: a day inside a gap is
    judged against the weeks before the gap, so a gap longer than 4 weeks never becomes its own "usual"."""
    counts = dict(history)
    first = min(counts, default="9999-12-31")
    delivered = sorted(d for d, n in counts.items() if n > 0)
    out = {}
    for d in window_days(since, last):
        i = bisect.bisect_left(delivered, d)
        if i == 0:
            continue  # nothing delivered before it: unknown
        date, before = dt.date.fromisoformat(d), delivered[i - 1]
        known = [k for k in ((date - dt.timedelta(days=7 * w)).isoformat()
                             for w in range(1, (date - dt.date.fromisoformat(first)).days // 7 + 1)) if k <= before][:4]
        weeks = [counts.get(k, 0) for k in known]
        if len(weeks) >= 3:
            out[d] = (float(np.median(weeks)), weeks)
    return out


def implausible(n: int, weeks: Sequence[int], alpha: float = 1e-3) -> bool:
    """Whether a day's count cannot be chance against the same weekdays: the exact conditional test of two
    Poisson rates (ten rows on a day that usually has two is a busy day, not broken data)."""
    before = sum(weeks)
    share = 1 / (1 + len(weeks))
    low = stats.binom.cdf(n, n + before, share)
    high = stats.binom.sf(n - 1, n + before, share)
    return bool(min(low, high) <= alpha)


def calendar(days: Sequence[tuple[Any, ...]], names: Sequence[str]) -> str:
    """A literal table of rows (a UNION ALL of SELECTs: portable to both databases)."""
    def literal(v: Any) -> str:
        return f"'{v}'" if isinstance(v, str) else repr(float(v))
    return " UNION ALL ".join("SELECT " + ", ".join(f"{literal(v)} AS {n}" for v, n in zip(row, names, strict=True))
                              for row in days)


def window_days(since: dt.date, last: dt.date) -> list[str]:
    """since..last as ISO days."""
    return [(since + dt.timedelta(days=i)).isoformat() for i in range((last - since).days + 1)]
