"""The sync engine: a source's streams into the raw landing tables, page by page, with each day's mark in the day
ledger committed together with its rows; what a reader could not read, and what fails the landing checks, goes to
the quarantine. It knows no source and no API: readers come from the flow (built by each connector), landing
streams from the source registry."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import DBAPIError

from models.config import SourceSettings
from models.store import clear_window, insert_values, unindexed, upsert
from models.sync.ledger import DayMark, Stream, after_read, days_between, history, plan_reads, read_marks, write_marks
from models.sync.rows import Hasher, RawStream, prepare, prepare_covered, scrub, unreadable
from models.sync.state import quarantine, set_cursor

Pages = Iterator[Sequence[Any]]
Reader = Callable[[dt.date, dt.date], Pages]


class SourceNotConfigured(ValueError):
    """A source was asked for but cannot run here; the message says what to set."""


class LandingError(RuntimeError):
    """The warehouse refused a write: the message names the table and the database's reason, never the SQL or
    its parameters (which may hold customer data)."""


@dataclass
class StreamResult:
    """What one stream's sync did."""

    source: str
    stream: str
    since: dt.date
    until: dt.date
    rows: int = 0
    quarantined: int = 0
    pages: int = 0
    reasons: list[str] = field(default_factory=list)  # why each quarantined record was refused
    dated: bool = True  # False: a list read whole (campaigns, audiences), whose window is the history's


@dataclass
class SourceResult:
    source: str
    streams: list[StreamResult] = field(default_factory=list)
    note: str = ""  # e.g. a quota stop: what was left for the next run
    account: str | None = None  # the account the rows were stored under, when the API told it
    bad_input: list[str] = field(default_factory=list)  # rows or files refused (quarantined): the run exits 2
    skipped: dict[str, str] = field(default_factory=dict)  # optional stream → why it was left out (one warning)
    warnings: list[str] = field(default_factory=list)  # what the user should know, though nothing failed
    failure: str = ""  # why the source stopped after its retries (what was read before it stays committed)
    misconfigured: bool = False  # the failure's fix is configuration (exit 2)

    @property
    def since(self) -> dt.date:
        """The first day read of its dated streams (a list read whole, such as the campaigns, spans the whole
        history, and mapping from there would map the history again every run); of every stream when none is
        dated."""
        dated = [s.since for s in self.streams if s.dated]
        return min(dated or [s.since for s in self.streams])

    @property
    def until(self) -> dt.date:
        return max(s.until for s in self.streams)


def skipped_warning(name: str, skipped: dict[str, str], gives: dict[str, str]) -> str:
    """One sentence for the optional streams a source left out: which, why, and which metrics stay empty."""
    streams = ", ".join(s.replace("_", " ") for s in skipped)
    reasons = "; ".join(dict.fromkeys(skipped.values()))
    metrics = ", ".join(gives[s] for s in skipped if s in gives)
    return (f"{name}: left out {streams} ({reasons}); the rest landed, and the map's {metrics} stay empty until "
            "the key may read them")


def window_to_read(engine: Engine, stream: RawStream, account: str, as_of: dt.date,
                   settings: SourceSettings) -> tuple[dt.date, dt.date] | None:
    """A daily run's days of a dated stream: from the first day the ledger says to read (never read, not yet
    settled, or empty and still asked again) to the day before `as_of`; None when every day is done."""
    since, until = history(as_of, settings)
    with engine.connect() as conn:
        marks = read_marks(conn, _ledger(stream, account), since, until)
    days = plan_reads(marks, since, until, as_of, settings).days
    return (days[0], until) if days else None


BULK_BATCH = 20_000  # rows per statement when a stream's read is landed in one transaction


def _batches(pages: Pages, rows: int) -> Iterator[list[Sequence[Any]]]:
    """Consecutive pages grouped until they hold `rows` rows (1: every page on its own)."""
    batch: list[Sequence[Any]] = []
    size = 0
    for page in pages:
        batch.append(page)
        size += len(page)
        if size >= rows:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def as_dict(record: Any, **extra: Any) -> dict[str, Any]:
    """A flat record's fields, plus `extra` (dataclasses.asdict deep-copies every value: ten times slower)."""
    kind = type(record)
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(record))
    out = {name: getattr(record, name) for name in names}
    out.update(extra)
    return out


