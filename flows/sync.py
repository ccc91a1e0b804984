"""Sync a source's streams into the raw landing tables, page by page, moving cursors after commits."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine

from connectors import demo
from connectors.errors import Rejected
from models.config import SourceSettings
from models.raw import (
    GA4_ROWS,
    MAILCHIMP_ACTIVITY,
    MAILCHIMP_CAMPAIGNS,
    STRIPE_CHECKOUTS,
    SURVEY_RESPONSES,
)
from models.rows import RawStream, prepare, prepare_covered, scrub
from models.store import clear_window, get_cursor, insert_values, quarantine, set_cursor, upsert

Pages = Iterator[Sequence[Any]]
Reader = Callable[[dt.date, dt.date], Pages]


class SourceNotConfigured(ValueError):
    """A source was asked for but cannot run here; the message says what to set."""


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


@dataclass
class SourceResult:
    source: str
    streams: list[StreamResult] = field(default_factory=list)
    note: str = ""  # e.g. a quota stop: what was left for the next run
    account: str | None = None  # the account the rows were stored under, when the API told it
    bad_input: list[str] = field(default_factory=list)  # rows or files refused (quarantined): the run exits 2

    @property
    def since(self) -> dt.date:
        return min(s.since for s in self.streams)

    @property
    def until(self) -> dt.date:
        return max(s.until for s in self.streams)


def incremental_window(cursor: str | None, as_of: dt.date, settings: SourceSettings) -> tuple[dt.date, dt.date]:
    """The days to (re-)read: the full history on a first sync, else from the cursor less the lookback.

    Late data is the rule (GA4 keeps changing for 72 h), so the last `lookback_days`
    are always read again and replace what was stored.
    """
    earliest = as_of - dt.timedelta(days=settings.history_days - 1)
    if cursor is None:
        return earliest, as_of
    resume = min(dt.date.fromisoformat(cursor) + dt.timedelta(days=1), as_of)
    return max(earliest, resume - dt.timedelta(days=settings.lookback_days)), as_of


def demo_streams(source: str, outage: dt.date | None = None) -> list[tuple[RawStream, Reader]]:
    """The demo business's streams for a source, in load order (campaigns before activity); `outage`: a day the
    demo's GA4 property records nothing."""
    table: dict[str, list[tuple[RawStream, Reader]]] = {
        "ga4": [(GA4_ROWS, lambda s, u: demo.read_ga4_rows(s, u, outage=outage))],
        "mailchimp": [(MAILCHIMP_CAMPAIGNS, lambda s, u: demo.read_email_campaigns(s, u)),
                      (MAILCHIMP_ACTIVITY, lambda s, u: demo.read_email_activity(s, u))],
        "stripe": [(STRIPE_CHECKOUTS, lambda s, u: demo.read_checkout_sessions(s, u))],
        "surveys": [(SURVEY_RESPONSES, lambda s, u: demo.read_survey_responses(s, u))],
    }
    return table[source]


UNORDERED_BATCH = 20_000  # rows per transaction for streams whose cursor moves only at the end


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


def sync_stream(engine: Engine, stream: RawStream, reader: Reader, account: str, as_of: dt.date,
                settings: SourceSettings, on_page: Callable[[StreamResult], None] | None = None,
                window: tuple[dt.date, dt.date] | None = None, in_date_order: bool = True,
                scope: Collection[str] | None = None) -> StreamResult:
    """Load one stream for its window (or the given one); each page commits its rows and its cursor together.

    A reader whose pages are not in date order (Mailchimp's come campaign by campaign) passes
    `in_date_order=False`: its cursor moves once, after the last page, so a stop never skips a day; with
    nothing to checkpoint in between, its pages are written UNORDERED_BATCH rows per transaction.
    A stream with a `cover` is replaced instead: see `_sync_covered` (`scope`: the scope values read).
    """
    with engine.connect() as conn:
        cursor = get_cursor(conn, stream.source, stream.stream, account)
    since, until = window or incremental_window(cursor, as_of, settings)
    result = StreamResult(stream.source, stream.stream, since, until)
    if stream.cover is not None:
        return _sync_covered(engine, stream, reader(since, until), account, as_of, result, cursor, scope, on_page)
    latest: dt.date | None = None
    for batch in _batches(reader(since, until), 1 if in_date_order else UNORDERED_BATCH):
        with engine.begin() as conn:
            days = _land(conn, stream, batch, account, as_of, result)
            if days and not in_date_order:
                latest = max(latest or days[0], *days)
            elif days:
                cursor = _move_cursor(conn, stream, account, cursor, max(days), as_of)
        result.pages += len(batch)
        if on_page is not None:
            on_page(result)
    if latest is not None:
        with engine.begin() as conn:
            _move_cursor(conn, stream, account, cursor, latest, as_of)
    return result


