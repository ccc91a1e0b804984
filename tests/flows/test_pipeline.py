"""`journeymap run --demo` end to end, under a Prefect test server, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import create_engine, func, inspect, select, text
from typer.testing import CliRunner

from flows.cli import app
from models.tables import Base
from tests.conftest import EXAMPLE_MAP

AS_OF = "2026-09-30"
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    engine = create_engine(url)
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            order = list(table.primary_key.columns)
            tables[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*order))]
        tables["alembic_version"] = [tuple(r) for r in conn.execute(text("select * from alembic_version"))]
    engine.dispose()
    return tables


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("JOURNEY_DATABASE_URL", db_url)
    monkeypatch.setenv("JOURNEY_MAP_FILE", str(EXAMPLE_MAP))
    return db_url


def test_demo_run_twice_leaves_every_table_identical(env: str) -> None:
    first = CliRunner().invoke(app, ["run", "--demo", "--as-of", AS_OF])
    assert first.exit_code == 0, first.output
    once = dump(env)
    second = CliRunner().invoke(app, ["run", "--demo", "--as-of", AS_OF])
    assert second.exit_code == 0, second.output
    twice = dump(env)
    assert set(once) == set(inspect(create_engine(env)).get_table_names())
    for name in once:
        assert once[name] == twice[name], f"table {name} changed on the second run"
    assert len(once["touchpoint_daily"]) > 10_000
    assert len(once["raw_ga4_rows"]) > 0
    assert len(once["raw_mailchimp_activity"]) > 0
    assert len(once["raw_stripe_checkout_sessions"]) > 0
    # the second run re-read only the lookback days, and said so
    assert "touchpoint_daily" in second.output


def test_demo_map_shows_every_journey_stage_and_touchpoint(env: str) -> None:
    from models.mapfile import load_map

    result = CliRunner().invoke(app, ["run", "--demo", "--as-of", AS_OF], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    journey_map = load_map(EXAMPLE_MAP)
    for journey in journey_map.journeys:
        assert journey.name in result.output
    for stage in journey_map.stages:
        assert stage.name in result.output
    engine = create_engine(env)
    since = dt.date.fromisoformat(AS_OF) - dt.timedelta(days=28)
    with engine.connect() as conn:
        volumes = dict(conn.execute(text(
            "select touchpoint_id, sum(volume) from touchpoint_daily where segment = 'all' and date >= :d "
            "group by touchpoint_id"), {"d": since}).all())
        days = conn.execute(select(func.count(func.distinct(text("date")))).select_from(
            Base.metadata.tables["touchpoint_daily"])).scalar_one()
    engine.dispose()
    for _, tp in journey_map.touchpoints():
        assert volumes.get(tp.id, 0) > 0, f"touchpoint {tp.id} has no volume"
        assert tp.name in result.output
    assert days == 180

    markdown = CliRunner().invoke(app, ["map", "--format", "markdown", "--journey", "course"])
    assert markdown.exit_code == 0, markdown.output
    assert markdown.output.startswith("# ")
    assert "## " in markdown.output
    assert "| Touchpoint |" in markdown.output
    assert journey_map.journeys[1].name not in markdown.output
