"""Survey exports end to end: `journeymap run --sources surveys` on CSV files, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import example_map_with, journeymap
from tests.flows.sync_helpers import run_source

AS_OF = "2026-09-30"
COLUMNS = {"date": "Submitted At", "score": "How likely?", "stage": "Stage", "comment": "Why?", "id": "Response ID"}
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


def test_an_export_that_cannot_be_read_is_bad_input_and_the_others_still_load(
        db_url: str, tmp_path: Path, prefect_api_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The files are found beside journey.yaml (not the working directory); a missing one is named, not a
    failure of the source."""
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "nps.csv").write_text(GOOD, encoding="utf-8")
    map_file = example_map_with(tmp_path, surveys=[
        {"name": "gone", "file": "exports/gone.csv", "stage": "advocacy", "columns": COLUMNS},
        {"name": "nps", "file": "exports/nps.csv", "stage": "advocacy", "columns": COLUMNS}])
    monkeypatch.setenv("JOURNEY_MAP_FILE", str(map_file))
    monkeypatch.delenv("JOURNEY_HASH_SALT", raising=False)
    monkeypatch.chdir(Path(__file__).parent)
    done = run_source(db_url, str(map_file), "surveys", dt.date.fromisoformat(AS_OF))
    assert not done.failure, done.failure
    assert not done.misconfigured
    missing, bad_row = done.bad_input
    assert missing == f"{(tmp_path / 'exports' / 'gone.csv').resolve()}: the file does not exist; check the path in " \
                      "journey.yaml"
    assert bad_row.startswith("nps.csv row 7, column 'How likely?': 11 is not a score")
    assert [(s.stream, s.rows, s.quarantined) for s in done.streams] == [("nps", 5, 1)]
    assert [r[0] for r in rows(db_url, "select response_id from raw_survey_responses order by response_id")] == \
        ["r1", "r2", "r3", "r4", "r5"]


def test_no_export_that_can_be_read_still_says_which_days_it_covers(
        db_url: str, tmp_path: Path, prefect_api_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    map_file = example_map_with(tmp_path, surveys=[{"name": "gone", "file": "gone.csv", "columns": COLUMNS}],
                                sources={"surveys": {"history_days": 10}})
    monkeypatch.setenv("JOURNEY_MAP_FILE", str(map_file))
    done = run_source(db_url, str(map_file), "surveys", dt.date.fromisoformat(AS_OF))
    assert not done.failure, done.failure
    assert len(done.bad_input) == 1
    assert [(s.source, s.stream, s.since, s.until, s.rows) for s in done.streams] == [
        ("surveys", "responses", dt.date(2026, 9, 20), dt.date(2026, 9, 29), 0)]  # its history, lag 1


def test_a_run_says_only_the_days_whose_answers_changed_so_mapping_redoes_those(
        db_url: str, survey_map: Path, prefect_api_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An export is read whole every run; mapping it whole again every day would grow with its history. The
    first read covers every answer's day, an unchanged export the day before as-of, a corrected old answer and a
    new one those two days."""
    monkeypatch.setenv("JOURNEY_MAP_FILE", str(survey_map))
    as_of = dt.date.fromisoformat(AS_OF)

    def days() -> list[tuple[dt.date, dt.date]]:
        done = run_source(db_url, str(survey_map), "surveys", as_of)
        return [(s.since, s.until) for s in done.streams]
    assert days() == [(dt.date(2026, 9, 10), dt.date(2026, 9, 13))]  # r6 is quarantined
    assert days() == [(dt.date(2026, 9, 29), dt.date(2026, 9, 29))]
    export = survey_map.parent / "exports" / "nps.csv"
    export.write_text(export.read_text(encoding="utf-8").replace("r2,2026-09-11 09:00:00,9", "r2,2026-09-11 09:00:00,6")
                      + "r7,2026-09-28 09:00:00,10,retention,\n", encoding="utf-8")
    assert days() == [(dt.date(2026, 9, 11), dt.date(2026, 9, 28))]
    assert rows(db_url, "select score from raw_survey_responses where response_id = 'r2'") == [(6,)]
