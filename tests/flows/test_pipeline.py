"""`journeymap run --demo` end to end, against a Prefect test server, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import create_engine, inspect, select, text

import models.backfill  # (registers the backfill chunk records: they are compared too)
import models.outbox  # noqa: F401  (the Slack outbox is compared too)
from models.db import make_engine
from models.mapfile import load_map
from models.tables import Base
from reports.map_png import map_png
from reports.page_data import build_page
from tests.conftest import EXAMPLE_MAP, ROOT, journeymap, latest_artifact
from tests.reports.map_html import check_in_browser, golden, structure

AS_OF = "2026-09-30"
GOLDEN_MAP = ROOT / "tests" / "fixtures" / "map" / "demo-2026-09-30.json"
pytestmark = pytest.mark.slow


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    engine = create_engine(url)
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            order = list(table.primary_key.columns)
            tables[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*order))]
        tables["alembic_version"] = [tuple(r) for r in conn.execute(text("select * from alembic_version"))]
        names = set(inspect(conn).get_table_names())
    engine.dispose()
    assert names == set(tables), "a table is missing from the comparison"
    return tables


@pytest.fixture
def env(db_url: str, prefect_api_url: str) -> dict[str, str]:
    return {"JOURNEY_DATABASE_URL": db_url, "JOURNEY_MAP_FILE": str(EXAMPLE_MAP), "PREFECT_API_URL": prefect_api_url}


def test_demo_run_twice_leaves_every_table_identical_and_shows_the_map(env: dict[str, str], tmp_path: Path) -> None:
    first = journeymap("run", "--demo", "--as-of", AS_OF, env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    once = dump(env["JOURNEY_DATABASE_URL"])
    second = journeymap("run", "--demo", "--as-of", AS_OF, env=env)
    assert second.returncode == 0, second.stderr[-3000:]
    twice = dump(env["JOURNEY_DATABASE_URL"])
    for name in once:
        assert once[name] == twice[name], f"table {name} changed on the second run"
    for name in ("raw_ga4_rows", "raw_mailchimp_activity", "raw_stripe_checkout_sessions", "touchpoint_daily"):
        assert len(once[name]) > 1000, name
    assert len({row[0] for row in once["touchpoint_daily"]}) == 180  # days
    assert len(once["raw_survey_responses"]) > 500  # the demo's NPS answers, shown per stage
    assert "Customer feedback (NPS per stage)" in second.stdout
    assert "ga4/rows: 2026-04-03..2026-09-29" in first.stderr  # the first run loads the 180 days before --as-of …
    assert "ga4/rows: 2026-09-28..2026-09-29" in second.stderr  # … the second re-reads the days not yet settled

    journey_map = load_map(EXAMPLE_MAP)
    for name in [j.name for j in journey_map.journeys] + [s.name for s in journey_map.stages]:
        assert name in second.stdout
    engine = create_engine(env["JOURNEY_DATABASE_URL"])
    since = dt.date.fromisoformat(AS_OF) - dt.timedelta(days=28)
    with engine.connect() as conn:
        volumes = dict(conn.execute(text(
            "select touchpoint_id, sum(volume) from touchpoint_daily where segment = 'all' and date >= :d "
            "group by touchpoint_id"), {"d": since}).all())
    engine.dispose()
    markdown = journeymap("map", "--format", "markdown", env=env)
    assert markdown.returncode == 0, markdown.stderr
    for _, tp in journey_map.touchpoints():
        assert volumes.get(tp.id, 0) > 0, f"touchpoint {tp.id} has no volume"
        assert f"| {tp.name} |" in markdown.stdout

    course = journeymap("map", "--format", "markdown", "--journey", "course", env=env)
    assert course.returncode == 0, course.stderr
    assert course.stdout.startswith("# ")
    assert "### Purchase" in course.stdout
    assert journey_map.journeys[1].name not in course.stdout
    persona = journeymap("map", "--persona", journey_map.personas[0].name, env=env)
    assert persona.returncode == 0, persona.stderr
    assert "n/a" in persona.stdout
    artifact = latest_artifact(env["PREFECT_API_URL"], "journey-map")
    assert journey_map.journeys[0].name in artifact
    assert "## Data-quality checks" in artifact
    assert latest_artifact(env["PREFECT_API_URL"], "data-quality").startswith("## Data-quality checks")
    assert "journey-map.html)" in latest_artifact(env["PREFECT_API_URL"], "journey-map-html")  # a link to it
    assert "Data-quality checks: all" in first.stdout  # the demo's data is clean
    checks = journeymap("checks", "--as-of", AS_OF, env=env)
    assert checks.returncode == 0, checks.stderr
    rendered_map_is_the_golden_one_and_reads_in_a_browser(env, tmp_path)

    # detection: the run judged 2026-09-30 and printed its open incidents (see connectors/demo: INCIDENTS)
    assert "Open incidents as of 2026-09-30" in second.stdout
    assert "Welcome 2" in second.stdout  # the welcome email 2 open-rate drop from 2026-09-10
    replay = journeymap("backtest", "--start", "2026-08-01", "--end", "2026-09-30", env={**env, "COLUMNS": "300"})
    assert replay.returncode == 0, replay.stderr[-3000:]
    assert "opened" in replay.stdout
    assert "flatline" in replay.stdout  # the sponsor link that stopped firing on 2026-09-26
    assert "collapse" in replay.stdout  # Stripe Checkout declining cards, 2026-09-20 … 23
    assert "Free starter guide landing page" in replay.stdout  # the slow decline of August
    bad = journeymap("annotate", "--touchpoint", "kart", "--date", "2026-09-01", "--note", "x", env=env)
    assert bad.returncode == 2
    assert "is not in" in bad.stderr
    good = journeymap("annotate", "--touchpoint", "cart", "--date", "2026-09-01", "--note", "one-page cart", env=env)
    assert good.returncode == 0, good.stderr
    engine = create_engine(env["JOURNEY_DATABASE_URL"])
    with engine.connect() as conn:
        assert conn.execute(text("select note from annotations")).scalar_one() == "one-page cart"
    engine.dispose()

    # what an alert's buttons do, from the command line: acknowledge, snooze, and an unknown key
    key = "course|welcome-email-2|all|drop"
    acked = journeymap("incident", "ack", key, "--as-of", AS_OF, env=env)
    assert acked.returncode == 0, acked.stderr[-3000:]
    assert f"{key}: acknowledged" in acked.stdout
    assert "Acknowledged on 2026-09-30" in acked.stdout  # the reply in the incident's thread (written: no token)
    stall = "sponsored|sponsored-post-page|all|stall"  # the sponsor link that stopped firing on 2026-09-26
    snoozed = journeymap("incident", "snooze", stall, "--days", "3", "--as-of", AS_OF, env=env)
    assert snoozed.returncode == 0, snoozed.stderr[-3000:]
    unknown = journeymap("incident", "snooze", "course|nope|all|drop", env=env)
    assert unknown.returncode == 2
    assert "no incident 'course|nope|all|drop'; open ones: " in unknown.stderr
    assert key in unknown.stderr
    engine = create_engine(env["JOURNEY_DATABASE_URL"])
    with engine.connect() as conn:
        assert conn.execute(text("select acknowledged from incidents where key = :k"), {"k": key}).scalar_one()
        until = conn.execute(text("select snoozed_until from incidents where key = :k"), {"k": stall}).scalar_one()
    engine.dispose()
    assert str(until)[:10] == "2026-10-03"


def test_a_demo_day_without_ga4_data_fails_its_checks_names_the_day_and_leaves_only_that_day_out(
        env: dict[str, str]) -> None:
    run = journeymap("run", "--demo", "--as-of", AS_OF, "--demo-outage", "2026-09-20",
                     env={**env, "COLUMNS": "250"})
    assert run.returncode == 1, run.stderr[-3000:]  # a blocking check failed; what passed is stored
    assert "2 failed, 2 of them blocking" in run.stdout
    assert "ga4 has data for every matured day" in run.stdout
    assert '{"day": "2026-09-20", "usual": ' in run.stdout  # which rows: the missing day, and its usual rows
    assert '"n": 0.0' in run.stdout  # and the volume check's view of it
    # the gap matured on 09-22 (its data alert then); ten days on it is left out of GA4's baselines and windows,
    # and no GA4 step is held back for it
    assert "data alert: ga4" not in run.stderr
    assert "held back" not in run.stderr
    stored = journeymap("checks", env={**env, "COLUMNS": "250"})
    assert stored.returncode == 1
    assert "2026-09-30: Data-quality checks: " in stored.stdout
    assert "2026-09-20" in stored.stdout


def rendered_map_is_the_golden_one_and_reads_in_a_browser(env: dict[str, str], tmp_path: Path) -> None:
    """`journeymap map --format html` on the demo: every persona, journey, stage column and card with its figures
    as in the golden file (the same on both warehouses), offline, and readable in Chromium."""
    page_file = tmp_path / "journey-map.html"
    done = journeymap("map", "--format", "html", "--as-of", "2026-09-30", "--out", str(page_file), env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    html = page_file.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:)?//|<script|@import|url\(""", html)  # nothing fetched
    journey_map = load_map(EXAMPLE_MAP)
    found = structure(html)
    assert list(found) == ["all"] + [p.name for p in journey_map.personas]
    golden(GOLDEN_MAP, found)
    check_in_browser(page_file, {tp.id: tp.name for _, tp in journey_map.touchpoints()},
                     journey_map.personas[0].name, tmp_path / "map.png")
    engine = make_engine(env["JOURNEY_DATABASE_URL"])
    page = build_page(engine, journey_map, dt.date(2026, 9, 30))
    engine.dispose()
    for persona in page.personas:  # every persona, every journey, and all journeys at once: a PNG of ≤ 2 MB
        for journey in [None] + [j.id for j in journey_map.journeys]:
            png = map_png(page, persona.name, journey)
            with Image.open(io.BytesIO(png)) as image:
                assert image.format == "PNG"
                assert 600 <= image.width <= 2000, (persona.name, journey, image.size)  # 3 to 5 stage columns
            assert len(png) <= 2_000_000, (persona.name, journey, len(png))
