"""Detection wiring: a source whose data failed a blocking quality check raises one data alert, no step alerts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import Engine, insert

from flows.detection import judge_day
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
    from flows.detection import _unusable_days
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
