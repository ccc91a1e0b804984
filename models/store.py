"""Bulk, dialect-aware writes: upserts on natural keys, window replacement, sync cursors."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Connection, Date, DateTime, Table, and_, delete
from sqlalchemy.dialects import postgresql, sqlite

from models.config import JourneyMap
from models.sources import stream_of
from models.tables import (
    JourneyRow,
    PersonaRow,
    RuleRow,
    StageRow,
    TouchpointRow,
    table_of,
)

BATCH = 2000
Row = Mapping[str, Any]
def _batches(rows: Iterable[Row], size: int = BATCH) -> Iterator[list[Row]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def _insert(conn: Connection, table: Table) -> Any:
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for the {name} dialect; use SQLite or PostgreSQL")


def upsert(conn: Connection, table: Table, rows: Iterable[Row]) -> int:
    """Insert rows, updating those whose primary key exists (INSERT … ON CONFLICT).

    Rows repeating a key inside one call keep the last one (PostgreSQL refuses to
    touch a row twice in one statement). Returns the number of distinct rows written.
    """
    key = [c.name for c in table.primary_key.columns]
    if not key:
        raise ValueError(f"{table.name} has no primary key to upsert on: its rows are landed by replacing what a "
                         "read covers (clear_window, then insert_rows)")
    stmt = _insert(conn, table)
    updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in key}
    stmt = (stmt.on_conflict_do_update(index_elements=key, set_=updates) if updates
            else stmt.on_conflict_do_nothing(index_elements=key))
    if conn.dialect.name == "postgresql":
        # SQLAlchemy batches an executemany into multi-row VALUES only when the statement
        # returns something once ON CONFLICT is present; without it psycopg2 sends row by row.
        stmt = stmt.returning(table.c[key[0]])
    written = 0
    key_of = operator.itemgetter(*key)
    for chunk in _batches(rows):
        unique = list({key_of(r): r for r in chunk}.values())
        if conn.dialect.name == "postgresql" and len(unique) > 500:
            _copy_upsert(conn, table, key, unique)
        elif conn.dialect.name == "sqlite" and len(unique) > 500:
            _sqlite_upsert(conn, table, key, unique)
        else:
            conn.execute(stmt, unique)
        written += len(unique)
    return written


def _sqlite_upsert(conn: Connection, table: Table, key: list[str], rows: list[Row]) -> None:
    """SQLite: one executemany of plain tuples (SQLAlchemy's per-value type processing costs more than SQLite's
    own insert for big pages)."""
    columns = [c.name for c in table.columns]
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c not in key)
    conflict = ", ".join(f'"{k}"' for k in key)
    conn.exec_driver_sql(_sqlite_insert_sql(table) + f" ON CONFLICT ({conflict}) "
                         + (f"DO UPDATE SET {updates}" if updates else "DO NOTHING"), _sqlite_values(table, rows))


def _sqlite_insert_sql(table: Table) -> str:
    names = ", ".join(f'"{c.name}"' for c in table.columns)
    return f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" for _ in table.columns)})'


def _sqlite_values(table: Table, rows: list[Row]) -> list[tuple[Any, ...]]:
    """The rows as tuples in column order, each value rendered as SQLAlchemy's SQLite types store it."""
    return _sqlite_stored(table, _tuples(rows, [c.name for c in table.columns]))


