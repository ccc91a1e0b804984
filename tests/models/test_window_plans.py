"""A daily run's reads and replacements of a window find its days through an index: their cost does not grow with
the stored history (the plans, on both databases; the speed itself is measured by bench/scale.py)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, event, func, select, text

from checks.quality_daily import DAILY, daily_history_query
from checks.quality_suite import build_suite
from connectors.pii import EmailHasher
from models.mapfile import load_map
from models.mapping import map_window
from models.sources.mailchimp.streams import MAILCHIMP_ACTIVITY
from models.sources.search_console.streams import SEARCH_CONSOLE_ROWS
from models.sources.search_console.tables import SearchConsoleRow
from models.sync.engine import StreamResult, land_covered, stored_days
from models.tables import table_of
from tests.conftest import EXAMPLE_MAP

DAY = dt.date(2026, 9, 14)
HASHER = EmailHasher("test-salt")
# the tables that grow with the history, and the columns that date their rows
DATED_BY = {"raw_ga4_rows": ("date",), "raw_search_console_rows": ("date",), "raw_mailchimp_activity": ("timestamp",),
            "raw_stripe_checkout_sessions": ("created",), "raw_stripe_subscriptions": ("created", "canceled_at"),
            "raw_stripe_refunds": ("created",), "raw_stripe_payment_intents": ("created",),
            "raw_survey_responses": ("submitted",), "touchpoint_daily": ("date",),
            "touchpoint_metrics_daily": ("date",), "unmapped_daily": ("date",)}
LOOKUPS = ("payment_intent",)  # an equality per joined row (a refund's checkout), not a read of the history


@contextmanager
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every single statement the engine runs inside the block, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if not many:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", keep)


def plan(conn: Connection, statement: str, parameters: Any = ()) -> list[str]:
    """The statement's plan, a line per step (PostgreSQL's as it plans on a long history: no sequential scan
    where an index can serve)."""
    if conn.dialect.name == "sqlite":
        return [str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
    conn.execute(text("SET enable_seqscan = off"))
    return [str(r[0]) for r in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)]


def windowed(lines: list[str], dialect: str) -> list[str]:
    """What is wrong in a plan: each read of a history table that does not find its rows through an index on the
    column that dates them (or a lookup column) — a scan, or a search by the account alone."""
    wrong = []
    if dialect == "sqlite":
        for line in lines:
            for table, columns in DATED_BY.items():
                if re.search(rf"\b{table}\b", line):
                    found = re.search(r"\((.*)\)", line)
                    if not line.startswith("SEARCH") or found is None or not any(
                            re.search(rf"\b{c}[<>=]", found.group(1)) for c in (*columns, *LOOKUPS)):
                        wrong.append(line)
        return wrong
    for i, line in enumerate(lines):
        for table, columns in DATED_BY.items():
            scan = re.search(rf"(Seq Scan|Index Scan|Index Only Scan|Bitmap Index Scan) (using \S+ )?on {table}\b",
                             line)
            if scan is None or "Bitmap Index Scan" in line:
                continue
            if scan.group(1) == "Seq Scan":
                wrong.append(line)
                continue
            cond = " ".join(lines[i + 1:i + 3])
            if "Index Cond" not in cond or not any(re.search(rf"\b{c}\b", cond) for c in (*columns, *LOOKUPS)):
                wrong.append(line)
    for i, line in enumerate(lines):  # a bitmap scan: its index search holds the condition
        found = re.search(r"Bitmap Index Scan on (\S+)", line)
        if found is not None:
            table = next((t for t in DATED_BY if found.group(1).startswith((f"ix_{t}_", f"pk_{t}"))), None)
            cond = lines[i + 1] if i + 1 < len(lines) else ""
            if table is not None and not any(re.search(rf"\b{c}\b", cond) for c in (*DATED_BY[table], *LOOKUPS)):
                wrong.append(line)
    return wrong


def search_row(report: str, day: dt.date, page: str) -> dict[str, Any]:
    return {"site_url": "sc-domain:example.com", "report": report, "date": day, "row_key": page, "page": page,
            "query": "", "device": "MOBILE", "country": "gbr", "clicks": 1, "impressions": 2, "position_sum": 3.0,
            "final": True}


class Row:  # a Search Console record as its reader yields it
    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


def test_a_search_console_day_is_replaced_through_the_primary_key_and_only_that_day(engine: Engine) -> None:
    days = [DAY + dt.timedelta(days=i) for i in range(-3, 4)]
    t = table_of(SearchConsoleRow)
    with engine.begin() as conn:
        conn.execute(t.insert(), [search_row(r, d, f"/{r}{i}") for d in days for r in ("pages", "queries")
                                  for i in range(3)])
    record = Row(report="pages", date=DAY, page="/new", query="", device="MOBILE", country="gbr", clicks=1,
                 impressions=2, position_sum=2.0, final=True)
    with statements(engine) as seen, engine.begin() as conn:
        land_covered(conn, SEARCH_CONSOLE_ROWS, [[record]], "sc-domain:example.com", DAY, DAY, None, DAY,
                     StreamResult("search_console", "rows", DAY, DAY), HASHER)
    with engine.connect() as conn:
        per_day = dict(conn.execute(select(t.c.date, func.count()).group_by(t.c.date)).all())
    assert per_day == {d: 1 if d == DAY else 6 for d in days}  # the day replaced whole, every other day kept

    (statement, parameters), = [(s, p) for s, p in seen if s.lstrip().upper().startswith("DELETE FROM RAW_SEARCH")]
    with engine.connect() as conn:
        lines = plan(conn, statement, parameters)
    shown = " ".join(lines)
    if engine.dialect.name == "sqlite":
        assert "USING PRIMARY KEY" in shown or "sqlite_autoindex_raw_search_console_rows" in shown, shown
        assert "report=?" in shown, shown  # the reports and the day narrow the search
        assert "date>" in shown, shown
    else:
        assert "Index Cond" in shown, shown
        assert "report" in shown.split("Index Cond", 1)[1], shown


def test_a_mailchimp_window_is_counted_through_the_time_index(engine: Engine) -> None:
    with statements(engine) as seen, engine.connect() as conn:
        stored_days(conn, MAILCHIMP_ACTIVITY, "acct", DAY, DAY + dt.timedelta(days=2))
    (statement, parameters), = [(s, p) for s, p in seen if "raw_mailchimp_activity" in s]
    with engine.connect() as conn:
        lines = plan(conn, statement, parameters)
    assert windowed(lines, engine.dialect.name) == [], lines
    assert any("timestamp" in line for line in lines), lines


def _every_plan(engine: Engine, run: Callable[[Connection], object]) -> dict[str, list[str]]:
    with statements(engine) as seen, engine.begin() as conn:
        run(conn)
    with engine.connect() as conn:
        return {statement: plan(conn, statement, parameters) for statement, parameters in seen
                if statement.lstrip().upper().startswith(("SELECT", "DELETE", "WITH"))
                and any(re.search(rf"\b{t}\b", statement) for t in DATED_BY)}


def test_mapping_a_window_reads_and_replaces_only_its_days(engine: Engine) -> None:
    journey_map = load_map(EXAMPLE_MAP)
    accounts = {s: "acct" for s in journey_map.used_sources()}
    for accounts_given in (accounts, None):  # a run's accounts, and every account
        plans = _every_plan(engine, lambda conn, a=accounts_given: map_window(  # type: ignore[misc]
            conn, journey_map, DAY - dt.timedelta(days=20), DAY, a))
        read = {t for s in plans for t in DATED_BY if re.search(rf"\b{t}\b", s)}
        assert {"raw_ga4_rows", "raw_mailchimp_activity", "raw_stripe_checkout_sessions",
                "touchpoint_daily"} <= read, read
        wrong = {" ".join(s.split())[:160]: w for s, lines in plans.items()
                 if (w := windowed(lines, engine.dialect.name))}
        assert wrong == {}, (accounts_given, wrong)


def test_the_quality_checks_read_only_the_windows_days(engine: Engine) -> None:
    journey_map = load_map(EXAMPLE_MAP)
    since = DAY - dt.timedelta(days=30)
    history = {source: [((since + dt.timedelta(days=i)).isoformat(), 10) for i in range(31)] for source in DAILY}
    queries = [daily_history_query(source, since, DAY, engine.dialect.name) for source in DAILY]
    queries += sorted({c.query for c in build_suite(journey_map, since, DAY, DAY, history, {}) if c.query})
    assert any("raw_ga4_rows" in q for q in queries[len(DAILY):]), queries
    with engine.connect() as conn:
        wrong = {q[:160]: w for q in queries if (w := windowed(plan(conn, q), engine.dialect.name))}
    assert wrong == {}, wrong
