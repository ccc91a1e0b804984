"""Alerts that cost nothing and alerts of one cause, on SQLite and PostgreSQL: a step worth nothing goes to the
digest; incidents opened the same day on touchpoints sharing a page (or a source rule) are one top message with one
thread, the most money at stake leading; the day's messages are queued by money at stake."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select

from checks.detection import DetectionOutcome
from checks.incident_store import load_incidents, save_day
from checks.incidents import advance, cause_of
from models.config import AlertPolicy
from models.mapfile import load_map
from models.outbox import OutboxMessage
from reports.news import alert_outbox
from reports.slack import Links
from tests.conftest import EXAMPLE_MAP
from tests.reports.test_slack_messages import golden

MAP = load_map(EXAMPLE_MAP)
POLICY = AlertPolicy()
D = dt.date(2026, 9, 20)
SEARCH, REVIEWS = "affiliate|gear-search|all|drop", "affiliate|gear-reviews|all|drop"
CHECKOUT = "course|checkout|all|drop"


def flagged(journey: str, step: str, stage: str, touchpoint: str, source: str, impact: float, *,
            value: float = 1.0, rate: float = 0.02, base: float = 0.05, good: bool = False) -> dict[str, Any]:
    """A detect() row opened at once (z ≤ −5), or a good day that counts toward resolving it."""
    return {"journey": journey, "step": step, "segment": "all", "stage": stage, "touchpoint": touchpoint,
            "source": source, "kind": "" if good else "drop", "candidate": not good, "stall": False,
            "alert_segment": True, "z": 0.0 if good else -6.0, "z7": 0.0 if good else -6.0,
            "drop": 0.0 if good else 1 - rate / base, "severity": "" if good else "critical", "p_w": rate,
            "p_lo": rate * 0.8, "p_hi": rate * 1.2, "p0": base, "q": 1e-6, "window": 3.0, "lost": 30.0,
            "lost_per_day": 10.0, "impact_per_day": impact, "top_segments": "", "since": "2026-09-18",
            "lag_days": 2, "value": value, "goal_share": 1.0}


def search(impact: float = 4.5, **kw: Any) -> dict[str, Any]:
    return flagged("affiliate", "gear-search", "Awareness", "Gear reviews found in search", "ga4", impact, **kw)


def reviews(impact: float = 13.5, **kw: Any) -> dict[str, Any]:
    return flagged("affiliate", "gear-reviews", "Consideration", "Gear review pages", "ga4", impact, **kw)


def checkout(impact: float = 310.0, **kw: Any) -> dict[str, Any]:
    return flagged("course", "checkout", "Purchase", "Stripe Checkout", "stripe", impact, **kw)


def judge(engine: Engine, days: list[list[dict[str, Any]]]) -> list[str]:
    queued: list[str] = []
    for offset, rows in enumerate(days):
        day = D + dt.timedelta(days=offset)
        with engine.connect() as conn:
            before = load_incidents(conn, day)
        after, events = advance(pd.DataFrame(rows), before, {}, day, POLICY)
        outcome = DetectionOutcome(day, {}, events, [i for i in after.values() if i.status != "resolved"], after)
        with engine.begin() as conn:
            save_day(conn, day, before, after, events, [])
            queued += alert_outbox(conn, MAP, outcome, lambda _key: Links(), "#alerts")
    return queued


def outbox(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(OutboxMessage.key, OutboxMessage.thread, OutboxMessage.role, OutboxMessage.body)
                            .order_by(OutboxMessage.seq)).mappings()
        return [{**r, "body": json.loads(r["body"])} for r in rows]


def test_the_same_pages_traffic_and_views_are_one_alert_with_one_thread(engine: Engine) -> None:
    assert cause_of(MAP, "affiliate", "gear-search") == cause_of(MAP, "affiliate", "gear-reviews")  # /reviews/…
    assert cause_of(MAP, "affiliate", "gear-search") != cause_of(MAP, "affiliate", "recipe-pages")
    queued = judge(engine, [[search(), reviews(), checkout()]])
    tops = [r for r in outbox(engine) if r["role"] == "top"]
    # two top messages, not three, and by money at stake: the checkout's GBP 310, then the reviews' GBP 13.50
    assert [r["key"] for r in tops] == [f"alert|{CHECKOUT}|{D}|{D}|opened", f"alert|{REVIEWS}|{D}|{D}|opened"]
    assert queued == [r["key"] for r in tops]
    grouped = tops[1]["body"]
    golden("alert_grouped", grouped)
    assert grouped["metadata"]["event_payload"]["related_keys"] == SEARCH
    text = json.dumps(grouped["blocks"], ensure_ascii=False)
    assert "Same cause, alerted the same day" in text
    assert "Awareness › Gear reviews found in search: 2.0% vs 5.0% since 2026-09-18 · GBP 4/day" in text
    assert "related_keys" not in tops[0]["body"]["metadata"]["event_payload"]  # the checkout stands alone


def test_news_of_a_grouped_incident_goes_to_its_causes_thread(engine: Engine) -> None:
    good = search(good=True)
    judge(engine, [[search(), reviews()], [reviews(), good], [reviews(), good]])  # the search traffic recovers
    rows = outbox(engine)
    thread = f"alert|{REVIEWS}|{D}"
    assert {r["thread"] for r in rows} == {thread}  # one thread for both
    resolved = [r for r in rows if r["key"].startswith(f"alert|{SEARCH}|")]
    assert [r["role"] for r in resolved] == ["reply", "update"]
    assert resolved[0]["body"]["text"].startswith("✅ Resolved on 2026-09-22")
    edited = json.dumps(resolved[1]["body"]["blocks"], ensure_ascii=False)
    assert "Awareness › Gear reviews found in search: resolved" in edited  # the top message says so
    assert resolved[1]["body"]["metadata"]["event_payload"]["alert_key"] == REVIEWS  # and is still the leader's


def test_a_step_worth_nothing_goes_to_the_digest_not_to_an_alert(engine: Engine) -> None:
    queued = judge(engine, [[checkout(impact=0.0, value=0.0), reviews()]])
    assert queued == [f"alert|{REVIEWS}|{D}|{D}|opened"]  # no "GBP 0 lost per day" warning
    with engine.connect() as conn:
        incidents = load_incidents(conn, D + dt.timedelta(days=1))
    assert incidents[CHECKOUT].digest_only  # kept, for the digest and the map
    assert incidents[CHECKOUT].status == "open"
    assert not incidents[REVIEWS].digest_only


def test_a_drop_that_rounds_to_nothing_a_day_is_digest_only_but_a_cheap_stall_alerts(engine: Engine) -> None:
    pins = flagged("affiliate", "pinterest-pins", "Awareness", "Recipe pins on Pinterest", "ga4", 0.3, value=0.45)
    stalled = {**flagged("affiliate", "recipe-pages", "Consideration", "Recipe pages", "ga4", 0.2, value=0.45),
               "stall": True, "kind": "flatline"}
    queued = judge(engine, [[pins, stalled]])
    assert queued == [f"alert|affiliate|recipe-pages|all|stall|{D}|{D}|opened"]  # tracking gone is news at any price
    with engine.connect() as conn:
        assert load_incidents(conn, D + dt.timedelta(days=1))["affiliate|pinterest-pins|all|drop"].digest_only
