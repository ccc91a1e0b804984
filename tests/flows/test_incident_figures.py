"""One incident, one set of figures: the snapshot stored with the incident (on SQLite and PostgreSQL) is what its Slack
thread, the HTML map's card, the PNG's card, the summary and the incident table show; "since" is its first bad day
everywhere; the top message is edited when a day's reading leaves the interval it shows, and only then."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select

from checks.detection import DetectionOutcome
from checks.incident_snapshot import snapshot_of
from checks.incident_store import load_incidents, save_day
from checks.incidents import Incident, advance
from models.config import AlertPolicy
from models.mapfile import load_map
from models.outbox import OutboxMessage
from models.tables import IncidentEvent
from reports.html_map import render_html
from reports.incidents import incidents_markdown
from reports.map_page import MapPage, PersonaPage
from reports.map_png import incident_caption, map_png
from reports.map_view import JourneyView, MapView, StageView, TouchpointView
from reports.news import alert_outbox
from reports.page_data import incident_note
from reports.slack import Links
from reports.summary import IncidentLine, Summary, summary_lines
from tests.conftest import EXAMPLE_MAP
from tests.reports.test_slack_messages import golden

MAP = load_map(EXAMPLE_MAP)
KEY = "course|checkout|all|drop"
OPENED = dt.date(2026, 9, 17)
POLICY = AlertPolicy()


def reading(rate: float, low: float, high: float, base: float, since: str, impact: float,
            severity: str = "critical") -> dict[str, Any]:
    """A detect() row of the checkout step (Stripe: one day to mature) flagged as a candidate."""
    return {"journey": "course", "step": "checkout", "segment": "all", "stage": "Purchase",
            "touchpoint": "Stripe Checkout", "source": "stripe", "kind": "drop", "candidate": True, "stall": False,
            "alert_segment": True, "z": -6.0, "z7": -6.0, "drop": 1 - rate / base, "severity": severity,
            "p_w": rate, "p_lo": low, "p_hi": high, "p0": base, "q": 1e-6, "window": 3.0, "lost": 21.0,
            "lost_per_day": impact / 199, "impact_per_day": impact, "top_segments": "", "since": since,
            "lag_days": 1, "value": 199.0, "goal_share": 1.0}


DAYS = [reading(0.311, 0.281, 0.343, 0.513, "2026-09-12", 1410.4),  # opens: the top message's figures
        reading(0.309, 0.279, 0.341, 0.514, "2026-09-14", 166.0),  # within its interval: nothing is re-told
        reading(0.208, 0.181, 0.238, 0.514, "2026-09-14", 1860.0)]  # left it: the top message is edited


def judge(engine: Engine, days: list[dict[str, Any]]) -> tuple[dict[str, Incident], list[str]]:
    """Judge the days one after the other as a run does (stored, then loaded back), queueing Slack news."""
    queued: list[str] = []
    for offset, row in enumerate(days):
        day = OPENED + dt.timedelta(days=offset)
        with engine.connect() as conn:
            before = load_incidents(conn, day)
        after, events = advance(pd.DataFrame([row]), before, {}, day, POLICY)
        outcome = DetectionOutcome(day, {}, events, [i for i in after.values() if i.status != "resolved"], after)
        with engine.begin() as conn:
            save_day(conn, day, before, after, events, [KEY])
            queued += alert_outbox(conn, MAP, outcome, lambda _key: Links(), "#alerts")
    with engine.connect() as conn:
        return load_incidents(conn, OPENED + dt.timedelta(days=len(days))), queued


def bodies(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        return {str(k): json.loads(b) for k, b in conn.execute(select(OutboxMessage.key, OutboxMessage.body))}


def page_with(incident: Incident) -> MapPage:
    card = TouchpointView("checkout", "Stripe Checkout", "stripe", 400.0, 380.0, 140.0, 200.0, "completed")
    view = MapView("The Sourdough Hour", "GBP", "all", dt.date(2026, 8, 22), dt.date(2026, 9, 18),
                   [JourneyView("course", "Sourdough Masterclass", "a sale", 199.0,
                                [StageView("purchase", "Purchase", [card])])])
    return MapPage("The Sourdough Hour", "GBP", dt.date(2026, 9, 19), [PersonaPage("", "", view, {})],
                   incidents=[incident_note(incident)])


def test_slack_the_map_the_png_and_the_summary_show_the_stored_snapshot(engine: Engine) -> None:
    incidents, queued = judge(engine, DAYS[:2])
    assert queued == [f"alert|{KEY}|{OPENED}|{OPENED}|opened"]  # day 2 stayed inside the interval: no news
    top = bodies(engine)[queued[0]]
    incident = incidents[KEY]
    stored = snapshot_of(incident.payload)
    assert (stored.rate, stored.baseline, stored.since, stored.impact_per_day) == (0.311, 0.513, "2026-09-12",
                                                                                    1410.4)
    assert stored.through == "2026-09-16"  # the newest matured day when it was read (Stripe matures in a day)

    slack = json.dumps(top["blocks"], ensure_ascii=False)
    page = page_with(incident)
    html = render_html(page)
    card = html[html.index('data-figure="incident"'):]
    card = card[card.index(">") + 1:card.index("</div>")]
    png = incident_caption(page.incidents[0], "GBP")
    line = dict(summary_lines(Summary("month", page.personas[0].view, still_open=[
        IncidentLine(KEY, "Purchase", "Stripe Checkout", incident.severity, incident.opened_on, None,
                     stored.impact_per_day, stored.since)])))["Incidents"][1]
    table = incidents_markdown([incident.payload], "GBP", "Open incidents")
    assert card == f"Critical: {png}"
    assert png == "31.1% vs 51.3% since 2026-09-12 · GBP 1,410/day"
    for shown in (slack, card, png, line, table):
        assert "2026-09-12" in shown, shown
        assert "GBP 1,410" in shown, shown
        assert "30.9%" not in shown
        assert "166" not in shown
    for shown in (slack, card, table):
        assert "31.1%" in shown
        assert "51.3%" in shown
    assert "2026-09-17" not in card  # the day it was alerted is not its "since"


def test_a_reading_outside_its_interval_edits_the_top_message(engine: Engine) -> None:
    incidents, queued = judge(engine, DAYS)
    edit = f"alert|{KEY}|{OPENED}|{OPENED + dt.timedelta(days=2)}|refreshed|update"
    assert queued == [f"alert|{KEY}|{OPENED}|{OPENED}|opened", edit]  # an edit, no reply: nothing but figures
    message = bodies(engine)[edit]
    golden("alert_refreshed", message)
    assert message["metadata"]["event_payload"]["message_key"] == queued[0]  # the top message, edited in place
    shown = json.dumps(message["blocks"], ensure_ascii=False)
    assert "*20.8%* now" in shown
    assert "since *2026-09-12*" in shown
    assert "GBP 1,860" in shown
    assert "through 2026-09-18" in shown
    note = incident_note(incidents[KEY])
    assert (note.rate, note.since, note.impact_per_day) == (0.208, "2026-09-12", 1860.0)
    with engine.connect() as conn:
        actions = [a for a, in conn.execute(select(IncidentEvent.action).order_by(IncidentEvent.as_of))]
    assert actions == ["opened", "updated", "refreshed"]
    before = map_png(page_with(judge_once(DAYS[0])))
    assert map_png(page_with(incidents[KEY])) != before  # the PNG draws the snapshot it is given


def judge_once(row: dict[str, Any]) -> Incident:
    incidents, _ = advance(pd.DataFrame([row]), {}, {}, OPENED, POLICY)
    return incidents[KEY]


def test_a_severity_change_publishes_the_new_reading_with_a_reply() -> None:
    opened = judge_once(DAYS[0])
    quieter = reading(0.309, 0.279, 0.341, 0.514, "2026-09-14", 166.0, severity="warning")
    after, events = advance(pd.DataFrame([quieter]), {KEY: opened}, {}, OPENED + dt.timedelta(days=1), POLICY)
    assert [(e.action, e.message) for e in events] == [("updated", True)]
    assert snapshot_of(after[KEY].payload).impact_per_day == 166.0
    assert snapshot_of(after[KEY].payload).since == "2026-09-12"  # still its first bad day
