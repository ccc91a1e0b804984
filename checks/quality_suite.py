"""The quality suite of a run, built in code from the warehouse schema and `journey.yaml`: per raw table (not
null, unique natural keys, counts ≥ 0, currencies, dates inside the window), per source (freshness, volume
against its weekday history, mapping coverage, GA4's sampling and thresholding flags), the facts, and the
quarantine."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats
from sqlalchemy import BigInteger, Boolean, Connection, Float, Integer, String, Table, text

from checks.quality import Check
from models.config import JourneyMap
from models.raw import (
    CURRENCIES,
    GA4_ROWS,
    MAILCHIMP_ACTIVITY,
    MAILCHIMP_REPORTS,
    STRIPE_CHECKOUTS,
    STRIPE_PAYMENT_INTENTS,
    STRIPE_REFUNDS,
    SURVEY_RESPONSES,
)
from models.rows import RawStream
from models.tables import Ga4ReportMeta, Quarantine, TouchpointDaily, UnmappedDaily, table_of

# raw streams checked per window, with the column that dates a row
DATED: list[tuple[RawStream, str]] = [(GA4_ROWS, "date"), (MAILCHIMP_ACTIVITY, "timestamp"),
                                      (MAILCHIMP_REPORTS, "taken_on"), (STRIPE_CHECKOUTS, "created"),
                                      (STRIPE_REFUNDS, "created"), (STRIPE_PAYMENT_INTENTS, "created"),
                                      (SURVEY_RESPONSES, "submitted")]
# the stream whose days show that a source delivered (surveys arrive when people answer: not checked)
DAILY: dict[str, tuple[RawStream, str]] = {"ga4": (GA4_ROWS, "date"), "mailchimp": (MAILCHIMP_ACTIVITY, "timestamp"),
                                           "stripe": (STRIPE_CHECKOUTS, "created")}
# sources whose success counts a subset of the volume's units (a checkout completes once; a subscriber clicks)
SUBSET_SOURCES = ("mailchimp", "stripe")
COUNTS = (Integer, BigInteger, Float)
ZERO_DAY_ALPHA = 1e-3  # a day without rows is missing data when zero rows had at most this chance


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
    for source, (stream, day) in DAILY.items():
        if source not in used:
            continue
        last = as_of - dt.timedelta(days=journey_map.source_settings(source).lag_days)
        usual = _usual(history.get(source, []) if history else [], since, last)
        expected = [d for d, (median, _) in usual.items() if math.exp(-median) <= ZERO_DAY_ALPHA]
        if expected:
            checks.append(_freshness(gxe, source, stream.table, day, since, last, expected))
        if usual:
            checks.append(_volume(gxe, source, stream.table, usual, journey_map.quality.volume_floor,
                                  journey_map.quality.volume_ceiling, dict(history.get(source, []) if history
                                                                           else [])))
        checks.append(_coverage(gxe, source, (mapped or {}).get(source, 0.0), since, until,
                                journey_map.quality.max_unmapped_share))
    if "ga4" in used:
        checks.append(_ga4_flags(gxe, since, until))
    checks += _facts(gxe, journey_map, since, until)
    checks.append(_quarantined(gxe, since, as_of))
    return checks


def _raw_checks(gxe: Any, stream: RawStream, day: str, since: dt.date, as_of: dt.date) -> list[Check]:
    table = stream.table
    name = table.name
    query = f'SELECT * FROM "{name}" WHERE "{day}" >= \'{since.isoformat()}\''
    keys = _keys(stream)
    out = []
    if not _enforced(table, keys):  # a primary key already refuses a second row; a GROUP BY would re-prove it
        out.append(Check(f"{name}: one row per {', '.join(keys)}", "unique", stream.source, name, query,
                         _unique(gxe, keys), keys, "the same record was stored twice: re-run the window (the sync "
                                                   "replaces it)"))
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
    if "currency" in table.columns:
        out.append(Check(f"{name}.currency is a currency Stripe charges in", "currency", stream.source, name,
                         query, gxe.ExpectColumnValuesToBeInSet(column="currency", value_set=sorted(CURRENCIES)),
                         keys, "amounts in an unknown currency cannot be summed: see the quarantine rules"))
    latest = as_of + dt.timedelta(days=1)
    out.append(Check(f"{name}.{day} is not after {as_of.isoformat()}", "in_window", stream.source, name, query,
                     gxe.UnexpectedRowsExpectation(
                         unexpected_rows_query=f'SELECT * FROM {{batch}} WHERE "{day}" >= \'{latest.isoformat()}\''),
                     keys, "rows dated in the future: check the source's timezone and the connector's dates"))
    return out


def _unique(gxe: Any, keys: Sequence[str]) -> Any:
    """Keys held by more than one row: one GROUP BY (GX's own compound-unique check joins the batch to itself,
    minutes on a big table without a unique index)."""
    names = ", ".join(f'"{k}"' for k in keys)
    return gxe.UnexpectedRowsExpectation(unexpected_rows_query=f"SELECT {names}, COUNT(*) AS copies FROM {{batch}} "
                                                               f"GROUP BY {names} HAVING COUNT(*) > 1")


def _enforced(table: Table, keys: Sequence[str]) -> bool:
    """Whether the table's primary key is the natural key (the database then refuses duplicates itself)."""
    return bool(table.primary_key.columns) and {c.name for c in table.primary_key.columns} == set(keys)


