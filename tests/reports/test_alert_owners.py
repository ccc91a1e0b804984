"""An alert says who should act and where to look: the owners of its stage and journey are mentioned, and its
buttons open the rendered map and the touchpoint's own report in its source (golden Block Kit)."""

from __future__ import annotations

import dataclasses
import json

from models.config import JourneyMap
from reports.slack import alert_message
from tests.reports.test_slack_messages import KEY, LINKS, MAP, OPENED, PAYLOAD, golden, within_limits


def owned(journey_map: JourneyMap) -> JourneyMap:
    stages = [s.model_copy(update={"owner": "S0123ABCD"}) if s.id == "purchase" else s for s in journey_map.stages]
    journeys = [j.model_copy(update={"owner": "U012AB3CDE"}) if j.id == "course" else j
                for j in journey_map.journeys]
    return journey_map.model_copy(update={"stages": stages, "journeys": journeys})


def test_an_alert_mentions_its_owners_and_links_the_map_and_the_source_report() -> None:
    links = dataclasses.replace(LINKS, map="https://maps.example/journey-map.html",
                                accounts={"stripe": "acct_1Abc"})
    message = alert_message(owned(MAP), KEY, PAYLOAD, status="open", severity="critical", opened_on=OPENED,
                            as_of=OPENED, links=links, message_key=f"alert|{KEY}|{OPENED}|{OPENED}|opened")
    golden("alert_open_owned", message)
    within_limits(message)
    shown = json.dumps(message["blocks"], ensure_ascii=False)
    assert "*Who acts:* <!subteam^S0123ABCD> <@U012AB3CDE>" in shown  # the stage's group, then the journey's owner
    actions = [b for b in message["blocks"] if b["type"] == "actions"][-1]["elements"]
    assert [(e["action_id"], e["url"]) for e in actions][-2:] == [
        ("open_map", "https://maps.example/journey-map.html"),
        ("open_source", "https://dashboard.stripe.com/acct_1Abc/payments")]


def test_without_owners_or_accounts_the_alert_is_as_before() -> None:
    plain = alert_message(MAP, KEY, PAYLOAD, status="open", severity="critical", opened_on=OPENED, as_of=OPENED,
                          links=LINKS, message_key="k")
    assert "Who acts" not in json.dumps(plain, ensure_ascii=False)
    resolved = alert_message(owned(MAP), KEY, PAYLOAD, status="resolved", severity="critical", opened_on=OPENED,
                             as_of=OPENED, links=LINKS, message_key="k", resolved_on=OPENED)
    assert "Who acts" not in json.dumps(resolved, ensure_ascii=False)  # nothing left to do