_FIELDS: dict[type, tuple[str, ...]] = {}


@dataclass
class _DayBook:
    """The marks a dated stream's read writes as its pages commit: a day is done once a page of a later day has
    come (the reader reads in date order) or the read has ended."""

    stream: Stream
    as_of: dt.date
    settings: SourceSettings
    since: dt.date
    until: dt.date
    previous: dict[dt.date, DayMark]
    unsettled: Collection[dt.date] = ()  # days the source said it is still counting: read again whatever their age
    counts: Counter[dt.date] = field(default_factory=Counter)
    next_day: dt.date | None = None  # the first day not yet marked

    def __post_init__(self) -> None:
        self.next_day = self.since

    def close_before(self, conn: Connection, day: dt.date) -> None:
        """Mark every day from the first unmarked one up to, not including, `day`."""
        if self.next_day is None or day <= self.next_day:
            return
        last = min(day - dt.timedelta(days=1), self.until)
        marks = [after_read(self.previous.get(d), d, self.counts[d], self.as_of, self.settings)
                 for d in days_between(self.next_day, last)]
        write_marks(conn, self.stream, [dataclasses.replace(m, settled=False) if m.day in self.unsettled else m
                                        for m in marks])
        self.next_day = last + dt.timedelta(days=1) if last < self.until else None


def sync_stream(engine: Engine, stream: RawStream, reader: Reader, account: str, as_of: dt.date,
                settings: SourceSettings, *, hasher: Hasher, on_page: Callable[[StreamResult], None] | None = None,
                window: tuple[dt.date, dt.date] | None = None, in_date_order: bool = True,
                ledger: bool = True, unsettled: Collection[dt.date] = ()) -> StreamResult:
    """Load one stream for the days the ledger says to read (or `window`, a backfill's); each page commits its
    rows and the marks of the days it completes together, so a stop never loses a committed day and never marks
    an unread one.

    A reader whose pages are not in date order passes `in_date_order=False`: its days are marked once, after the
    last page, and its pages are written BULK_BATCH rows per transaction. A stream with a `cover` is replaced
    instead (see `land_covered`). `ledger=False`: a stream read whole each time (a survey export, a list), with
    no days to mark. `unsettled`: the days the reader found the source still counting (filled in as it reads); they
    are marked unsettled whatever their age, so that the next run reads them again.
    """
    dated = ledger and stream.dated
    chosen = window or (window_to_read(engine, stream, account, as_of, settings) if dated else history(as_of,
                                                                                                       settings))
    if chosen is None:  # every day of the history is read and settled
        until = as_of - dt.timedelta(days=1)
        return StreamResult(stream.source, stream.stream, until, until)
    since, until = chosen
    result = StreamResult(stream.source, stream.stream, since, until, dated=dated)
    book = None
    if dated:
        with engine.connect() as conn:
            book = _DayBook(_ledger(stream, account), as_of, settings, since, until,
                            read_marks(conn, _ledger(stream, account), since, until), unsettled)
    if stream.cover is not None:
        with refused_writes(stream), engine.begin() as conn:
            covered = land_covered(conn, stream, reader(since, until), account, since, until, None, as_of, result,
                                   hasher, on_page)
            if book is not None:
                book.counts.update(covered)
                book.close_before(conn, until + dt.timedelta(days=1))
        return result
    for batch in _batches(reader(since, until), 1 if in_date_order else BULK_BATCH):
        with refused_writes(stream), engine.begin() as conn:
            days = _land(conn, stream, batch, account, as_of, result, hasher)
            if book is not None:
                book.counts.update(days)
                if days and in_date_order:
                    book.close_before(conn, max(days))
        result.pages += len(batch)
        if on_page is not None:
            on_page(result)
    with refused_writes(stream), engine.begin() as conn:
        if book is not None:
            book.close_before(conn, until + dt.timedelta(days=1))
        set_cursor(conn, stream.source, stream.stream, account, until.isoformat())
    return result