def _keys(stream: RawStream) -> tuple[str, ...]:
    if stream.cover is not None:
        return ("account", *stream.cover.key)
    return tuple(c.name for c in stream.table.primary_key.columns)


def _day_text(column: str) -> str:
    """A date or timestamp column as its 'YYYY-MM-DD' day, the same SQL on SQLite and PostgreSQL."""
    return f'substr(CAST("{column}" AS VARCHAR(32)), 1, 10)'


def _calendar(days: Sequence[tuple[Any, ...]], names: Sequence[str]) -> str:
    """A literal table of rows (a UNION ALL of SELECTs: portable to both databases)."""
    def literal(v: Any) -> str:
        return f"'{v}'" if isinstance(v, str) else repr(float(v))
    return " UNION ALL ".join("SELECT " + ", ".join(f"{literal(v)} AS {n}" for v, n in zip(row, names, strict=True))
                              for row in days)


def _days(since: dt.date, last: dt.date) -> list[str]:
    return [(since + dt.timedelta(days=i)).isoformat() for i in range((last - since).days + 1)]


def _freshness(gxe: Any, source: str, table: Table, day: str, since: dt.date, last: dt.date,
               expected: list[str]) -> Check:
    """Every matured day on which the source always has rows has some (a day whose weekday usually has a few
    rows may have none by chance: e^-median > ZERO_DAY_ALPHA days are not asked for)."""
    query = _calendar([(d,) for d in expected], ["day"])
    # an anti-join on the grouped days (NOT IN over the raw rows is re-run per calendar day on PostgreSQL)
    seen = (f'SELECT {_day_text(day)} AS seen FROM "{table.name}" WHERE "{day}" >= \'{since.isoformat()}\' '
            f"GROUP BY {_day_text(day)}")
    return Check(f"{source} has data for every matured day {since.isoformat()}..{last.isoformat()}", "freshness",
                 source, table.name, query,
                 gxe.UnexpectedRowsExpectation(unexpected_rows_query=(
                     f"SELECT b.day FROM {{batch}} b LEFT JOIN ({seen}) s ON s.seen = b.day WHERE s.seen IS NULL")),
                 ("day",), f"days missing from {table.name}: run `journeymap backfill` for them once the source "
                           "has them")


def _usual(history: list[tuple[str, int]], since: dt.date, last: dt.date) -> dict[str, tuple[float, list[int]]]:
    """Each matured day of the window → (median rows of the same weekday over the 4 weeks before it, those
    counts), for days with at least 3 of those weeks stored (days before the first stored day are unknown,
    not zero)."""
    counts = dict(history)
    first = min(counts, default="9999-12-31")
    out = {}
    for d in _days(since, last):
        date = dt.date.fromisoformat(d)
        known = [(date - dt.timedelta(days=7 * w)).isoformat() for w in range(1, 5)]
        weeks = [counts.get(k, 0) for k in known if k >= first]
        if len(weeks) >= 3:
            out[d] = (float(np.median(weeks)), weeks)
    return out


