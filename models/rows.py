"""How a connector record becomes a landing row: a stream's description, the checks every row gets, and what
the quarantine keeps of a record that fails them (never an email address)."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table

from models.store import row_key

Record = Mapping[str, Any]
_HEX = "0123456789abcdef"
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-zA-Z]{2,}")


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


def prepare(stream: RawStream, records: Iterable[Record]) -> Prepared:
    """Convert a page of records; each bad one is kept with its reason, never dropped."""
    out = Prepared()
    for record in records:
        try:
            row = stream.to_row(record)
        except (BadRecord, KeyError, TypeError, ValueError) as exc:
            reason = str(exc) if isinstance(exc, BadRecord) else f"{type(exc).__name__}: {exc}"
            out.bad.append((_safe_key(stream, record), reason, scrub(record)))
            continue
        out.rows.append(row)
        out.days.append(stream.day_of(row))
    return out


def prepare_covered(stream: RawStream, records: Iterable[Any], account: str,
                    as_record: Callable[[Any], Record]) -> tuple[dict[tuple[Any, ...], tuple[Any, ...]], Prepared]:
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
            out.bad.append((_safe_key(stream, described), reason, scrub(described)))
            continue
        rows[key_of(row)] = row
    return rows, out


def scrub(record: Record) -> dict[str, Any]:
    """The record with every email address replaced by its SHA-256: quarantine keeps no address."""
    return {k: (f"<email sha256:{hashlib.sha256(v.lower().encode()).hexdigest()}>"
                if isinstance(v, str) and EMAIL.search(v) else v) for k, v in record.items()}


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
