"""Replacing a GA4 day finds the day through the primary key: its cost does not grow with the property's history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, event, func, select, text

from models.sources.ga4.landing import replace_ga4_day
from models.sources.ga4.tables import Ga4Row
from models.tables import table_of

DAY = dt.date(2026, 9, 14)


def ga4_row(report: str, day: dt.date, key: str) -> dict[str, Any]:
    return {"property_id": "p1", "report": report, "date": day, "row_key": key, "item": "/", "channel": "Direct",
            "source": "(direct)", "medium": "(none)", "device": "mobile", "user_type": "new", "country": "GB",
            "sessions": 1, "screen_page_views": 1, "event_count": 1, "key_events": 0.0, "purchase_revenue": 0.0}


def test_a_day_is_replaced_through_the_primary_key_and_only_that_day(engine: Engine) -> None:
    days = [DAY + dt.timedelta(days=i) for i in range(-3, 4)]
    with engine.begin() as conn:
        conn.execute(table_of(Ga4Row).insert(), [ga4_row(r, d, f"{r}{i}") for d in days
                                                 for r in ("traffic", "pages", "events") for i in range(3)])
    deletes: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM RAW_GA4_ROWS"):
            deletes.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        with engine.begin() as conn:
            written = replace_ga4_day(conn, "p1", DAY, [ga4_row("traffic", DAY, "new")], [])
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert written == 1
    with engine.connect() as conn:
        per_day = dict(conn.execute(select(Ga4Row.date, func.count()).group_by(Ga4Row.date)).all())
    assert per_day == {d: 1 if d == DAY else 9 for d in days}  # the day replaced, every other day kept

    (statement, parameters), = deletes
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
            assert "USING PRIMARY KEY" in plan or "USING INDEX" in plan, plan
            assert "report=?" in plan, plan  # the report and the day narrow the search
            assert "date>" in plan, plan
        else:
            conn.execute(text("SET enable_seqscan = off"))  # the plan the planner takes on a long history
            plan = " ".join(str(r[0]) for r in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters))
            assert "Index Cond" in plan, plan
            assert "report" in plan.split("Index Cond", 1)[1], plan
