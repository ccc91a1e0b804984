"""The map-update summary read from a hand-made warehouse, on SQLite and PostgreSQL: the period against the one
before, the largest leaks, incidents opened / resolved / still open, data quality, and an annotated change's
effect before and after."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from sqlalchemy import Engine, insert

from checks.incidents import Incident
from flows.summary import build_summary
from models.mapfile import load_map
from models.sources.ga4.tables import Ga4Row
from models.sources.mailchimp.tables import MailchimpCampaign
from models.tables import Annotation, IncidentEvent, IncidentRow, QualityResultRow, TouchpointDaily, table_of
from reports.summary import summary_message
from tests.conftest import EXAMPLE_MAP

MAP = load_map(EXAMPLE_MAP)
AS_OF = dt.date(2026, 9, 30)  # the week is 09-23..09-29, the one before 09-16..09-22
FIX = dt.date(2026, 9, 24)  # "payment methods fixed": checkout completes 30 % before, 60 % since


def fact(day: dt.date, touchpoint: str, volume: float, success: float | None) -> dict[str, object]:
    return {"date": day, "touchpoint_id": touchpoint, "segment": "all", "journey_id": "course", "volume": volume,
            "success": success, "events": volume, "revenue": 0.0}


def incident(key: str, status: str, opened: dt.date, resolved: dt.date | None = None) -> dict[str, object]:
    journey, step, segment, kind = key.split("|")
    row = Incident(key, journey, step, segment, kind, status, "critical", opened, opened, resolved,
                   payload={"impact_per_day": 120.0})
    return {**dataclasses.asdict(row), "payload": json.dumps(row.payload)}


def event(key: str, action: str, day: dt.date) -> dict[str, object]:
    return {"key": key, "as_of": day, "action": action, "status": "open", "severity": "critical", "message": True,
            "payload": "{}", "before": None}


def test_the_summary_reads_the_period_its_leaks_incidents_checks_and_annotated_change(engine: Engine) -> None:
    days = [AS_OF - dt.timedelta(days=d) for d in range(1, 22)]
    with engine.begin() as conn:
        conn.execute(insert(table_of(TouchpointDaily)), [
            row for d in days for row in (fact(d, "cart", 100.0, None),
                                          fact(d, "checkout", 50.0, 15.0 if d < FIX else 30.0))])
        conn.execute(insert(table_of(IncidentRow)), [
            incident("course|checkout|all|stall", "ongoing", dt.date(2026, 9, 23)),
            incident("course|cart|all|drop", "resolved", dt.date(2026, 9, 10), dt.date(2026, 9, 25)),
            incident("course|receipt|all|drop", "open", dt.date(2026, 9, 1))])
        conn.execute(insert(table_of(IncidentEvent)), [event("course|checkout|all|stall", "opened", FIX),
                                                       event("course|cart|all|drop", "resolved", FIX),
                                                       event("course|receipt|all|drop", "opened", dt.date(2026, 9, 1))])
        conn.execute(insert(table_of(Annotation)), [{"touchpoint_id": "checkout", "date": FIX,
                                                     "note": "payment methods fixed"}])
        conn.execute(insert(table_of(QualityResultRow)), [
            {"as_of": AS_OF, "check_name": name, "kind": "volume", "source": "ga4", "table_name": "raw_ga4_rows",
             "since": AS_OF, "until": AS_OF, "severity": "blocking", "success": ok, "observed": "",
             "unexpected_count": 0, "sample": "[]", "fix": ""} for name, ok in (("a", True), ("b", True),
                                                                                  ("stripe volume", False))])
    summary = build_summary(engine, MAP, "week", AS_OF)

    assert (summary.view.since, summary.view.until) == (dt.date(2026, 9, 23), dt.date(2026, 9, 29))
    cart = next(tp for j in summary.view.journeys for s in j.stages for tp in s.touchpoints if tp.id == "cart")
    assert cart.volume == 700.0  # 7 days × 100
    assert cart.conversion == 0.5  # the step to checkout: 50 of 100
    [checkout_leak] = [leak for leak in summary.leaks if leak.touchpoint == "Stripe Checkout"]
    assert checkout_leak.lost == 7 * 50 - (15 + 6 * 30)  # 09-23 before the fix, six days after
    assert [i.touchpoint for i in summary.opened] == ["Stripe Checkout"]
    assert [i.touchpoint for i in summary.resolved] == ["Cart"]
    assert [i.touchpoint for i in summary.still_open] == ["Receipt email"]
    assert (summary.checks_passed, summary.checks_failed) == (2, ["stripe volume"])
    [change] = summary.annotations
    assert (change.note, change.before, change.after) == ("payment methods fixed", 0.3, 0.6)

    message = summary_message(summary, key="summary|week", chart=None)
    shown = json.dumps(message["blocks"], ensure_ascii=False)
    assert "30.0% before, 60.0% since (+30.0 pp)" in shown
    assert "1 opened, 1 resolved, 1 still open from before" in shown


def test_the_monthly_summary_says_the_map_may_be_out_of_date(engine: Engine) -> None:
    """A month in which the lead magnet moved and the welcome sequence grew an email: the summary names both, and
    the folder of pages the map never covered; the weekly summary does not look."""
    day = AS_OF - dt.timedelta(days=3)
    pages = {"/free-sourdough-starter-guide/": 500, "/cart/": 300, **{f"/tips/tip-{i}/": 200 for i in range(3)}}
    with engine.begin() as conn:
        conn.execute(insert(table_of(Ga4Row)), [
            {"property_id": prop, "report": "pages", "date": day, "row_key": path, "item": path, "channel": "Direct",
             "source": "(direct)", "medium": "(none)", "device": "desktop", "user_type": "new", "country": "",
             "sessions": 0, "screen_page_views": views, "event_count": 0, "key_events": 0.0, "purchase_revenue": 0.0}
            for prop, path, views in [*(("1", p, v) for p, v in pages.items()),
                                      ("2", "/another-site/", 9000)]])  # another GA4 property: not this map's
        conn.execute(insert(table_of(MailchimpCampaign)), [
            {"account": "a", "campaign_id": f"w{n}", "title": f"Welcome {n}", "kind": "automation", "list_id": "l",
             "workflow_id": "wf", "workflow_title": "Starter guide welcome", "position": n, "send_time": None}
            for n in range(1, 6)])
    month = build_summary(engine, MAP, "month", AS_OF, accounts={"ga4": "1"})
    assert month.drift is not None
    assert [(d.touchpoint, d.closest) for d in month.drift.dead if d.closest] == [
        ("lead-magnet-page", "/free-sourdough-starter-guide/")]
    assert [(e.position, e.title) for e in month.drift.new_emails] == [(5, "Welcome 5")]
    assert [u.item for u in month.drift.uncovered] == ["/tips/… (3 pages)", "/free-sourdough-starter-guide/"]
    shown = json.dumps(summary_message(month, key="summary|month", chart=None)["blocks"], ensure_ascii=False)
    assert "The map may be out of date" in shown
    assert build_summary(engine, MAP, "week", AS_OF).drift is None