def _sync_covered(engine: Engine, stream: RawStream, pages: Pages, account: str, as_of: dt.date,
                  result: StreamResult, cursor: str | None, scope: Collection[str] | None,
                  on_page: Callable[[StreamResult], None] | None) -> StreamResult:
    """Replace what the read covers: the account's rows of the window for the `scope` values read (all of the
    window when `scope` is None), then plain inserts in the bulk shape, a natural key repeated in a batch stored
    once. One transaction: a reader of the table never sees a half-replaced window, and a stop leaves the last
    run's rows."""
    assert stream.cover is not None
    cover = stream.cover
    at = [c.name for c in stream.table.columns].index(cover.time)
    where: dict[str, list[str]] = {"account": [account]}
    if scope is not None:
        where[cover.scope] = sorted(scope)
    latest: dt.date | None = None
    with engine.begin() as conn:
        clear_window(conn, stream.table, cover.time, result.since, result.until, where=where)
        for batch in _batches(pages, UNORDERED_BATCH):
            items = [r for page in batch for r in page]
            rows, prepared = prepare_covered(stream, [r for r in items if not isinstance(r, Rejected)], account,
                                             lambda r: as_dict(r, account=account))
            result.rows += insert_values(conn, stream.table, list(rows.values()))
            _quarantine(conn, stream, items, prepared.bad, as_of, result)
            if rows:
                last = max(row[at] for row in rows.values()).date()
                latest = last if latest is None else max(latest, last)
            result.pages += len(batch)
            if on_page is not None:
                on_page(result)
        if latest is not None:
            _move_cursor(conn, stream, account, cursor, latest, as_of)
    return result


def _land(conn: Connection, stream: RawStream, batch: list[Sequence[Any]], account: str, as_of: dt.date,
          result: StreamResult) -> list[dt.date]:
    """Upsert a batch of pages; returns the days of the rows written."""
    items = [r for page in batch for r in page]
    prepared = prepare(stream, [as_dict(r, account=account) for r in items if not isinstance(r, Rejected)])
    result.rows += upsert(conn, stream.table, prepared.rows)
    _quarantine(conn, stream, items, prepared.bad, as_of, result)
    return [d for d in prepared.days if d != dt.date.min]


def _quarantine(conn: Connection, stream: RawStream, items: list[Any], refused: list[tuple[str, str, Any]],
                as_of: dt.date, result: StreamResult) -> None:
    """What the connector could not read (`Rejected`) and what failed the landing checks, with their reasons."""
    bad = [(r.key, r.reason, scrub(r.payload)) for r in items if isinstance(r, Rejected)] + refused
    if bad:
        result.quarantined += quarantine(conn, stream.source, stream.stream, bad, as_of)
        result.reasons += [reason for _, reason, _ in bad]


def _move_cursor(conn: Connection, stream: RawStream, account: str, cursor: str | None, day: dt.date,
                 as_of: dt.date) -> str:
    """The cursor moved forward to `day` (never past `as_of`, never back); returns it. The stored value is read
    again: a backfill's chunks load one stream side by side, and a chunk of earlier days must not move it back."""
    stored = get_cursor(conn, stream.source, stream.stream, account)
    cursor = max(cursor, stored) if cursor is not None and stored is not None else cursor or stored
    moved = day if cursor is None else max(day, dt.date.fromisoformat(cursor))
    value = min(moved, as_of).isoformat()
    set_cursor(conn, stream.source, stream.stream, account, value)
    return value
