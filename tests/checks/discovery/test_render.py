"""The proposal's YAML reads back as exactly the map it was written from, whatever the names hold, and carries a
comment beside every touchpoint."""

from __future__ import annotations

from pathlib import Path

from checks.discovery.parts import exact
from checks.discovery.proposal import Proposal
from checks.discovery.render import render_yaml
from models.config import Business, Journey, JourneyMap, Persona, Stage, Touchpoint
from models.mapfile import load_map

AWKWARD = ["Bakers' Club: 50% off #1", "* starred & anchored @home", "Ünïcödé — “curly” quotes", "- dash first",
           "yes", "null", "123", "a: b", "{braces}", "[brackets]", "tab\there", "trailing space "]


def test_awkward_names_and_patterns_read_back_unchanged(tmp_path: Path) -> None:
    tps = [Touchpoint(id=f"t{i}", name=name, stage="purchase", source="ga4", volume="screenPageViews",
                      success="keyEvents", match={"page_path": r"/shop/[^/]+/?\?q=\d+|" + exact(name)})
           for i, name in enumerate(AWKWARD)]
    tps.append(Touchpoint(id="welcome-1", name="Welcome: 1", stage="purchase", source="mailchimp", volume="sent",
                          match={"automation": r"Starter guide \(new\)", "email": 1}))
    jm = JourneyMap(business=Business(name="O'Brien & Sons: \"bakers\"", timezone="Europe/Dublin", currency="EUR"),
                    stages=[Stage(id="purchase", name="Purchase")],
                    personas=[Persona(name="mobile", description="On: phones", where={"device": "mobile"})],
                    journeys=[Journey(id="shop", name="Shop #1", goal="Buy: anything", value=12.5,
                                      goal_touchpoint="t0", touchpoints=tps)])
    notes = {tp.id: f"{i:,} page views in 90 days — why: because" for i, tp in enumerate(tps)}
    path = tmp_path / "journey.proposed.yaml"
    path.write_text(render_yaml(Proposal(jm, notes), header=["a header", "", "with: a colon"]), encoding="utf-8")
    assert load_map(path) == jm
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# a header\n#\n# with: a colon\n")
    for tp in tps:
        assert f"      # {notes[tp.id]}\n      - id: {tp.id}\n" in text