HISTORY_WEEKS = 5  # the weekday history read before the window (freshness and volume use 4 weeks of it)


def suite_inputs(conn: Connection, journey_map: JourneyMap, since: dt.date, until: dt.date,
                 ) -> tuple[dict[str, list[tuple[str, int]]], dict[str, float]]:
    """What `build_suite` needs from the warehouse: each daily source's rows per day since HISTORY_WEEKS before
    the window, and each source's mapped volume over the window."""
    used = journey_map.used_sources()
    history = {source: [(str(day), int(n)) for day, n in conn.execute(text(daily_history_query(
        source, since - dt.timedelta(weeks=HISTORY_WEEKS), until)))] for source in DAILY if source in used}
    source_of = {tp.id: tp.source for _, tp in journey_map.touchpoints()}
    mapped: dict[str, float] = {}
    for touchpoint, volume in conn.execute(text(mapped_volume_query(journey_map, since, until))):
        mapped[source_of[touchpoint]] = mapped.get(source_of[touchpoint], 0.0) + float(volume or 0)
    return history, mapped


def mapped_volume_query(journey_map: JourneyMap, since: dt.date, until: dt.date) -> str:
    """Volume per touchpoint over since..until (ALL segment): one read for every source's coverage check."""
    facts = table_of(TouchpointDaily).name
    ids = ", ".join(f"'{tp.id}'" for _, tp in journey_map.touchpoints()) or "''"
    return (f"SELECT touchpoint_id, SUM(volume) FROM {facts} WHERE segment = 'all' AND touchpoint_id IN ({ids}) "
            f"AND date >= '{since.isoformat()}' AND date <= '{until.isoformat()}' GROUP BY touchpoint_id")


def daily_history_query(source: str, since: dt.date, until: dt.date) -> str:
    """Rows per day of a source's daily stream since..until (what `build_suite`'s `history` holds)."""
    stream, day = DAILY[source]
    return (f'SELECT {_day_text(day)} AS day, COUNT(*) AS n FROM "{stream.table.name}" '
            f'WHERE "{day}" >= \'{since.isoformat()}\' AND "{day}" < \'{(until + dt.timedelta(days=1)).isoformat()}\' '
            f"GROUP BY {_day_text(day)}")


def _volume(gxe: Any, source: str, table: Table, usual: dict[str, tuple[float, list[int]]], floor: float,
            ceiling: float, counts: dict[str, int] | None = None) -> Check:
    """Each matured day's rows against the median of the same weekday over the 4 weeks before it: outside
    floor..ceiling × usual, and beyond chance (`_implausible`)."""
    bands = [(d, float(n), median * floor, median * ceiling, median, float(_implausible(n, weeks)))
             for d, (median, weeks) in usual.items() if median > 0
             for n in [(counts or {}).get(d, 0)]]
    query = _calendar(bands or [("0000-00-00", 0.0, 0.0, 0.0, 0.0, 0.0)],
                      ["day", "n", "low", "high", "usual", "implausible"])
    return Check(f"{source}'s rows per day stay within {floor:.0%}–{ceiling:.0%} of the same weekday's usual",
                 "volume", source, table.name, query,
                 gxe.UnexpectedRowsExpectation(unexpected_rows_query="SELECT day, n, usual FROM {batch} "
                                                                     "WHERE (n < low OR n > high) AND implausible > 0"),
                 ("day",), "a sudden fall or flood of rows is a data problem until proven otherwise: compare the "
                           "source's own reports for those days")


def _implausible(n: int, weeks: Sequence[int], alpha: float = 1e-3) -> bool:
    """Whether a day's count cannot be chance against the same weekdays: the exact conditional test of two
    Poisson rates (ten rows on a day that usually has two is a busy day, not broken data)."""
    before = sum(weeks)
    share = 1 / (1 + len(weeks))
    low = stats.binom.cdf(n, n + before, share)
    high = stats.binom.sf(n - 1, n + before, share)
    return bool(min(low, high) <= alpha)


