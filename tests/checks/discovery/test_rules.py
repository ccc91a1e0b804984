"""The stage rules of `journeymap discover`: they place the demo business's every touchpoint where its map puts it,
and name their reason; common pages and emails of other businesses land where a journey-mapping guide puts them."""

from __future__ import annotations

import pytest

from checks.discovery.rules import RULES, Candidate, StageRule, assign_stage, candidate_of
from models.mapfile import load_map
from tests.conftest import EXAMPLE_MAP


def test_the_rules_place_every_touchpoint_of_the_demo_map_in_its_stage() -> None:
    journey_map = load_map(EXAMPLE_MAP)
    placed = {tp.id: assign_stage(candidate_of(tp)) for _, tp in journey_map.touchpoints()}
    wrong = {tp.id: (tp.stage, placed[tp.id][0]) for _, tp in journey_map.touchpoints()
             if placed[tp.id][0] != tp.stage}
    assert not wrong  # touchpoint → (the map's stage, the rules' stage)
    assert placed["gear-reviews"] == ("consideration",
                                      "content, lead magnets, sign-ups and the emails that follow them")
    assert placed["course-review"][0] == "advocacy"  # submitting a review, unlike reading one


@pytest.mark.parametrize(("candidate", "stage"), [
    (Candidate("page", "/pricing/"), "purchase"),
    (Candidate("page", "/blog/how-to-proof-dough/"), "consideration"),
    (Candidate("email", "Annual plan renewal reminder"), "retention"),
    (Candidate("email", "Ask happy customers for a testimonial"), "advocacy"),
    (Candidate("event", "generate_lead"), "consideration"),
    (Candidate("event", "login"), "retention"),
    (Candidate("page", "/members/log-in/"), "retention"),
    (Candidate("page", "/free-blogging-checklist/"), "consideration"),  # "blogging" is no log-in
    (Candidate("traffic", "source=google medium=organic"), "awareness"),
    (Candidate("campaign", "October newsletter"), "awareness"),
    (Candidate("checkout", "Gift card"), "purchase"),
    (Candidate("page", "/course/thank-you"), "purchase"),  # the confirmation after the checkout
    (Candidate("page", "/order-confirmation/"), "purchase"),
    (Candidate("email", "Your receipt from The Profitable Blog"), "purchase"),
])
def test_common_touchpoints_land_in_the_stage_a_journey_map_puts_them(candidate: Candidate, stage: str) -> None:
    assert assign_stage(candidate)[0] == stage


def test_a_candidate_no_rule_places_is_named_with_the_fix() -> None:
    with pytest.raises(ValueError, match="no rule places a checkout called 'Gift card'; add one to the rules"):
        assign_stage(Candidate("checkout", "Gift card"), rules=tuple(r for r in RULES if "checkout" not in r.kinds))
    custom = (StageRule("purchase", frozenset({"page"}), r"^/boutique/", "our shop lives under /boutique/"), *RULES)
    assert assign_stage(Candidate("page", "/boutique/bread-knife/"), custom) == (
        "purchase", "our shop lives under /boutique/")
