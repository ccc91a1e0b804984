"""The day ledger (`synced_days`): which days of a stream were read on which run, whether they had settled, which
came back empty, and so which days the next run must read.

`--as-of D` means today is D: a stream's history is the `history_days` days D−history … D−1. A day is read
again on every run until a read happens `settle_days` or more after it (late data no longer changes it); a
day that came back empty although the source had data before it is asked again for `empty_retry_days`, then
recorded as a confirmed gap. A backfill reads its days whatever their mark, except days already settled with data
under the same request plan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace

from sqlalchemy import Connection, func, select, update

from models.config import SourceSettings
from models.store import upsert
from models.tables import SyncedDay, table_of

OK, EMPTY, GAP = "ok", "empty", "gap"


@dataclass(frozen=True)
class Stream:
    """Whose days a ledger row is about: a source's stream of one account."""

    source: str
    stream: str
    account: str


@dataclass(frozen=True)
class DayMark:
    """One day of a stream as the ledger has it."""

    day: dt.date
    plan: str = ""
    read_on: dt.date | None = None
    settled: bool = False
    rows: int = 0
    status: str = OK
    empty_since: dt.date | None = None


@dataclass(frozen=True)
class Reads:
    """What a run reads of a stream: `days`, and the empty days whose retries ran out (now confirmed gaps)."""

    days: list[dt.date]
    gaps: list[dt.date]


def history(as_of: dt.date, settings: SourceSettings) -> tuple[dt.date, dt.date]:
    """The days a stream keeps: the `history_days` full days before `as_of` (today is not over, so not read)."""
    return as_of - dt.timedelta(days=settings.history_days), as_of - dt.timedelta(days=1)


def days_between(since: dt.date, until: dt.date) -> Iterator[dt.date]:
    for i in range((until - since).days + 1):
        yield since + dt.timedelta(days=i)


def plan_reads(marks: Mapping[dt.date, DayMark], since: dt.date, until: dt.date, as_of: dt.date,
               settings: SourceSettings, *, plan: str = "", backfill: bool = False) -> Reads:
    """The days of since..until to read now, and the empty days to record as gaps (their retries ran out)."""
    days, gaps = [], []
    for day in days_between(since, until):
        mark = marks.get(day)
        if _needs_read(mark, as_of, settings, plan, backfill):
            days.append(day)
        elif mark is not None and mark.status == EMPTY:
            gaps.append(day)
    return Reads(days, gaps)


def _needs_read(mark: DayMark | None, as_of: dt.date, settings: SourceSettings, plan: str, backfill: bool) -> bool:
    if mark is None or mark.plan != plan or mark.read_on is None:
        return True
    if mark.status == GAP:
        return backfill
    if mark.status == EMPTY:
        return backfill or _retrying(mark, as_of, settings)
    return not mark.settled


def _retrying(mark: DayMark, as_of: dt.date, settings: SourceSettings) -> bool:
    return mark.empty_since is not None and (as_of - mark.empty_since).days <= settings.empty_retry_days


def after_read(previous: DayMark | None, day: dt.date, rows: int, as_of: dt.date, settings: SourceSettings, *,
               plan: str = "") -> DayMark:
    """A day's mark once read on `as_of` with `rows` rows.

    An empty day is asked again while it stays empty, for `empty_retry_days` after its first empty read, and
    then is a confirmed gap (`clear_empty_before_data` then forgives the days before the source's first data: a
    property younger than the history). Where empty days are normal (a day without sales: `empty_retry_days`
    0) an empty day is simply read.
    """
    settled = (as_of - day).days >= settings.settle_days
    mark = DayMark(day, plan, as_of, settled, rows)
    if rows or not settings.empty_retry_days:
        return mark
    since = previous.empty_since if previous is not None and previous.status in (EMPTY, GAP) else None
    since = since or as_of
    status = GAP if (as_of - since).days >= settings.empty_retry_days else EMPTY
    return replace(mark, status=status, empty_since=since)


# --- storage ---------------------------------------------------------------------------------------------------


def read_marks(conn: Connection, stream: Stream, since: dt.date, until: dt.date) -> dict[dt.date, DayMark]:
    """The stream's marks of since..until."""
    t = table_of(SyncedDay)
    stmt = select(t).where(t.c.source == stream.source, t.c.stream == stream.stream, t.c.account == stream.account,
                           t.c.day >= since, t.c.day <= until)
    return {r.day: DayMark(r.day, r.plan, r.read_on, bool(r.settled), r.rows, r.status, r.empty_since)
            for r in conn.execute(stmt)}


def write_marks(conn: Connection, stream: Stream, marks: Iterable[DayMark]) -> None:
    """Store marks; call it in the transaction that committed the days' rows."""
    upsert(conn, table_of(SyncedDay), [
        {"source": stream.source, "stream": stream.stream, "account": stream.account, "day": m.day,
         "plan": m.plan, "read_on": m.read_on, "settled": m.settled, "rows": m.rows, "status": m.status,
         "empty_since": m.empty_since} for m in marks])


def confirm_gaps(conn: Connection, stream: Stream, days: Iterable[dt.date]) -> None:
    """Record empty days whose retries ran out (without another read) as confirmed gaps."""
    chosen = list(days)
    if chosen:
        t = table_of(SyncedDay)
        conn.execute(update(t).where(t.c.source == stream.source, t.c.stream == stream.stream,
                                     t.c.account == stream.account, t.c.day.in_(chosen)).values(status=GAP))


def first_data_day(conn: Connection, stream: Stream) -> dt.date | None:
    """The first day the stream had rows on (None: never)."""
    t = table_of(SyncedDay)
    return conn.execute(select(func.min(t.c.day)).where(
        t.c.source == stream.source, t.c.stream == stream.stream, t.c.account == stream.account,
        t.c.rows > 0)).scalar()


def clear_empty_before_data(conn: Connection, stream: Stream) -> None:
    """Empty days before the stream's first data are not outages (the property is younger than the history):
    they are not asked again. Without any data, no empty day is."""
    t = table_of(SyncedDay)
    first = first_data_day(conn, stream)
    cond = [t.c.source == stream.source, t.c.stream == stream.stream, t.c.account == stream.account,
            t.c.status != OK]
    if first is not None:
        cond.append(t.c.day < first)
    conn.execute(update(t).where(*cond).values(status=OK, empty_since=None))


def unsettled(conn: Connection, source: str, account: str | None, since: dt.date, until: dt.date,
              ) -> dict[str, list[dt.date]]:
    """Per stream of a source (every account when `account` is None), the days of since..until whose last read
    came before they settled: late data may still change them."""
    t = table_of(SyncedDay)
    stmt = select(t.c.stream, t.c.day).where(t.c.source == source, t.c.day >= since, t.c.day <= until,
                                             t.c.settled.is_(False)).order_by(t.c.stream, t.c.day)
    if account is not None:
        stmt = stmt.where(t.c.account == account)
    out: dict[str, list[dt.date]] = {}
    for stream, day in conn.execute(stmt):
        days = out.setdefault(stream, [])
        if not days or days[-1] != day:
            days.append(day)
    return out


def missing_days(conn: Connection, source: str, account: str, since: dt.date, until: dt.date) -> list[dt.date]:
    """Days of since..until that came back empty (still asked again, or confirmed gaps): a backfill over them
    reads them again whatever an earlier backfill recorded."""
    t = table_of(SyncedDay)
    return list(conn.execute(select(t.c.day).distinct().where(
        t.c.source == source, t.c.account == account, t.c.day >= since, t.c.day <= until,
        t.c.status != OK).order_by(t.c.day)).scalars())
