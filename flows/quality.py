"""The data-quality step of a run: build the suite for the window, run it through Great Expectations, store
every result (replacing the day's earlier ones), and say what failed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine, delete, select

from checks.quality import CheckResult, as_row, run_checks
from checks.quality_suite import build_suite, suite_inputs
from checks.quality_sync import settled_results, stream_results
from connectors.registry import BY_NAME as CONNECTORS
from models.config import JourneyMap
from models.store import insert_rows
from models.sync.ledger import unsettled
from models.tables import QualityResultRow, table_of


def quality_results(engine: Engine, url: str, journey_map: JourneyMap, since: dt.date, until: dt.date,
                    as_of: dt.date, accounts: Mapping[str, str | None] | None = None,
                    skipped: Mapping[str, Mapping[str, str]] | None = None) -> list[CheckResult]:
    """Run the suite over since..until as judged on `as_of` and the sync's own checks (days not settled yet, of
    `accounts`' rows; optional streams `skipped`), and store their results."""
    with engine.connect() as conn:
        history, mapped = suite_inputs(conn, journey_map, since, until)
        sources = [s for s in journey_map.used_sources() if not CONNECTORS[s].read_whole]  # those with a ledger
        late = {s: unsettled(conn, s, (accounts or {}).get(s), since, until) for s in sources}
    checks = build_suite(journey_map, since, until, as_of, history, mapped)
    severity = journey_map.quality.severity
    results = run_checks(url, checks, severity)
    results += settled_results(late, {s: journey_map.source_settings(s).settle_days for s in sources}, as_of,
                               severity)
    results += stream_results(skipped or {}, severity)
    table = table_of(QualityResultRow)
    with engine.begin() as conn:
        conn.execute(delete(table).where(table.c.as_of == as_of))
        insert_rows(conn, table, [as_row(r, as_of, since, until) for r in results])
    return results


@task(cache_policy=NO_CACHE)
def check_quality(engine: Engine, url: str, journey_map: JourneyMap, since: dt.date, until: dt.date,
                  as_of: dt.date, accounts: Mapping[str, str | None] | None = None,
                  skipped: Mapping[str, Mapping[str, str]] | None = None) -> list[CheckResult]:
    """The run's data-quality checks; failures are logged as warnings (blocking ones as errors)."""
    results = quality_results(engine, url, journey_map, since, until, as_of, accounts, skipped)
    logger = get_run_logger()
    for r in results:
        if not r.success:
            (logger.error if r.blocking else logger.warning)("data quality: %s", r.summary())
    logger.info("data quality: %d checks, %d failed (%d blocking)", len(results),
                sum(not r.success for r in results), sum(r.blocking for r in results))
    return results


def stored_results(engine: Engine, as_of: dt.date | None) -> tuple[dt.date | None, list[dict[str, Any]]]:
    """The stored results of `as_of` (default: the newest day checked), as rows."""
    table = table_of(QualityResultRow)
    with engine.connect() as conn:
        day = as_of or conn.execute(select(table.c.as_of).order_by(table.c.as_of.desc()).limit(1)).scalar()
        if day is None:
            return None, []
        rows = conn.execute(select(table).where(table.c.as_of == day)
                            .order_by(table.c.success, table.c.severity, table.c.check_name)).mappings().all()
    return day, [dict(r) for r in rows]