def land_covered(conn: Connection, stream: RawStream, pages: Iterable[Sequence[Any]], account: str,
                 since: dt.date, until: dt.date, scope: Collection[str] | None, as_of: dt.date,
                 result: StreamResult, hasher: Hasher, on_page: Callable[[StreamResult], None] | None = None,
                 ) -> Counter[dt.date]:
    """Replace what one read covers, in the caller's transaction: the account's rows of since..until for the
    `scope` values read (all of the window when `scope` is None, named by the cover's `scopes` where it has them),
    by the read's rows, each natural key once however often and in whatever order the read repeated it (offset
    paging over a list that changes repeats entries across pages), so that every read of the same data stores
    exactly the same rows. Returns the rows stored per UTC day."""
    assert stream.cover is not None
    cover = stream.cover
    at = [c.name for c in stream.table.columns].index(cover.time)
    days: Counter[dt.date] = Counter()
    where: dict[str, list[str]] = {cover.account: [account]}
    if scope is not None or cover.scopes:
        where[cover.scope] = sorted(cover.scopes if scope is None else scope)
    clear_window(conn, stream.table, cover.time, since, until, where=where)
    seen: set[tuple[Any, ...]] = set()
    for batch in _batches(iter(pages), BULK_BATCH):
        items = [r for page in batch for r in page]
        rows, prepared = prepare_covered(stream, [r for r in items if not unreadable(r)], account,
                                         lambda r: as_dict(r, account=account), hasher)
        fresh = [row for key, row in rows.items() if key not in seen]
        seen.update(rows)
        result.rows += insert_values(conn, stream.table, fresh)
        days.update(_day(row[at]) for row in fresh)
        _quarantine(conn, stream, items, prepared.bad, as_of, result, hasher)
        result.pages += len(batch)
        if on_page is not None:
            on_page(result)
    return days


def stored_days(conn: Connection, stream: RawStream, account: str, since: dt.date,
                until: dt.date) -> Counter[dt.date]:
    """Rows per UTC day of a covered stream's window as stored: what the ledger records of a day whose scopes
    (campaigns) were read at different times."""
    assert stream.cover is not None
    column = stream.table.c[stream.cover.time]
    lo = dt.datetime.combine(since, dt.time())
    hi = dt.datetime.combine(until + dt.timedelta(days=1), dt.time())
    stmt = select(column).where(unindexed(stream.table.c[stream.cover.account]) == account, column >= lo, column < hi)
    return Counter(_day(t) for t in conn.execute(stmt).scalars())


def _day(value: dt.date) -> dt.date:
    """The day of a date or (naive UTC) timestamp column's value."""
    return value.date() if isinstance(value, dt.datetime) else value


def _land(conn: Connection, stream: RawStream, batch: list[Sequence[Any]], account: str, as_of: dt.date,
          result: StreamResult, hasher: Hasher) -> list[dt.date]:
    """Upsert a batch of pages; returns the day of each row written."""
    items = [r for page in batch for r in page]
    prepared = prepare(stream, [as_dict(r, account=account) for r in items if not unreadable(r)], hasher)
    result.rows += upsert(conn, stream.table, prepared.rows)
    _quarantine(conn, stream, items, prepared.bad, as_of, result, hasher)
    return [d for d in prepared.days if d != dt.date.min]


def _quarantine(conn: Connection, stream: RawStream, items: list[Any], refused: list[tuple[str, str, Any]],
                as_of: dt.date, result: StreamResult, hasher: Hasher) -> None:
    """What the connector could not read (see `models.sync.rows.unreadable`) and what failed the landing checks,
    with their reasons."""
    bad = [(r.key, r.reason, scrub(r.payload, hasher)) for r in items if unreadable(r)] + refused
    if bad:
        result.quarantined += quarantine(conn, stream.source, stream.stream, bad, as_of)
        result.reasons += [reason for _, reason, _ in bad]


def _ledger(stream: RawStream, account: str) -> Stream:
    return Stream(stream.source, stream.stream, account)


@contextlib.contextmanager
def refused_writes(stream: RawStream) -> Iterator[None]:
    """Turns a write the warehouse refused into a LandingError naming the table and the database's reason (the
    first line of its message: the engine hides the statement's parameters, and the statement is left out)."""
    try:
        yield
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
        raise LandingError(f"the warehouse refused {stream.source} {stream.stream} rows for {stream.table.name}: "
                           f"{reason}") from None
