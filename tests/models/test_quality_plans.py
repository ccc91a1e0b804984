"""What the quality step runs finds the window's rows through an index: every statement of it (the suite's inputs, the
day ledger, and each query Great Expectations builds over a batch), planned on both databases, and the lookups of a
day that the run's other tables serve."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event

from checks.incident_store import load_incidents
from flows.quality import quality_results
from models.mapfile import load_map
from tests.conftest import EXAMPLE_MAP
from tests.models import test_window_plans as window_plans
from tests.models.test_window_plans import DATED_BY, DAY, plan, windowed

# besides the landing tables and the facts: the operational tables a run reads a day or a window of
OPERATIONAL = {"quarantine": ("seen_on",), "synced_days": ("day",), "incident_events": ("as_of",)}


@pytest.fixture(autouse=True)
def operational(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(window_plans, "DATED_BY", {**DATED_BY, **OPERATIONAL})


@contextmanager
def every_statement() -> Iterator[list[tuple[str, Any]]]:
    """The single statements any engine runs inside the block (Great Expectations opens its own)."""
    seen: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if not many:
            seen.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", keep)


def reads(seen: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [(s, p) for s, p in seen if s.lstrip().upper().startswith(("SELECT", "WITH", "DELETE"))
            and any(re.search(rf"\b{t}\b", s) for t in window_plans.DATED_BY)]


def test_every_statement_of_the_quality_step_reads_its_window_through_an_index(engine: Engine) -> None:
    journey_map = load_map(EXAMPLE_MAP)
    url = engine.url.render_as_string(hide_password=False)
    accounts = {s: "acct" for s in journey_map.used_sources()}
    since = DAY - dt.timedelta(days=52)
    with every_statement() as seen:
        results = quality_results(engine, url, journey_map, since, DAY - dt.timedelta(days=1), DAY, accounts)
    assert results
    assert [r.summary() for r in results if r.observed.startswith("could not run")] == []
    statements = reads(seen)
    read = {t for s, _ in statements for t in window_plans.DATED_BY if re.search(rf"\b{t}\b", s)}
    assert {"raw_ga4_rows", "raw_mailchimp_activity", "raw_stripe_checkout_sessions", "touchpoint_daily",
            "unmapped_daily", "quarantine", "synced_days"} <= read, read
    # the suite's checks as Great Expectations runs them, the one GROUP BY over a landing table's window among them
    assert any("substituted_batch_subquery" in s and "raw_mailchimp_activity" in s and "GROUP BY" in s
               for s, _ in statements), statements
    with engine.connect() as conn:
        wrong = {" ".join(s.split())[:200]: w for s, p in statements
                 if (w := windowed(plan(conn, s, p), engine.dialect.name))}
    assert wrong == {}, wrong


def test_a_days_incident_events_are_found_through_their_day(engine: Engine) -> None:
    with every_statement() as seen, engine.connect() as conn:
        load_incidents(conn, DAY)
    statements = [(s, p) for s, p in reads(seen) if "incident_events" in s]
    assert statements, seen
    with engine.connect() as conn:
        wrong = {s: w for s, p in statements if (w := windowed(plan(conn, s, p), engine.dialect.name))}
    assert wrong == {}, wrong
