"""Slack messages as data: each message type against its golden Block Kit JSON (tests/fixtures/slack/), and the
limits every message stays inside.

Regenerate the golden files deliberately, then review the diff:
    UPDATE_GOLDEN=1 pytest tests/reports/test_slack_messages.py
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest

from checks.discovery.drift import Dead, Drift, NewEmail, Uncovered
from models.mapfile import load_map
from reports.blocks import FALLBACK_TEXT, HEADER_TEXT, MAX_BLOCKS, SECTION_TEXT, fit, sections
from reports.map_view import FeedbackView, JourneyView, MapView, StageView, TouchpointView
from reports.slack import (
    Links,
    alert_message,
    alert_reply,
    data_alert_message,
    source_alert_message,
    source_alert_reply,
)
from reports.summary import AnnotationEffect, IncidentLine, Leak, Summary, summary_lines, summary_message
from tests.conftest import EXAMPLE_MAP

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "slack"
MAP = load_map(EXAMPLE_MAP)
KEY = "course|checkout|all|stall"
PAYLOAD = {"journey": "course", "stage": "Purchase", "touchpoint": "Stripe Checkout", "source": "stripe",
           "segment": "all", "kind": "collapse", "severity": "critical", "p_w": 0.054, "p_lo": 0.015,
           "p_hi": 0.177, "p0": 0.629, "z": -6.1, "q": 1e-9, "window": 3.0, "drop": 0.91, "lost": 21.3,
           "lost_per_day": 7.1, "impact_per_day": 1410.4, "top_segments": "", "since": "2026-09-20"}
LINKS = Links("http://prefect.example/runs/flow-run/0d9c", "http://prefect.example/deployments/deployment/a1/run?"
              "parameters=ack", "http://prefect.example/deployments/deployment/a1/run?parameters=snooze")
OPENED = dt.date(2026, 9, 23)


def golden(name: str, message: dict[str, Any]) -> None:
    """The message equals tests/fixtures/slack/<name>.json (written when UPDATE_GOLDEN is set)."""
    path = GOLDEN / f"{name}.json"
    text = json.dumps(message, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"{path} is missing: run with UPDATE_GOLDEN=1 and review it"
    assert json.loads(text) == json.loads(path.read_text(encoding="utf-8"))


def within_limits(message: dict[str, Any]) -> None:
    assert len(message["blocks"]) <= MAX_BLOCKS
    assert len(message["text"]) <= FALLBACK_TEXT
    for block in message["blocks"]:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= HEADER_TEXT
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= SECTION_TEXT
    meta = message["metadata"]
    assert set(meta["event_payload"]) >= {"alert_key", "journey", "stage", "touchpoint", "segment", "metric",
                                          "status", "severity"}


def test_an_opened_alert_names_the_stage_touchpoint_rate_money_and_actions() -> None:
    message = alert_message(MAP, KEY, PAYLOAD, status="open", severity="critical", opened_on=OPENED, as_of=OPENED,
                            links=LINKS, message_key=f"alert|{KEY}|{OPENED}|{OPENED}|opened")
    golden("alert_open", message)
    within_limits(message)
    shown = json.dumps(message["blocks"], ensure_ascii=False)
    assert "Purchase › Stripe Checkout" in shown  # journey.yaml's names, exactly
    for figure in ("5.4%", "62.9%", "GBP 1,410", "2026-09-20"):  # rate now, baseline, money per day, since
        assert figure in shown
    assert [e["action_id"] for e in message["blocks"][-1]["elements"]] == ["open_run", "acknowledge", "snooze"]
    assert message["metadata"]["event_type"] == "journey_alert"
    assert message["metadata"]["event_payload"]["metric"] == "completed"


def test_an_ongoing_alert_edited_in_place_and_its_reply() -> None:
    payload = {**PAYLOAD, "severity": "warning", "p_w": 0.31}
    top = alert_message(MAP, KEY, payload, status="ongoing", severity="warning", opened_on=OPENED,
                        as_of=OPENED + dt.timedelta(days=2), links=LINKS, message_key="k")
    reply = alert_reply(MAP, KEY, payload, action="updated", status="ongoing", severity="warning",
                        as_of=OPENED + dt.timedelta(days=2), message_key="k2")
    golden("alert_ongoing", top)
    golden("alert_ongoing_reply", reply)
    within_limits(top)
    assert "Ongoing" in top["blocks"][1]["text"]["text"]
    assert reply["text"].startswith("↕️ Now warning on 2026-09-25")


def test_a_resolved_alert_has_no_actions_left() -> None:
    top = alert_message(MAP, KEY, PAYLOAD, status="resolved", severity="critical", opened_on=OPENED,
                        as_of=dt.date(2026, 9, 27), links=LINKS, message_key="k", resolved_on=dt.date(2026, 9, 27))
    reply = alert_reply(MAP, KEY, PAYLOAD, action="resolved", status="resolved", severity="critical",
                        as_of=dt.date(2026, 9, 27), message_key="k3")
    golden("alert_resolved", top)
    golden("alert_resolved_reply", reply)
    assert top["blocks"][0]["text"]["text"].startswith("✅ Resolved")
    assert [e["action_id"] for b in top["blocks"] if b["type"] == "actions" for e in b["elements"]] == ["open_run"]
    assert top["metadata"]["event_payload"]["status"] == "resolved"


def test_a_data_alert_looks_different_from_a_step_alert() -> None:
    message = data_alert_message("ga4", "ga4: blocking data-quality check(s) failed (ga4 has data for every matured "
                                 "day 2026-08-10..2026-09-28)", status="open", first_day=dt.date(2026, 9, 22),
                                 as_of=dt.date(2026, 9, 22), links=Links("http://prefect.example/runs/flow-run/1"),
                                 message_key="data|ga4|2026-09-22|opened")
    golden("data_alert", message)
    within_limits(message)
    assert message["blocks"][0]["text"]["text"] == "⚠️ Data problem · ga4"
    assert message["metadata"]["event_payload"]["alert_key"] == "data|ga4"
    assert not any(b["type"] == "section" and "fields" in b for b in message["blocks"])  # no rates: no step


def test_a_source_not_read_is_a_data_alert_resolved_when_it_reads_again() -> None:
    reason = "GA4 kept failing after 6 attempts over 10 min: 503 Service Unavailable"
    first, later = dt.date(2026, 9, 22), dt.date(2026, 9, 24)
    opened = source_alert_message("ga4", "read", reason, status="open", first_day=first, as_of=first,
                                  links=Links("http://prefect.example/runs/flow-run/1"),
                                  message_key="source|ga4|read|2026-09-22|opened")
    resolved = source_alert_message("ga4", "read", reason, status="resolved", first_day=first, as_of=later,
                                    links=Links("http://prefect.example/runs/flow-run/3"),
                                    message_key="source|ga4|read|2026-09-22|opened")
    reply = source_alert_reply("ga4", "read", as_of=later, message_key="source|ga4|read|2026-09-22|resolved")
    golden("source_alert", opened)
    golden("source_alert_resolved", resolved)
    golden("source_alert_resolved_reply", reply)
    for message in (opened, resolved, reply):
        within_limits(message)
        assert message["metadata"]["event_payload"]["alert_key"] == "data|ga4|read"
    assert opened["blocks"][0]["text"]["text"] == "⚠️ Source not read · ga4"
    assert "no data since" in json.dumps(opened["blocks"], ensure_ascii=False)
    assert resolved["blocks"][0]["text"]["text"] == "✅ Read again · ga4"
    assert reply["metadata"]["event_payload"]["status"] == "resolved"
    setup = source_alert_message("stripe", "setup", "STRIPE_API_KEY is not set", status="open", first_day=first,
                                 as_of=first, links=Links(), message_key="k")
    assert setup["metadata"]["event_payload"]["alert_key"] == "data|stripe|setup"  # one alert per source and cause
    assert "check-config" in json.dumps(setup["blocks"])


def view(touchpoints: int = 3) -> MapView:
    cards = [TouchpointView(f"t{i}", f"Step {i}", "ga4", 1000.0 - i, 900.0, 100.0 - i, 80.0, f"Step {i + 1}")
             for i in range(touchpoints)]
    stages = [StageView("awareness", "Awareness", cards[: touchpoints // 2]),
              StageView("purchase", "Purchase", cards[touchpoints // 2:])]
    return MapView("The Sourdough Hour", "GBP", "all", dt.date(2026, 9, 2), dt.date(2026, 9, 29),
                   [JourneyView("course", "Sourdough Masterclass", "a sale", 199.0, stages)],
                   [FeedbackView("Purchase", 74, 5.0, 31.0, ("Checkout asked for my address twice",))])


def summary(touchpoints: int = 3) -> Summary:
    line = IncidentLine(KEY, "Purchase", "Stripe Checkout", "critical", OPENED, None, 1410.4, "2026-09-20")
    small = IncidentLine("course|cart|all|drop", "Purchase", "Cart", "warning", OPENED + dt.timedelta(days=3), None,
                         166.0, "2026-09-24")
    older = IncidentLine("course|sales-page|all|drop", "Consideration", "Sales page", "critical",
                         dt.date(2026, 8, 30), None, 2210.0, "2026-08-27")
    done = IncidentLine("course|blog|all|drop", "Awareness", "Blog", "warning", dt.date(2026, 9, 5),
                        dt.date(2026, 9, 12), 480.0, "2026-09-03")
    return Summary("month", view(touchpoints), [Leak("Purchase", "Stripe Checkout", 181.0, 0.43, 3.1)],
                   [small, line], [done], [older], 36, [],
                   [AnnotationEffect("Purchase", "Stripe Checkout", dt.date(2026, 9, 24), "payment methods fixed", 0.12,
                                     0.6)],
                   Drift([Uncovered("page", "/recipes/… (4 pages)", 18505.0, 0.23)],
                         [Dead("course", "lead-magnet-page", "Free starter guide", "page_path: /free-starter-guide/",
                               "/free-sourdough-starter-guide/")],
                         [NewEmail("Starter guide welcome", 5, "Welcome 5: <your first bake>")]))


def test_the_summary_message() -> None:
    message = summary_message(summary(), key="summary|month|2026-09-02|2026-09-29", chart="journey-map.png")
    golden("summary", message)
    within_limits(message)
    text = json.dumps(message["blocks"], ensure_ascii=False)
    for part in ("Largest leaks", "Incidents", "Data quality", "NPS per stage", "Changes you made",
                 "The map may be out of date", "renamed to /free-sourdough-starter-guide/?",
                 "email 5, “Welcome 5: &lt;your first bake&gt;”",
                 "not on the map: the page /recipes/… (4 pages) — 18,505, 23.0%"):
        assert part in text
    assert "Checkout asked for my address twice" not in text  # no survey verbatims
    assert message["metadata"]["event_type"] == "journey_summary"


def test_the_summary_lists_incidents_by_money_at_stake_the_biggest_first() -> None:
    """Opened newest first in the data (cart, then the checkout) and an older one still open: the list reads by
    money per day, and each line's "since" is the incident's first bad day, as in its alert."""
    incidents = dict(summary_lines(summary()))["Incidents"]
    assert incidents == [
        "2 opened, 1 resolved, 1 still open from before",
        "• critical: Consideration › Sales page — bad since 2026-08-27, alerted 2026-08-30, GBP 2,210/day at stake",
        "• critical: Purchase › Stripe Checkout — bad since 2026-09-20, alerted 2026-09-23, GBP 1,410/day at stake",
        "• warning: Awareness › Blog — bad since 2026-09-03, resolved 2026-09-12, was GBP 480/day",
        "• warning: Purchase › Cart — bad since 2026-09-24, alerted 2026-09-26, GBP 166/day at stake"]


def test_a_long_summary_is_split_and_cut_to_slacks_limits_never_rejected() -> None:
    message = summary_message(summary(touchpoints=400), key="summary|quarter", chart=None)
    within_limits(message)
    shown = "\n".join(b["text"]["text"] for b in message["blocks"] if b["type"] == "section" and "text" in b)
    assert len(shown) > 3 * SECTION_TEXT  # several sections …
    assert "• Step 399:" in shown  # … that hold every step


def test_more_blocks_than_slack_takes_end_with_a_line_saying_what_was_left_out() -> None:
    blocks = fit([b for i in range(60) for b in sections(f"line {i}")], "see the flow run")
    assert len(blocks) == MAX_BLOCKS
    assert blocks[-2]["text"]["text"] == "line 48"
    assert blocks[-1]["text"]["text"] == "_…and 11 more block(s) not shown: see the flow run_"


@pytest.mark.parametrize("length", [10, 2999, 3000, 3001, 9000])
def test_sections_split_long_text_between_lines(length: int) -> None:
    text = "\n".join("x" * 99 for _ in range(length // 100 + 1))[:length].rstrip("\n")
    blocks = sections(text)
    assert all(len(b["text"]["text"]) <= SECTION_TEXT for b in blocks)
    assert "\n".join(b["text"]["text"] for b in blocks) == text
