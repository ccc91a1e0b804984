"""Detection wiring: a source whose data failed a blocking quality check raises one data alert, no step alerts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import Engine, insert

from checks.detection import judge_day
from checks.incidents import Incident, closed_days
from models.mapfile import parse_map
from models.tables import QualityResultRow, table_of

AS_OF = dt.date(2026, 9, 30)
MAP = parse_map("""
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
""")


def collapsed_checkout() -> pd.DataFrame:
    """70 days of 400 checkouts a day completing at 60 %, then 10 % over the last week before the matured day."""
    rng = np.random.default_rng(3)
    last = AS_OF - dt.timedelta(days=1)  # Stripe matures in a day
    rows = []
    for age in range(70):
        day = last - dt.timedelta(days=age)
        n = float(rng.poisson(400))
        rows.append({"date": day, "step": "checkout", "segment": "all", "n": n,
                     "k": float(rng.binomial(int(n), 0.10 if age < 7 else 0.60))})
    return pd.DataFrame(rows)


def test_a_blocking_quality_failure_holds_back_the_sources_step_alerts() -> None:
    series = collapsed_checkout()
    no_annotations = pd.DataFrame(columns=["touchpoint_id", "date"])
    _, judged, flagged = judge_day(series, MAP, AS_OF, {}, {}, no_annotations)
    assert any(key.startswith("shop|checkout|all") for key in flagged)  # the collapse is a step alert...
    reason = "stripe: blocking data-quality check(s) failed (raw_stripe_checkout_sessions.amount_total is ≥ 0)"
    _, held, flagged = judge_day(series, MAP, AS_OF, {}, {}, no_annotations, unusable={"stripe": reason})
    assert flagged == []  # ...but not while the data itself failed a blocking check
    assert not [e for e in held.events if e.action == "open"]
    assert held.data_alerts == {"stripe": reason}  # one data alert instead
    assert judged.data_alerts == {}


def test_days_a_blocking_check_found_missing_stay_out_of_later_baselines(engine: Engine) -> None:
    """A GA4 gap found on 09-20 is left out of every GA4 step's baseline from then on, like an annotated day."""
    from checks.detection import _unusable_days
    from models.mapfile import load_map
    from tests.conftest import EXAMPLE_MAP

    journey_map = load_map(EXAMPLE_MAP)
    row = {"as_of": dt.date(2026, 9, 22), "kind": "freshness", "source": "ga4", "table_name": "raw_ga4_rows",
           "since": dt.date(2026, 9, 1), "until": dt.date(2026, 9, 22), "observed": "1", "unexpected_count": 1,
           "fix": ""}
    with engine.begin() as conn:
        conn.execute(insert(table_of(QualityResultRow)), [
            {**row, "check_name": "gap", "severity": "blocking", "success": False, "sample": '[{"day": "2026-09-20"}]'},
            {**row, "check_name": "warned", "severity": "warning", "success": False,
             "sample": '[{"day": "2026-09-12"}]'},
            {**row, "check_name": "stripe", "source": "stripe", "kind": "volume", "severity": "blocking",
             "success": False, "sample": '[{"day": "2026-09-25", "n": 0.0}]', "as_of": dt.date(2026, 9, 26)}])
    days = _unusable_days(engine, journey_map, dt.date(2026, 9, 24))
    ga4 = {tp.id for _, tp in journey_map.touchpoints() if tp.source == "ga4"}
    assert set(days["touchpoint_id"]) == ga4  # every GA4 touchpoint, no other source's
    assert set(days["date"]) == {dt.date(2026, 9, 20)}  # not the warning's day, nor a failure found later


def _failure(kind: str, sample: str, as_of: dt.date = dt.date(2026, 9, 30)) -> dict[str, object]:
    return {"as_of": as_of, "kind": kind, "source": "ga4", "table_name": "raw_ga4_rows", "since": dt.date(2026, 8, 9),
            "until": as_of, "observed": "1", "unexpected_count": 1, "fix": "", "check_name": kind,
            "severity": "blocking", "success": False, "sample": sample}