def _sqlite_stored(table: Table, values: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    convert = [(i, _SQLITE_STORAGE[type(c.type)]) for i, c in enumerate(table.columns)
               if type(c.type) in _SQLITE_STORAGE]
    return [_converted(v, convert) for v in values] if convert else values


def _converted(values: tuple[Any, ...], convert: list[tuple[int, Callable[[Any], Any]]]) -> tuple[Any, ...]:
    out = list(values)
    for i, fn in convert:
        if out[i] is not None:
            out[i] = fn(out[i])
    return tuple(out)


def _tuples(rows: list[Row], columns: list[str]) -> list[tuple[Any, ...]]:
    """The rows' values in column order (None for a column a row leaves out)."""
    getter = operator.itemgetter(*columns)
    try:
        return [getter(r) for r in rows] if len(columns) > 1 else [(getter(r),) for r in rows]
    except KeyError:
        return [tuple(r.get(c) for c in columns) for r in rows]


# how SQLAlchemy's SQLite types store a value (DateTime with microseconds, Date as ISO text, Boolean as 0/1)
_SQLITE_STORAGE: dict[type, Callable[[Any], Any]] = {
    DateTime: lambda v: v.isoformat(" ", "microseconds") if isinstance(v, dt.datetime) else v,
    Date: lambda v: v.isoformat() if isinstance(v, dt.date) else v,
    Boolean: int,
}


def _copy_upsert(conn: Connection, table: Table, key: list[str], rows: list[Row]) -> None:
    """PostgreSQL: COPY the rows into a temporary table, then one INSERT … SELECT … ON CONFLICT (several times
    faster than a multi-row VALUES upsert)."""
    staging = f"stage_{table.name}"[:60]
    conn.exec_driver_sql(f'CREATE TEMP TABLE IF NOT EXISTS "{staging}" (LIKE "{table.name}") ON COMMIT DELETE ROWS')
    conn.exec_driver_sql(f'TRUNCATE "{staging}"')
    _copy(conn, table, rows, into=staging)
    columns = [c.name for c in table.columns]
    names = ", ".join(f'"{c}"' for c in columns)
    updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in columns if c not in key)
    action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
    conflict = ", ".join(f'"{k}"' for k in key)
    conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM "{staging}" '
                         f"ON CONFLICT ({conflict}) {action}")


def unindexed(column: ColumnElement[str]) -> ColumnElement[str]:
    """`column` as an expression no index serves (`column || ''`, the same value). A read of a window names its
    account with it: the planner takes an equality on the primary key's first column (the account) for more
    selective than a range on the time index, and would read the account's whole history to find a few days."""
    return column.concat("")


def replace_window(conn: Connection, table: Table, since: dt.date, until: dt.date,
                   rows: Iterable[Row], *, where: Mapping[str, Sequence[Any]] | None = None) -> int:
    """Replace every row of `table` dated since..until (and matching `where`) by `rows`.

    Used for derived tables (facts, unmapped volume): a rerun of a window leaves
    exactly what one run leaves, including rows that should no longer exist.
    """
    clear_window(conn, table, "date", since, until, where=where)
    return insert_rows(conn, table, rows)


def clear_window(conn: Connection, table: Table, column: str, since: dt.date, until: dt.date, *,
                 where: Mapping[str, Sequence[Any]] | None = None) -> int:
    """Delete the rows whose `column` (a date, or a naive UTC timestamp) falls on the days since..until and
    that match `where` (column → allowed values); returns how many went."""
    on = table.c[column]
    if isinstance(on.type, DateTime):
        cond = [on >= dt.datetime.combine(since, dt.time()), on < dt.datetime.combine(until, dt.time()) + _DAY]
    else:
        cond = [on >= since, on <= until]
    cond += [table.c[col].in_(list(values)) for col, values in (where or {}).items()]
    return conn.execute(delete(table).where(and_(*cond))).rowcount


_DAY = dt.timedelta(days=1)


def insert_rows(conn: Connection, table: Table, rows: Iterable[Row]) -> int:
    """Plain bulk insert, no conflict handling: COPY on PostgreSQL, an executemany of plain tuples on SQLite
    (both several times faster than SQLAlchemy's own executemany)."""
    written = 0
    columns = [c.name for c in table.columns]
    for chunk in _batches(rows, 20_000):
        if conn.dialect.name in ("postgresql", "sqlite") and len(chunk) > 500:
            insert_values(conn, table, _tuples(chunk, columns))
        else:
            conn.execute(table.insert(), chunk)
        written += len(chunk)
    return written