def _coverage(gxe: Any, source: str, mapped: float, since: dt.date, until: dt.date, max_share: float) -> Check:
    """Unmapped volume as a share of the source's volume (`mapped`: its touchpoints' at the ALL segment, read once
    for every source, plus unmapped); the failing rows are the unmapped items, biggest first: a renamed page
    shows up by name."""
    unmapped = table_of(UnmappedDaily).name
    window = f"date >= '{since.isoformat()}' AND date <= '{until.isoformat()}'"
    # GA4's events report lists every event name and a map names only a few: its unmapped names are not lost volume
    query = (f"SELECT item, SUM(volume) AS volume FROM {unmapped} WHERE source = '{source}' AND {window} "
             "AND NOT (source = 'ga4' AND stream = 'events') GROUP BY item")
    left = "(SELECT COALESCE(SUM(volume), 0) FROM {batch})"
    return Check(f"{source}: under {max_share:.0%} of the volume maps to no touchpoint", "coverage", source,
                 unmapped, query,
                 gxe.UnexpectedRowsExpectation(unexpected_rows_query=(
                     f"SELECT item, volume FROM {{batch}} WHERE {left} > {max_share} * ({left} + {float(mapped)!r}) "
                     "ORDER BY volume DESC")),
                 ("item",), "a renamed page, email or product that no rule matches: update its rule in journey.yaml")


def _ga4_flags(gxe: Any, since: dt.date, until: dt.date) -> Check:
    meta = table_of(Ga4ReportMeta).name
    query = (f"SELECT * FROM {meta} WHERE date >= '{since.isoformat()}' AND date <= '{until.isoformat()}'")
    return Check("GA4 reports are neither sampled, thresholded nor rolled up into (other)", "ga4_flags", "ga4", meta,
                 query, gxe.UnexpectedRowsExpectation(
                     unexpected_rows_query="SELECT report, date, sampled, subject_to_thresholding, "
                                           "data_loss_from_other_row FROM {batch} WHERE sampled OR "
                                           "subject_to_thresholding OR data_loss_from_other_row"),
                 ("report", "date"), "GA4 hid or estimated part of these reports: shorten the date range per request "
                                     "or drop a dimension the map does not need")


def _facts(gxe: Any, journey_map: JourneyMap, since: dt.date, until: dt.date) -> list[Check]:
    facts = table_of(TouchpointDaily).name
    subset = sorted(tp.id for _, tp in journey_map.touchpoints() if tp.source in SUBSET_SOURCES and tp.success)
    ids = ", ".join(f"'{i}'" for i in subset) or "''"
    # only the steps it judges are read
    query = (f"SELECT * FROM {facts} WHERE date >= '{since.isoformat()}' AND date <= '{until.isoformat()}' "
             f"AND touchpoint_id IN ({ids})")
    keys = ("date", "touchpoint_id", "segment")
    unique = [] if _enforced(table_of(TouchpointDaily), keys) else [
        Check(f"{facts}: one row per date, touchpoint and segment", "facts", "map", facts, query,
              _unique(gxe, keys), keys)]
    return [*unique,
            Check(f"{facts}: success ≤ volume (a rate within 0–1) for email and checkout steps", "facts", "map",
                  facts, query, gxe.UnexpectedRowsExpectation(
                      unexpected_rows_query="SELECT date, touchpoint_id, segment, volume, success FROM {batch} "
                                            "WHERE success > volume"),
                  ("date", "touchpoint_id", "segment"), "a mapping rule counts successes its volume does not hold")]


def _quarantined(gxe: Any, since: dt.date, as_of: dt.date) -> Check:
    table = table_of(Quarantine).name
    query = (f"SELECT source, stream, reason, COUNT(*) AS n FROM {table} WHERE seen_on >= '{since.isoformat()}' "
             f"AND seen_on <= '{as_of.isoformat()}' GROUP BY source, stream, reason")
    return Check("no record was quarantined", "quarantine", "map", table, query,
                 gxe.UnexpectedRowsExpectation(unexpected_rows_query="SELECT source, stream, reason, n FROM {batch} "
                                                                     "ORDER BY n DESC"),
                 ("source", "stream", "reason"), "see the quarantine table for each record and its reason")

