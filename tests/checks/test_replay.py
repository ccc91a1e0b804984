"""The vectorised replay (checks.replay) stores exactly what judging the same days one after the other does: the
same incidents, events (actions, days, severities, payload figures) and candidate days — on SQLite and PostgreSQL,
over the demo's history and over a small shop with annotations, acknowledged and snoozed incidents and days a
blocking check found missing."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, insert

from bench.replay import detection_rows, first_run_from, forget_detection, load_demo
from checks.detection import DetectionOutcome, run_detection
from checks.incident_store import set_action
from models.mapfile import load_map, parse_map
from models.tables import Annotation, QualityResultRow, TouchpointDaily, table_of
from tests.conftest import EXAMPLE_MAP

AS_OF = dt.date(2026, 9, 30)
SHOP = parse_map("""
version: 1
business: {name: Shop, timezone: UTC, currency: GBP}
stages: [{id: purchase, name: Purchase}]
journeys:
  - id: shop
    name: Shop
    goal: A sale
    value: 50
    touchpoints:
      - {id: checkout, name: Checkout, stage: purchase, source: stripe, match: {product: Course},
         volume: checkouts, success: completed}
      - {id: upsell, name: Upsell, stage: purchase, source: stripe, match: {product: Book},
         volume: checkouts, success: completed}
""")
DROP = (AS_OF - dt.timedelta(days=40), AS_OF - dt.timedelta(days=31))  # checkout completes at half its rate
FLAT = (AS_OF - dt.timedelta(days=15), AS_OF - dt.timedelta(days=13))  # upsell completes nothing
Run = Callable[[bool], list[DetectionOutcome]]


def shop_facts(engine: Engine) -> None:
    """130 days of two Stripe steps in two channels (ALL their sum), with a fixed drop and a flatline."""
    rng = np.random.default_rng(11)
    rows = []
    for age in range(1, 131):
        day = AS_OF - dt.timedelta(days=age)
        for step, volume, rate in (("checkout", 400, 0.5), ("upsell", 200, 0.3)):
            if step == "checkout" and DROP[0] <= day <= DROP[1]:
                rate *= 0.5
            if step == "upsell" and FLAT[0] <= day <= FLAT[1]:
                rate = 0.0
            parts = [(f"channel={c}", float(rng.poisson(volume * share))) for c, share in (("a", 0.6), ("b", 0.4))]
            parts = [(segment, n, float(rng.binomial(int(n), rate))) for segment, n in parts]
            parts.append(("all", sum(p[1] for p in parts), sum(p[2] for p in parts)))
            rows += [{"date": day, "touchpoint_id": step, "segment": segment, "journey_id": "shop", "volume": n,
                      "success": k, "events": 0.0, "revenue": 0.0} for segment, n, k in parts]
    with engine.begin() as conn:
        conn.execute(insert(table_of(TouchpointDaily)), rows)


def failure(source: str, kind: str, found: dt.date, days: list[dt.date]) -> dict[str, Any]:
    return {"as_of": found, "check_name": f"{kind} {found}", "kind": kind, "source": source,
            "table_name": "raw_stripe_checkout_sessions", "since": found - dt.timedelta(days=50), "until": found,
            "severity": "blocking", "success": False, "observed": "0", "unexpected_count": len(days),
            "sample": json.dumps([{"day": d.isoformat()} for d in days]), "fix": ""}


def both_ways(engine: Engine, run: Run) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    """`run` day by day and vectorised, each from a warehouse never judged: what each stored and returned,
    asserted equal; the vectorised one's."""
    seen = []
    for day_by_day in (True, False):
        forget_detection(engine)
        outcomes = run(day_by_day)
        seen.append((detection_rows(engine), [(o.as_of, o.data_alerts, o.events, o.open, o.incidents, o.held_back)
                                              for o in outcomes]))
    (rows_by_day, outcomes_by_day), (rows, outcomes) = seen
    for table, stored in rows.items():
        assert stored == rows_by_day[table], f"{table} differs"
    assert outcomes == outcomes_by_day
    return rows, outcomes


def opened(rows: dict[str, Any]) -> dict[str, dt.date]:
    """Incident key → the day it first opened, from the stored events (key, as_of, action, …)."""
    out: dict[str, dt.date] = {}
    for key, as_of, action, *_ in rows["incident_events"]:
        if action == "opened":
            out[key] = min(out.get(key, as_of), as_of)
    return out


def test_a_first_run_replays_the_shop_as_day_by_day_judging_does(engine: Engine) -> None:
    shop_facts(engine)
    rows, _ = both_ways(engine, lambda day_by_day: run_detection(
        engine, SHOP, AS_OF, replay_from=AS_OF - dt.timedelta(days=70), day_by_day=day_by_day))
    assert {"shop|checkout|all|drop", "shop|upsell|all|stall"} <= set(opened(rows))
    actions = {action for _, _, action, *_ in rows["incident_events"]}
    assert {"opened", "updated", "resolved"} <= actions  # the lifecycle ran: its open and closed days count
    assert rows["judged"] == AS_OF.isoformat()


