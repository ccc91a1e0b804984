"""The quality suite of a run, built in code from the warehouse schema and `journey.yaml`: per raw table (not
null, unique natural keys, counts ≥ 0, currencies, dates inside the window), per source (freshness, volume
against its weekday history, mapping coverage, and the checks a source adds of its own, such as a report's
sampling and thresholding flags), the facts, and the quarantine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Boolean, Connection, Float, Integer, String, Table, text

from checks.quality import Check
from checks.quality_daily import DAILY, daily_checks, read_history, usual_counts, window_days
from models.config import JourneyMap
from models.sources import SOURCES
from models.sources.parts import RowCheck
from models.sources.registry import PARTS
from models.sources.registry import stream as raw_stream
from models.sync.rows import RawStream
from models.tables import Quarantine, TouchpointDaily, UnmappedDaily, table_of

# raw streams checked per window, with the column that dates a row (as each source declares them)
DATED: list[tuple[RawStream, str]] = [(raw_stream(s.name, name), column) for s in SOURCES for name, column in s.dated]
# sources whose success counts a subset of the volume's units (a checkout completes once; a subscriber clicks)
SUBSET_SOURCES = tuple(s.name for s in SOURCES if s.success_is_subset)
COUNTS = (Integer, BigInteger, Float)


def build_suite(journey_map: JourneyMap, since: dt.date, until: dt.date, as_of: dt.date,
                history: dict[str, list[tuple[str, int]]] | None = None,
                mapped: dict[str, float] | None = None) -> list[Check]:
    """Every check of a run over since..until judged on `as_of`.

    Args:
        history: source → (day, rows) of its daily stream over the weeks before the window
            (`daily_history_query` reads it); without it the freshness and volume checks are left out.
        mapped: source → volume its touchpoints mapped over the window (`mapped_volume_query`).
    """
    from great_expectations import expectations as gxe

    used = journey_map.used_sources()
    checks: list[Check] = []
    for stream, day in DATED:
        if stream.source in used:
            checks += _raw_checks(gxe, stream, day, since, as_of)
    for source, (stream, _) in DAILY.items():
        if source not in used:
            continue
        # the matured days of the window (a backfill of past weeks is not judged on the days after it)
        last = min(until, as_of - dt.timedelta(days=journey_map.source_settings(source).lag_days))
        counts = history.get(source, []) if history else []
        checks += daily_checks(gxe, source, stream.table, usual_counts(counts, since, last), dict(counts), since,
                               last, journey_map.quality.volume_floor, journey_map.quality.volume_ceiling)
        checks.append(_coverage(gxe, source, (mapped or {}).get(source, 0.0), since, until,
                                journey_map.quality.max_unmapped_share))
    for source in used:
        checks += [_row_check(gxe, source, c, since, until) for c in PARTS[source].row_checks]
    checks += _facts(gxe, journey_map, since, until)
    checks.append(_quarantined(gxe, since, as_of))
    return checks


def _raw_checks(gxe: Any, stream: RawStream, day: str, since: dt.date, as_of: dt.date) -> list[Check]:
    table = stream.table
    name = table.name
    latest = as_of + dt.timedelta(days=1)
    # the rows dated since `since`: those up to as_of (its snapshots too) and any after it (in_window's failures),
    # each part bounded so that the database finds it through the date index (with one open range SQLite would
    # rather read a whole index in its key order for a GROUP BY)
    query = (f'SELECT * FROM "{name}" WHERE "{day}" >= \'{since.isoformat()}\' AND "{day}" < \'{latest.isoformat()}\' '
             f'UNION ALL SELECT * FROM "{name}" WHERE "{day}" >= \'{max(since, latest).isoformat()}\'')
    keys = _keys(stream)
    out = []
    if not _enforced(table, keys):  # a primary key already refuses a second row; a GROUP BY would re-prove it
        out.append(Check(f"{name}: one row per {', '.join(keys)}", "unique", stream.source, name, query,
                         _unique(gxe, keys, table), keys,
                         "the same record was stored twice: re-run the window (the sync replaces it)"))
    shown = ", ".join(f'"{k}"' for k in keys)
    # the key names the record: NULL is refused by the schema, but an empty id would merge distinct records
    empty = " OR ".join(f'"{k}" IS NULL' + (f" OR \"{k}\" = ''" if isinstance(table.c[k].type, String) else "")
                        for k in keys)
    out.append(Check(f"{name}: {', '.join(keys)} are never empty", "not_null", stream.source, name, query,
                     gxe.UnexpectedRowsExpectation(unexpected_rows_query=f"SELECT {shown} FROM {{batch}} "
                                                                         f"WHERE {empty}"), keys,
                     "a connector stored a record without its id: check the source's export or API answer"))
    counts = [c.name for c in table.columns if isinstance(c.type, COUNTS) and not isinstance(c.type, Boolean)]
    if counts:
        negative = " OR ".join(f'"{c}" < 0' for c in counts)
        values = ", ".join(f'"{c}"' for c in counts)
        out.append(Check(f"{name}: {', '.join(counts)} are ≥ 0", "non_negative", stream.source, name, query,
                         gxe.UnexpectedRowsExpectation(unexpected_rows_query=f"SELECT {shown}, {values} FROM "
                                                                             f"{{batch}} WHERE {negative}"), keys,
                         "a negative count or amount is a connector or export error"))
    for column, (allowed, meaning) in PARTS[stream.source].allowed.items():
        if column not in table.columns:
            continue
        out.append(Check(f"{name}.{column} is {meaning}", column, stream.source, name,
                         # GX's column expectations fetch the whole batch to learn its columns: a query reads less
                         query, gxe.UnexpectedRowsExpectation(unexpected_rows_query=(
                             f"SELECT {shown}, {column} FROM {{batch}} WHERE {column} IS NULL OR {column} NOT IN "
                             f"({', '.join(repr(c) for c in sorted(allowed))})")),
                         keys, f"a row whose {column} is not {meaning} cannot be summed: see the quarantine rules"))
    out.append(Check(f"{name}.{day} is not after {as_of.isoformat()}", "in_window", stream.source, name, query,
                     gxe.UnexpectedRowsExpectation(
                         unexpected_rows_query=f'SELECT * FROM {{batch}} WHERE "{day}" >= \'{latest.isoformat()}\''),
                     keys, "rows dated in the future: check the source's timezone and the connector's dates"))
    return out


def _unique(gxe: Any, keys: Sequence[str], table: Table | None = None) -> Any:
    """Keys held by more than one row: one GROUP BY (GX's own compound-unique check joins the batch to itself,
    minutes on a big table without a unique index), its columns in the order of an index on them (the batch's two
    date bounds keep the read to the window's days: with an open end SQLite read that whole index instead)."""
    names = ", ".join(f'"{k}"' for k in _index_order(keys, table))
    return gxe.UnexpectedRowsExpectation(unexpected_rows_query=f"SELECT {names}, COUNT(*) AS copies FROM {{batch}} "
                                                               f"GROUP BY {names} HAVING COUNT(*) > 1")


def _index_order(keys: Sequence[str], table: Table | None) -> list[str]:
    """`keys` with the longest leading run of one of the table's indexes first."""
    best: list[str] = []
    for index in table.indexes if table is not None else ():
        lead = []
        for column in index.columns:
            if column.name not in keys:
                break
            lead.append(column.name)
        best = max(best, lead, key=len)
    return best + [k for k in keys if k not in best]


def _enforced(table: Table, keys: Sequence[str]) -> bool:
    """Whether the table's primary key is the natural key (the database then refuses duplicates itself)."""
    return bool(table.primary_key.columns) and {c.name for c in table.primary_key.columns} == set(keys)


def _keys(stream: RawStream) -> tuple[str, ...]:
    if stream.cover is not None:
        return (stream.cover.account, *stream.cover.key)
    return tuple(c.name for c in stream.table.primary_key.columns)


def suite_inputs(conn: Connection, journey_map: JourneyMap, since: dt.date, until: dt.date,
                 ) -> tuple[dict[str, list[tuple[str, int]]], dict[str, float]]:
    """What `build_suite` needs from the warehouse: each daily source's rows per day since HISTORY_WEEKS before
    the window, and each source's mapped volume over the window."""
    history = read_history(conn, journey_map.used_sources(), since, until)
    source_of = {tp.id: tp.source for _, tp in journey_map.touchpoints()}
    mapped: dict[str, float] = {}
    for touchpoint, volume in conn.execute(text(mapped_volume_query(journey_map, since, until))):
        mapped[source_of[touchpoint]] = mapped.get(source_of[touchpoint], 0.0) + float(volume or 0)
    return history, mapped


def _each_day(since: dt.date, until: dt.date) -> str:
    """The window as a list of days: with the touchpoint ids also listed, the facts' primary key (date, touchpoint,
    segment) finds the rows itself (a range on its first column would read every step's rows of those days)."""
    return "date IN (" + ", ".join(f"'{d}'" for d in window_days(since, until)) + ")"


def mapped_volume_query(journey_map: JourneyMap, since: dt.date, until: dt.date) -> str:
    """Volume per touchpoint over since..until (ALL segment): one read for every source's coverage check."""
    facts = table_of(TouchpointDaily).name
    ids = ", ".join(f"'{tp.id}'" for _, tp in journey_map.touchpoints()) or "''"
    return (f"SELECT touchpoint_id, SUM(volume) FROM {facts} WHERE segment = 'all' AND touchpoint_id IN ({ids}) "
            f"AND {_each_day(since, until)} GROUP BY touchpoint_id")


def _coverage(gxe: Any, source: str, mapped: float, since: dt.date, until: dt.date, max_share: float) -> Check:
    """Unmapped volume as a share of the source's volume (`mapped`: its touchpoints' at the ALL segment, read once
    for every source, plus unmapped); the failing rows are the unmapped items, biggest first: a renamed page
    shows up by name. A stream whose unmapped items are not lost volume (the source's `uncounted`) is left out."""
    unmapped = table_of(UnmappedDaily).name
    window = f"date >= '{since.isoformat()}' AND date <= '{until.isoformat()}'"
    uncounted = PARTS[source].uncounted
    streams = f" AND stream NOT IN ({', '.join(repr(s) for s in uncounted)})" if uncounted else ""
    query = (f"SELECT item, SUM(volume) AS volume FROM {unmapped} WHERE source = '{source}' AND {window}"
             f"{streams} GROUP BY item")
    left = "(SELECT COALESCE(SUM(volume), 0) FROM {batch})"
    return Check(f"{source}: under {max_share:.0%} of the volume maps to no touchpoint", "coverage", source,
                 unmapped, query,
                 gxe.UnexpectedRowsExpectation(unexpected_rows_query=(
                     f"SELECT item, volume FROM {{batch}} WHERE {left} > {max_share} * ({left} + {float(mapped)!r}) "
                     "ORDER BY volume DESC")),
                 ("item",), "a renamed page, email or product that no rule matches: update its rule in journey.yaml")


def _row_check(gxe: Any, source: str, check: RowCheck, since: dt.date, until: dt.date) -> Check:
    """A check a source adds of its own, over the window's rows of its table."""
    query = (f"SELECT * FROM {check.table} WHERE {check.date_column} >= '{since.isoformat()}' AND "
             f"{check.date_column} <= '{until.isoformat()}'")
    return Check(check.title, check.kind, source, check.table, query,
                 gxe.UnexpectedRowsExpectation(unexpected_rows_query=check.unexpected), check.columns, check.fix)


def _facts(gxe: Any, journey_map: JourneyMap, since: dt.date, until: dt.date) -> list[Check]:
    facts = table_of(TouchpointDaily).name
    subset = sorted(tp.id for _, tp in journey_map.touchpoints() if tp.source in SUBSET_SOURCES and tp.success)
    ids = ", ".join(f"'{i}'" for i in subset) or "''"
    # only the steps it judges are read
    query = (f"SELECT * FROM {facts} WHERE {_each_day(since, until)} "
             f"AND touchpoint_id IN ({ids})")
    keys = ("date", "touchpoint_id", "segment")
    unique = [] if _enforced(table_of(TouchpointDaily), keys) else [
        Check(f"{facts}: one row per date, touchpoint and segment", "facts", "map", facts, query,
              _unique(gxe, keys), keys)]
    return [*unique,
            Check(f"{facts}: 0 ≤ success ≤ volume (a rate within 0–1) for email and checkout steps", "facts", "map",
                  facts, query, gxe.UnexpectedRowsExpectation(
                      unexpected_rows_query="SELECT date, touchpoint_id, segment, volume, success FROM {batch} "
                                            "WHERE success > volume OR success < 0"),
                  ("date", "touchpoint_id", "segment"), "a mapping rule counts successes its volume does not hold")]


def _quarantined(gxe: Any, since: dt.date, as_of: dt.date) -> Check:
    table = table_of(Quarantine).name
    query = (f"SELECT source, stream, reason, COUNT(*) AS n FROM {table} WHERE seen_on >= '{since.isoformat()}' "
             f"AND seen_on <= '{as_of.isoformat()}' GROUP BY source, stream, reason")
    return Check("no record was quarantined", "quarantine", "map", table, query,
                 gxe.UnexpectedRowsExpectation(unexpected_rows_query="SELECT source, stream, reason, n FROM {batch} "
                                                                     "ORDER BY n DESC"),
                 ("source", "stream", "reason"), "see the quarantine table for each record and its reason")

