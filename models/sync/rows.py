"""How a connector record becomes a landing row: a stream's description, the checks every row gets, and what
the quarantine keeps of a record that fails them (never an email address)."""

from __future__ import annotations

import datetime as dt
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeGuard

from sqlalchemy import Table

from models.store import row_key

Record = Mapping[str, Any]
Hasher = Callable[[str], str]  # an email address → its salted hash, as the landing tables store it
_HEX = "0123456789abcdef"
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-zA-Z]{2,}")


class Unreadable(Protocol):
    """A record a reader could not read, kept whole for the quarantine: a reader yields it in place of the record,
    with `unreadable = True` (the connectors' `Rejected`)."""

    unreadable: bool
    key: str
    reason: str
    payload: dict[str, Any]


def unreadable(record: object) -> TypeGuard[Unreadable]:
    """Whether a reader yielded `record` in place of one it could not read."""
    return getattr(record, "unreadable", False) is True


class BadRecord(ValueError):
    """A record that cannot be stored; the message says which field and why."""


@dataclass
class Prepared:
    """Rows ready for upsert, the day each belongs to, and the records set aside."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    days: list[dt.date] = field(default_factory=list)
    bad: list[tuple[str, str, Record]] = field(default_factory=list)  # (record key, reason, payload)


@dataclass(frozen=True)
class Cover:
    """What one read of a stream covers: every row of its window (by `time`) for each `scope` value it reads
    (e.g. each campaign), each natural `key` once. Such a stream is landed by replacing what the read covers,
    not by upserting: no unique index to check per row (the landing still drops a key repeated in a batch)."""

    time: str
    scope: str
    key: tuple[str, ...]
    # the bulk shape: `values(account, *record attributes named by fields)` → the row's values in the table's
    # column order, checked as `to_row` checks them but the account (checked once per batch); `to_row` uses it
    fields: tuple[str, ...]
    values: Callable[..., tuple[Any, ...]]
    account: str = "account"  # the column that holds the account the read is of
    # every `scope` value a stream can hold, when they are a closed set (a report name): a read of the whole window
    # names them all, so that a primary key (account, scope, time, …) finds the window instead of the account's
    # whole history; () for an open set (campaigns), which every read names itself
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RawStream:
    """A landing table and how one record becomes one row of it (upserted on the table's primary key, or, for a
    stream with a `cover`, replacing what the read covers)."""

    source: str
    stream: str
    table: Table
    to_row: Callable[[Record], dict[str, Any]]
    key_of: Callable[[Record], str]
    day_of: Callable[[dict[str, Any]], dt.date]
    cover: Cover | None = None

    @property
    def dated(self) -> bool:
        """Whether its rows belong to days (a read of whole lists, e.g. campaigns, has none to mark)."""
        return self.day_of is not no_day


def prepare(stream: RawStream, records: Iterable[Record], hasher: Hasher) -> Prepared:
    """Convert a page of records; each bad one is kept with its reason, never dropped."""
    out = Prepared()
    for record in records:
        try:
            row = stream.to_row(record)
        except (BadRecord, KeyError, TypeError, ValueError) as exc:
            reason = str(exc) if isinstance(exc, BadRecord) else f"{type(exc).__name__}: {exc}"
            out.bad.append((_safe_key(stream, record), reason, scrub(record, hasher)))
            continue
        out.rows.append(row)
        out.days.append(stream.day_of(row))
    return out


def prepare_covered(stream: RawStream, records: Iterable[Any], account: str,
                    as_record: Callable[[Any], Record], hasher: Hasher,
                    ) -> tuple[dict[tuple[Any, ...], tuple[Any, ...]], Prepared]:
    """`prepare` in the bulk shape of a covered stream: each record's row as a tuple in column order, keyed by its
    natural key (a repeat is stored once); what cannot be stored is kept in `Prepared.bad` as `prepare` keeps it
    (`as_record` gives the record's fields, with its account, for the quarantine)."""
    assert stream.cover is not None
    cover = stream.cover
    columns = [c.name for c in stream.table.columns]
    key_of = operator.itemgetter(*(columns.index(k) for k in cover.key))
    fields = operator.attrgetter(*cover.fields)
    rows: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    out = Prepared()
    try:
        checked = account_of(account)
    except BadRecord:
        checked = ""  # every record fails below, with the account's reason
    for record in records:
        try:
            if not checked:
                account_of(account)
            row = cover.values(checked, *fields(record))
        except (AttributeError, BadRecord, KeyError, TypeError, ValueError) as exc:
            reason = str(exc) if isinstance(exc, BadRecord) else f"{type(exc).__name__}: {exc}"
            described = as_record(record)
            out.bad.append((_safe_key(stream, described), reason, scrub(described, hasher)))
            continue
        rows[key_of(row)] = row
    return rows, out


def scrub(record: Record, hasher: Hasher) -> dict[str, Any]:
    """The record with every value holding an email address replaced by the address's salted hash (the same
    hash the landing tables store, so a quarantined record can be matched to its rows; never reversible with a
    dictionary of addresses)."""
    return {k: _scrubbed(v, hasher) for k, v in record.items()}


def _scrubbed(value: Any, hasher: Hasher) -> Any:
    if isinstance(value, str) and (found := EMAIL.search(value)):
        return f"<email {hasher(found.group(0))}>"
    if isinstance(value, Mapping):
        return scrub(value, hasher)
    if isinstance(value, list):
        return [_scrubbed(v, hasher) for v in value]
    return value


def _safe_key(stream: RawStream, record: Record) -> str:
    try:
        return stream.key_of(record)
    except (KeyError, TypeError, ValueError):
        return row_key(*sorted(map(str, record.items())))


def naive_utc(value: Any, name: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise BadRecord(f"{name} must be a datetime, got {value!r}")
    if value.tzinfo is dt.UTC:
        return value.replace(tzinfo=None)
    if value.tzinfo is None:
        raise BadRecord(f"{name} {value.isoformat()} has no timezone; connectors must send UTC times")
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def number(record: Record, name: str, *, whole: bool) -> float:
    value = record[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value) or value < 0:
        raise BadRecord(f"{name} must be a number ≥ 0, got {value!r}")
    if whole and value != int(value):
        raise BadRecord(f"{name} must be a whole number, got {value!r}")
    return int(value) if whole else float(value)


def choice(record: Record, name: str, allowed: tuple[str, ...]) -> str:
    return one_of(record[name], name, allowed)


def one_of(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise BadRecord(f"{name} {value!r} is not one of {', '.join(allowed)}")
    return str(value)


def account(r: Record) -> str:
    return account_of(r["account"])


def account_of(value: Any) -> str:
    account = str(value).strip()
    if not account:
        raise BadRecord("account is empty; every email and sales row belongs to an account")
    return account


def sha256_hex(value: Any) -> str:
    text = str(value)
    if len(text) != 64 or text.strip(_HEX):  # 64 lower-case hex digits (strip leaves "" when all are)
        raise BadRecord("email_hash is not a SHA-256 hex digest; addresses must be hashed before storage")
    return text


def day_of(name: str) -> Callable[[dict[str, Any]], dt.date]:
    """The day of a row's date or (UTC) time column."""

    def of(row: dict[str, Any]) -> dt.date:
        value = row[name]
        return value.date() if isinstance(value, dt.datetime) else dt.date.fromordinal(value.toordinal())
    return of


def no_day(_row: dict[str, Any]) -> dt.date:
    return dt.date.min


def resolve_repeats(rows: list[dict[str, Any]], key: tuple[str, ...], values: tuple[str, ...],
                    describe: Callable[[dict[str, Any]], str], hasher: Hasher,
                    ) -> tuple[list[dict[str, Any]], list[tuple[str, str, Record]]]:
    """Rows that repeat a natural key within one read, resolved whatever order they came in.

    A source may send the same key twice (a report while its day is still processing, between two page requests). An
    identical repeat is stored once. Repeats with different numbers keep the one with the largest `values` (the
    later, more complete count; the choice does not depend on arrival order) and go to the quarantine with every
    version and the reason, so nothing is lost and the day still commits. Returns (rows, refused).
    """
    seen: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        seen.setdefault(tuple(row[k] for k in key), []).append(row)
    kept: list[dict[str, Any]] = []
    refused: list[tuple[str, str, Record]] = []
    measure = operator.itemgetter(*values)
    for versions in seen.values():
        distinct = list({tuple(sorted(v.items())): v for v in versions}.values())
        best = max(distinct, key=measure)
        kept.append(best)
        if len(distinct) > 1:
            shown = ", ".join(f"{name} {' vs '.join(str(v[name]) for v in distinct)}" for name in values
                              if len({v[name] for v in distinct}) > 1)
            refused.append((describe(best), f"the source sent this row {len(versions)} times with different "
                            f"numbers ({shown}); kept the largest",
                            {"versions": [scrub(_plain(v), hasher) for v in distinct]}))
    return kept, refused


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in row.items()}