def test_a_catch_up_with_annotations_acknowledged_snoozed_incidents_and_bad_days_matches(engine: Engine) -> None:
    """Ten days caught up after a first run, from incidents acknowledged and snoozed in between, with annotated
    baseline days, a day a blocking check found missing (before and during the catch-up), and on the last day a
    failure naming no day (the source is held back whole)."""
    shop_facts(engine)
    checkout_day = DROP[0] - dt.timedelta(days=6)
    with engine.begin() as conn:
        conn.execute(insert(table_of(Annotation)), [
            {"touchpoint_id": "checkout", "date": checkout_day, "note": "new payment form"},
            {"touchpoint_id": "upsell", "date": FLAT[0] - dt.timedelta(days=9), "note": "new cover"}])
        conn.execute(insert(table_of(QualityResultRow)), [
            failure("stripe", "freshness", AS_OF - dt.timedelta(days=30), [AS_OF - dt.timedelta(days=32)]),
            failure("stripe", "volume", AS_OF - dt.timedelta(days=5), [AS_OF - dt.timedelta(days=6)]),
            failure("stripe", "not_null", AS_OF, [])])
    paused = AS_OF - dt.timedelta(days=11)
    keys: list[str] = []

    def run(day_by_day: bool) -> list[DetectionOutcome]:
        run_detection(engine, SHOP, paused, replay_from=AS_OF - dt.timedelta(days=70))
        with engine.begin() as conn:
            acked = set_action(conn, "shop|checkout|all|drop", acknowledged=True)
            snoozed = set_action(conn, "shop|upsell|all|stall", snoozed_until=paused + dt.timedelta(days=4))
        keys.extend(i.key for i in (acked, snoozed) if i is not None)
        return run_detection(engine, SHOP, AS_OF, {"stripe": "stripe: a blocking check failed"},
                             day_by_day=day_by_day)

    rows, outcomes = both_ways(engine, run)
    assert keys == ["shop|checkout|all|drop", "shop|upsell|all|stall"] * 2  # both incidents were there to mute
    assert [o[0] for o in outcomes] == [paused + dt.timedelta(days=i) for i in range(1, 12)]
    first_bad = {o[0]: o[5] for o in outcomes if o[5]}
    assert set(first_bad) == {AS_OF - dt.timedelta(days=5), AS_OF}  # the bad day's own run, and the whole source
    assert set(first_bad[AS_OF]) == {"checkout", "upsell"}
    told = {(key, as_of): message for key, as_of, _, _, _, message, *_ in rows["incident_events"]}
    assert not any(message for (key, as_of), message in told.items()
                   if key == "shop|checkout|all|drop" and as_of > paused)  # acknowledged: never told again


def demo_opened(engine: Engine, replay_from: dt.date) -> Run:
    journey_map = load_map(EXAMPLE_MAP)
    return lambda day_by_day: run_detection(engine, journey_map, AS_OF, None, replay_from, {"ga4": "demo"},
                                            day_by_day=day_by_day)


@pytest.mark.slow
def test_the_demo_history_replays_its_planted_incidents_as_day_by_day_judging_does(db_url: str) -> None:
    """The demo business from 2026-08-01 on (its facts from the 52 days before): the planted lead-magnet decline,
    welcome email 2 open drop, checkout collapse and sponsor-link flatline open on the same days both ways; then
    an acknowledged and a snoozed incident and an annotated day in a catch-up."""
    journey_map = load_map(EXAMPLE_MAP)
    replay_from = dt.date(2026, 8, 1)
    assert first_run_from(journey_map) < replay_from  # (the demo's own first run judges from further back)
    engine = load_demo(db_url, journey_map, replay_from - dt.timedelta(days=52))
    try:
        rows, _ = both_ways(engine, demo_opened(engine, replay_from))
        found = opened(rows)
        assert found["course|lead-magnet-page|all|drop"] == dt.date(2026, 8, 22)
        assert found["course|welcome-email-2|all|drop"] == dt.date(2026, 9, 17)
        assert found["course|checkout|all|stall"] == dt.date(2026, 9, 23)
        assert found["sponsored|sponsored-post-page|all|stall"] == dt.date(2026, 9, 28)
        with engine.begin() as conn:
            conn.execute(insert(table_of(Annotation)),
                         [{"touchpoint_id": "checkout", "date": dt.date(2026, 9, 1), "note": "one-page cart"}])
        paused = dt.date(2026, 9, 24)

        def catch_up(day_by_day: bool) -> list[DetectionOutcome]:
            run_detection(engine, journey_map, paused, None, replay_from, {"ga4": "demo"})
            with engine.begin() as conn:
                assert set_action(conn, "course|welcome-email-2|all|drop", acknowledged=True) is not None
                assert set_action(conn, "course|checkout|all|stall", snoozed_until=AS_OF) is not None
            return run_detection(engine, journey_map, AS_OF, None, None, {"ga4": "demo"}, day_by_day=day_by_day)

        rows, outcomes = both_ways(engine, catch_up)
        assert len(outcomes) == 6
        assert pd.Series([r[0] for r in rows["incident_events"]]).str.startswith("sponsored|").any()
    finally:
        engine.dispose()
