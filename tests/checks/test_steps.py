"""Steps from the stored facts: k from the touchpoint's own success or the next touchpoint's volume."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from checks.steps import step_series, steps_of
from models.mapfile import load_map
from tests.conftest import EXAMPLE_MAP

D = dt.date(2026, 9, 1)


def facts(rows: list[tuple[int, str, str, float, float | None]]) -> pd.DataFrame:
    return pd.DataFrame([{"date": D + dt.timedelta(days=d), "touchpoint_id": tp, "segment": seg, "volume": v,
                          "success": s} for d, tp, seg, v, s in rows])


def test_a_cross_source_step_is_measured_only_for_the_segments_both_sources_report() -> None:
    """Cart (GA4, with devices) → Stripe Checkout (no device): the step exists for ALL only, and a day
    without a checkout row is a day with no checkouts."""
    series = step_series(facts([
        (0, "cart", "all", 20.0, None), (0, "cart", "device=mobile", 8.0, None),
        (0, "checkout", "all", 12.0, 9.0),
        (1, "cart", "all", 10.0, None), (1, "cart", "device=mobile", 4.0, None),
    ]), load_map(EXAMPLE_MAP))
    cart = series[series["step"] == "cart"].sort_values("date")
    assert cart[["segment", "n", "k"]].values.tolist() == [["all", 20.0, 12.0], ["all", 10.0, 0.0]]
    checkout = series[series["step"] == "checkout"]
    assert checkout[["segment", "n", "k"]].values.tolist() == [["all", 12.0, 9.0]]


def test_every_step_knows_its_source_lag_and_goal_share() -> None:
    journey_map = load_map(EXAMPLE_MAP)
    series = step_series(facts([(0, "cart", "all", 20.0, None), (0, "checkout", "all", 12.0, 9.0)]), journey_map)
    steps = {s.step: s for s in steps_of(journey_map, series)}
    assert (steps["cart"].source, steps["cart"].lag_days) == ("ga4", 2)
    assert (steps["checkout"].source, steps["checkout"].lag_days) == ("stripe", 1)
    assert steps["checkout"].goal_share == 1.0  # the course journey's goal
    assert steps["cart"].goal_share == 0.75  # 9 paid of 12 checkouts opened from the cart
