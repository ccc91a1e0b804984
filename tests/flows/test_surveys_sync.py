"""Survey exports end to end: `journeymap run --sources surveys` on CSV files, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import example_map_with, journeymap

AS_OF = "2026-09-30"
GOOD = """Response ID,Submitted At,How likely?,Stage,Why?
r1,2026-09-10 09:00:00,10,purchase,Great course
r2,2026-09-11 09:00:00,9,purchase,
r3,2026-09-12 09:00:00,3,purchase,"Checkout failed twice, mail me at ann@example.com"
r4,2026-09-12 10:00:00,2,purchase,"Checkout failed twice, mail me at ann@example.com"
r5,2026-09-13 09:00:00,8,retention,
r6,2026-09-14 09:00:00,11,retention,typo score
"""


@pytest.fixture
def survey_map(tmp_path: Path) -> Path:
    """The example map with one survey export beside it."""
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "nps.csv").write_text(GOOD, encoding="utf-8")
    return example_map_with(tmp_path, surveys=[{"name": "nps", "file": "exports/nps.csv", "stage": "advocacy",
                                                 "columns": {"date": "Submitted At", "score": "How likely?",
                                                             "stage": "Stage", "comment": "Why?",
                                                             "id": "Response ID"}}])


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        out = [tuple(r) for r in conn.execute(text(sql)).all()]
    engine.dispose()
    return out


@pytest.mark.slow
def test_a_partly_bad_export_loads_its_good_rows_names_the_bad_one_and_shows_nps(
        db_url: str, survey_map: Path, prefect_api_url: str) -> None:
    env = {"JOURNEY_DATABASE_URL": db_url, "JOURNEY_MAP_FILE": str(survey_map), "PREFECT_API_URL": prefect_api_url,
           "COLUMNS": "200"}
    first = journeymap("run", "--sources", "surveys", "--as-of", AS_OF, env=env)
    assert first.returncode == 2, first.stderr[-3000:]
    assert "nps.csv row 7, column 'How likely?': 11 is not a score" in first.stderr  # file, row, column
    stored = rows(db_url, "select response_id, score, stage, comment from raw_survey_responses order by response_id")
    assert [r[0] for r in stored] == ["r1", "r2", "r3", "r4", "r5"]
    assert all("@" not in r[3] for r in stored)  # the address was stripped before storage
    assert rows(db_url, "select source, stream, record_key from quarantine") == [("surveys", "nps", "nps.csv:7")]
    # NPS per stage over the 28 days before as-of: purchase 2 promoters, 2 detractors of 4 → 0; retention 1 passive
    assert "Customer feedback (NPS per stage)" in first.stdout
    feedback = first.stdout.split("Customer feedback (NPS per stage)", 1)[1].splitlines()
    purchase = next(line for line in feedback if line.startswith("│ Purchase "))
    assert "│       4 │  +0 │" in purchase
    assert "Checkout failed twice" in purchase  # the most frequent pain point

    again = journeymap("run", "--sources", "surveys", "--as-of", AS_OF, env=env)
    assert again.returncode == 2
    assert rows(db_url, "select response_id, score, stage, comment from raw_survey_responses order by response_id") \
        == stored