def test_a_gap_weeks_ago_holds_back_nothing_and_a_failure_naming_no_day_holds_back_the_source(engine: Engine) -> None:
    """A confirmed GA4 gap ten days before the run still fails the blocking freshness check (it is inside the
    52-day quality window), but only its day is left out: no GA4 step is held back. A failure that names rows,
    not days, still holds back the whole source."""
    from checks.detection import _unusable_days, _whole_source
    from models.mapfile import load_map
    from tests.conftest import EXAMPLE_MAP

    journey_map = load_map(EXAMPLE_MAP)
    reason = "ga4: blocking data-quality check(s) failed (ga4 has data for every matured day)"
    with engine.begin() as conn:
        conn.execute(insert(table_of(QualityResultRow)), [_failure("freshness", '[{"day": "2026-09-20"}]')])
    assert _whole_source(engine, AS_OF, {"ga4": reason}) == {}
    bad = _unusable_days(engine, journey_map, AS_OF)
    series = pd.DataFrame(columns=["date", "step", "segment", "n", "k"])
    _, outcome, _ = judge_day(series, journey_map, AS_OF, {}, {}, pd.DataFrame(columns=["touchpoint_id", "date"]),
                              None, bad)
    assert outcome.held_back == {}
    assert outcome.data_alerts == {}
    _, on_the_day, _ = judge_day(series, journey_map, dt.date(2026, 9, 22), {}, {},
                                 pd.DataFrame(columns=["touchpoint_id", "date"]), None, bad)
    ga4 = {tp.id for _, tp in journey_map.touchpoints() if tp.source == "ga4"}
    assert set(on_the_day.held_back) <= ga4  # the day it matured: GA4's steps wait, with the reason
    assert "2026-09-20" in on_the_day.data_alerts["ga4"]
    with engine.begin() as conn:
        conn.execute(insert(table_of(QualityResultRow)), [_failure("unique", '[{"row_key": "x"}]')])
    assert _whole_source(engine, AS_OF, {"ga4": reason}) == {"ga4": reason}


def test_run_detection_reads_the_page_mix_of_ga4_steps_from_the_raw_rows(engine: Engine) -> None:
    """social-ads (a traffic-report touchpoint with its own success) gets one landing cell per page of its own
    rows; a chained step (its k is the next touchpoint's volume) gets none."""
    from checks.detection import load_series
    from models.mapfile import load_map
    from models.sources.ga4.tables import Ga4Row
    from tests.conftest import EXAMPLE_MAP

    journey_map = load_map(EXAMPLE_MAP)
    day = dt.date(2026, 9, 20)
    base = {"property_id": "p1", "report": "traffic", "date": day, "channel": "Paid Social", "source": "facebook",
            "medium": "cpc", "device": "mobile", "user_type": "new", "country": "GB", "screen_page_views": 0,
            "event_count": 0, "purchase_revenue": 0.0}
    with engine.begin() as conn:
        conn.execute(insert(table_of(Ga4Row)), [
            {**base, "row_key": "a", "item": "/free-starter-guide/", "sessions": 100, "key_events": 30.0},
            {**base, "row_key": "b", "item": "/blog/shared-post/", "sessions": 800, "key_events": 40.0},
            {**base, "row_key": "c", "item": "/blog/shared-post/", "sessions": 100, "key_events": 5.0,
             "device": "desktop"},
            {**base, "row_key": "d", "item": "/blog/shared-post/", "sessions": 999, "key_events": 1.0,
             "property_id": "another"}])
    series = load_series(engine, journey_map, day, day, {"ga4": "p1"})
    cells = series[series["segment"].str.startswith("landing=")].sort_values(["step", "segment"])
    assert cells[["step", "segment", "n", "k"]].values.tolist() == [
        ["blog-posts", "landing=/blog/shared-post/", 900.0, 45.0],  # its rule takes the blog pages only
        ["social-ads", "landing=/blog/shared-post/", 900.0, 45.0],  # the other property's rows are not the map's
        ["social-ads", "landing=/free-starter-guide/", 100.0, 30.0]]
    assert not series[series["step"] == "lead-magnet-page"]["segment"].str.contains("=").any()


def test_the_bad_days_of_a_resolved_incident_never_read_as_a_new_drop() -> None:
    """A four-day checkout stall, told and fixed: once its incident resolved, its zero days stay out of the
    step's windows and baselines, so the 14-day window that still holds them opens no second incident."""
    rng = np.random.default_rng(5)
    last = AS_OF - dt.timedelta(days=1)
    stalled = {last - dt.timedelta(days=age) for age in range(10, 14)}
    rows = []
    for age in range(70):
        day = last - dt.timedelta(days=age)
        n = float(rng.poisson(400))
        rows.append({"date": day, "step": "checkout", "segment": "all", "n": n,
                     "k": 0.0 if day in stalled else float(rng.binomial(int(n), 0.60))})
    series = pd.DataFrame(rows)
    no_annotations = pd.DataFrame(columns=["touchpoint_id", "date"])
    _, _, flagged = judge_day(series, MAP, AS_OF, {}, {}, no_annotations)
    assert "shop|checkout|all|drop" in flagged  # without the incident's memory the old zeros read as a drop
    resolved = Incident("shop|checkout|all|stall", "shop", "checkout", "all", "stall", "resolved", "critical",
                        opened_on=min(stalled) + dt.timedelta(days=2), last_seen_on=max(stalled),
                        resolved_on=AS_OF - dt.timedelta(days=2), payload={"since": min(stalled).isoformat()})
    assert set(closed_days({resolved.key: resolved}, {"checkout": 1})["date"]) >= stalled
    _, outcome, flagged = judge_day(series, MAP, AS_OF, {resolved.key: resolved}, {}, no_annotations)
    assert flagged == []
    assert not [e for e in outcome.events if e.action in ("opened", "reopened")]