def insert_values(conn: Connection, table: Table, values: list[tuple[Any, ...]]) -> int:
    """Plain bulk insert of rows given as tuples in the table's column order (the bulk shape of a landing)."""
    if not values:
        return 0
    if conn.dialect.name == "postgresql":
        _copy_values(conn, table, values)
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql(_sqlite_insert_sql(table), _sqlite_stored(table, values))
    else:
        raise NotImplementedError(f"no bulk insert for the {conn.dialect.name} dialect; use SQLite or PostgreSQL")
    return len(values)


def _copy(conn: Connection, table: Table, rows: list[Row], into: str | None = None) -> None:
    _copy_values(conn, table, _tuples(rows, [c.name for c in table.columns]), into)


def _copy_values(conn: Connection, table: Table, values: list[tuple[Any, ...]], into: str | None = None) -> None:
    """COPY … FROM STDIN in PostgreSQL's text format, on the connection's own transaction (into `table`, or a
    staging table of the same columns)."""
    buffer = io.StringIO("".join([_copy_line(v) for v in values]))
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        names = ", ".join(f'"{c.name}"' for c in table.columns)
        cursor.copy_expert(f'COPY "{into or table.name}" ({names}) FROM STDIN', buffer)
    finally:
        cursor.close()


def _copy_line(values: tuple[Any, ...]) -> str:
    """One row in COPY's text format. Most rows need no escaping: their values' plain `str` (ISO dates and times,
    True/False, nan, which PostgreSQL reads as such) joined with tabs is the row, which a row holding None (or the
    text "None"), a tab, a line break or a backslash is not; those take the value-by-value way."""
    line = "\t".join(map(str, values))
    if line.count("\t") != len(values) - 1 or "None" in line or "\\" in line or "\n" in line or "\r" in line:
        return "\t".join(map(_copy_text, values)) + "\n"
    return line + "\n"


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, int | float):
        return str(value)
    return str(value).translate(_COPY_ESCAPES)


def row_key(*values: object) -> str:
    """A stable 40-character key for a tuple of dimension values."""
    return hashlib.sha1("\x1f".join(str(v) for v in values).encode("utf-8")).hexdigest()


def save_map(conn: Connection, journey_map: JourneyMap, persona_segments: Mapping[str, str]) -> None:
    """Rewrite the map tables from the validated journey.yaml."""
    for model in (RuleRow, TouchpointRow, PersonaRow, JourneyRow, StageRow):
        conn.execute(delete(table_of(model)))
    conn.execute(table_of(StageRow).insert(),
                 [{"id": s.id, "name": s.name, "position": i} for i, s in enumerate(journey_map.stages)])
    conn.execute(table_of(JourneyRow).insert(),
                 [{"id": j.id, "name": j.name, "goal": j.goal, "value": j.value, "position": i}
                  for i, j in enumerate(journey_map.journeys)])
    touchpoints, rules = [], []
    for journey in journey_map.journeys:
        for pos, tp in enumerate(journey_map.ordered_touchpoints(journey)):
            touchpoints.append({"id": tp.id, "journey_id": journey.id, "stage_id": tp.stage,
                                "name": tp.name, "position": pos})
            rules.append({"touchpoint_id": tp.id, "source": tp.source, "stream": stream_of(tp.source, tp.match),
                          "match_json": json.dumps(tp.match, sort_keys=True),
                          "volume_metric": tp.volume, "success_metric": tp.success})
    conn.execute(table_of(TouchpointRow).insert(), touchpoints)
    conn.execute(table_of(RuleRow).insert(), rules)
    if journey_map.personas:
        conn.execute(table_of(PersonaRow).insert(),
                     [{"name": p.name, "description": p.description, "segment": persona_segments[p.name]}
                      for p in journey_map.personas])


