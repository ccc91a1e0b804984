"""Owners in journey.yaml: a Slack member or user-group id per journey and per stage, checked with the fix."""

from __future__ import annotations

import pytest

from models.mapfile import MapConfigError, parse_map
from tests.models.test_mapfile import GOOD, edit


def with_owners(stage: str, journey: str) -> str:
    text = edit(GOOD, "  - {id: purchase, name: Purchase}", f"  - {{id: purchase, name: Purchase, owner: '{stage}'}}")
    return edit(text, "    value: 20\n", f"    value: 20\n    owner: '{journey}'\n")


def test_owners_name_who_acts_stage_first_each_once() -> None:
    journey_map = parse_map(with_owners("S0123ABCD", "U012AB3CDE"))
    assert journey_map.owners("shop", "purchase") == ["S0123ABCD", "U012AB3CDE"]
    assert journey_map.owners("shop", "awareness") == ["U012AB3CDE"]  # no owner of its own: the journey's
    same = parse_map(with_owners("<@U012AB3CDE>", "U012AB3CDE"))  # a pasted mention is read as its id
    assert same.owners("shop", "purchase") == ["U012AB3CDE"]
    assert parse_map(GOOD).owners("shop", "purchase") == []


@pytest.mark.parametrize("owner", ["alice", "@alice", "#growth", "u012ab3cde", "C0123ABCD"])
def test_an_owner_that_slack_cannot_mention_names_the_line_and_the_fix(owner: str) -> None:
    with pytest.raises(MapConfigError) as caught:
        parse_map(with_owners("S0123ABCD", owner), "shop.yaml")
    first = caught.value.problems[0]
    assert (first.file, first.line) == ("shop.yaml", 13), str(caught.value)  # the journey's owner line
    assert f"owner {owner!r} is not a Slack member or user-group id" in first.message
    assert "Copy member ID" in first.message
    with pytest.raises(MapConfigError) as caught:
        parse_map(with_owners(owner, "U012AB3CDE"), "shop.yaml")
    assert caught.value.problems[0].line == 7  # the stage's line
