"""journey.yaml validation: every broken input names file:line and the fix, exits 2, touches nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect
from typer.testing import CliRunner

from flows.cli import app
from models.mapfile import MapConfigError, load_map, parse_map
from tests.conftest import EXAMPLE_MAP

GOOD = """\
business:
  name: Test shop
  timezone: Europe/London
  currency: GBP
stages:
  - {id: awareness, name: Awareness}
  - {id: purchase, name: Purchase}
journeys:
  - id: shop
    name: Shop
    goal: a sale
    value: 20
    touchpoints:
      - id: landing
        name: Landing page
        stage: awareness
        source: ga4
        match: {page_path: '^/$'}
        volume: screenPageViews
      - id: cart
        name: Cart
        stage: purchase
        source: ga4
        match: {page_path: '^/cart$'}
        volume: screenPageViews
"""

SURVEY = """surveys:
  - name: nps
    file: nps.csv
    columns: {date: Date, score: Score}
    stage: purchase
"""
# (name, text edit, line the error must name, words the message must contain)
BROKEN = [
    ("unknown stage", ("stage: purchase", "stage: purchse"), 22,
     ["unknown stage 'purchse'", "did you mean 'purchase'"]),
    ("duplicate touchpoint id", ("id: cart", "id: landing"), 20,
     ["duplicate touchpoint id 'landing'", "line 14", "rename one"]),
    ("invalid regex", ("'^/cart$'", "'^/cart($'"), 24, ["invalid regex", "match.page_path", "escape"]),
    ("unknown source", ("source: ga4\n        match: {page_path: '^/cart",
                        "source: ga5\n        match: {page_path: '^/cart"), 23,
     ["unknown source 'ga5'", "did you mean 'ga4'", "sources are"]),
    ("yaml syntax error", ("goal: a sale", "goal: [a sale"), 12, ["YAML syntax error", "starts on line 11"]),
    ("unknown metric", ("volume: screenPageViews\n      - id: cart", "volume: totalUsers\n      - id: cart"), 19,
     ["totalUsers is not additive", "use sessions"]),
    ("unknown field", ("        volume: screenPageViews\n", "        volume: screenPageViews\n        sucess: x\n"), 20,
     ["unknown field 'sucess'", "did you mean 'success'"]),
    ("money as success", ("volume: screenPageViews\n      - id: cart",
                          "volume: sessions\n        success: purchaseRevenue\n      - id: cart"), 20,
     ["success 'purchaseRevenue' is money, not a count", "success: keyEvents", "let purchaseRevenue show as revenue"]),
    ("money as volume", ("source: ga4\n        match: {page_path: '^/cart$'}\n        volume: screenPageViews",
                         "source: stripe\n        match: {product: course}\n        volume: revenue"), 25,
     ["volume 'revenue' is money, not a count", "volume: completed", "let revenue show as revenue"]),
    ("position as success", ("source: ga4\n        match: {page_path: '^/cart$'}\n        volume: screenPageViews",
                             "source: search_console\n        match: {page: '.*/cart/'}\n        volume: impressions\n"
                             "        success: position"), 26,
     ["success 'position' cannot be a volume or a conversion", "position is not additive over days",
      "use impressions or clicks; position is a mean"]),
    ("position as volume", ("source: ga4\n        match: {page_path: '^/cart$'}\n        volume: screenPageViews",
                            "source: search_console\n        match: {page: '.*/cart/', query: 'cart'}\n"
                            "        volume: position"), 25,
     ["volume 'position' cannot be a volume or a conversion", "use impressions or clicks; position is a mean"]),
    ("survey on an unknown stage", ("journeys:", SURVEY.replace("stage: purchase", "stage: purchse") + "journeys:"),
     12, ["survey 'nps' references unknown stage 'purchse'", "did you mean 'purchase'"]),
]


def edit(text: str, old: str, new: str) -> str:
    assert old in text, f"fixture edit {old!r} does not apply"
    return text.replace(old, new, 1)


def test_a_search_console_map_parses() -> None:
    text = edit(GOOD, "source: ga4\n        match: {page_path: '^/cart$'}\n        volume: screenPageViews",
                "source: search_console\n        match: {page: '.*/cart/', query: 'cart|basket'}\n"
                "        volume: impressions\n        success: clicks")
    journey_map = parse_map(text)
    assert journey_map.used_sources() == ["ga4", "search_console"]
    assert journey_map.source_settings("search_console").empty_retry_days == 3


def test_good_map_parses() -> None:
    journey_map = parse_map(GOOD)
    assert [tp.id for tp in journey_map.journeys[0].touchpoints] == ["landing", "cart"]
    assert journey_map.used_sources() == ["ga4"]


@pytest.mark.parametrize(("name", "change", "line", "words"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_map_names_line_and_fix(name: str, change: tuple[str, str], line: int, words: list[str]) -> None:
    with pytest.raises(MapConfigError) as caught:
        parse_map(edit(GOOD, *change), "shop.yaml")
    first = caught.value.problems[0]
    assert (first.file, first.line) == ("shop.yaml", line), str(caught.value)
    for word in words:
        assert word in first.message
    assert str(first).startswith(f"shop.yaml:{line}: ")


def test_missing_file_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(MapConfigError, match=r"file not found.*JOURNEY_MAP_FILE"):
        load_map(tmp_path / "nope.yaml")


def test_example_map_is_valid() -> None:
    journey_map = load_map(EXAMPLE_MAP)
    assert [s.id for s in journey_map.stages] == ["awareness", "consideration", "purchase", "retention", "advocacy"]
    assert len(journey_map.journeys) == 3
    assert {tp.stage for _, tp in journey_map.touchpoints()} == {s.id for s in journey_map.stages}


CLI_CASES = [(b[0], b[1], b[2]) for b in BROKEN[:5] + [b for b in BROKEN if b[0] in ("money as success",
                                                                                     "position as success")]] + [
    ("missing file", None, 0)]


@pytest.mark.parametrize(("name", "change", "line"), CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_exits_2_and_changes_nothing(name: str, change: tuple[str, str] | None, line: int, tmp_path: Path,
                                         db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    map_file = tmp_path / "journey.yaml"
    if change is not None:
        map_file.write_text(edit(GOOD, *change), encoding="utf-8")
    monkeypatch.setenv("JOURNEY_MAP_FILE", str(map_file))
    monkeypatch.setenv("JOURNEY_DATABASE_URL", db_url)
    for args in (["check-config"], ["run", "--demo", "--as-of", "2026-09-30"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, result.output
        lines = [ln for ln in result.output.splitlines() if ln.strip()]
        assert len(lines) == 1, result.output
        where = f"{map_file}:{line}: " if line else f"{map_file}: "
        assert where in lines[0]
    engine = create_engine(db_url)
    assert inspect(engine).get_table_names() == [], "a failed validation must not touch the database"
    engine.dispose()


def test_check_config_notes_a_survey_export_that_is_not_there_yet(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    map_file = tmp_path / "journey.yaml"
    map_file.write_text(GOOD + SURVEY, encoding="utf-8")
    monkeypatch.setenv("JOURNEY_MAP_FILE", str(map_file))
    result = CliRunner().invoke(app, ["check-config"])
    assert result.exit_code == 0, result.output
    assert "survey 'nps' reads" in result.output
    assert "does not exist yet" in result.output  # on one line, however long the path (no wrap inside it)
    (tmp_path / "nps.csv").write_text("Date,Score\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["check-config"])
    assert result.exit_code == 0
    assert "does not exist" not in result.output
