"""The health gate on hand-built daily volumes: an outage is one data alert, a quiet small day is not."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from checks.bottlenecks import StepInfo
from checks.health import health_gate
from models.config import AlertPolicy

AS_OF = dt.date(2026, 9, 30)
POLICY = AlertPolicy()
STEPS = [StepInfo("landing", "shop", "awareness", "Landing", "ga4", 2, 0.0, 0.1),
         StepInfo("signup", "shop", "consideration", "Signup", "ga4", 2, 0.0, 0.5),
         StepInfo("checkout", "shop", "purchase", "Checkout", "stripe", 1, 100.0, 1.0)]


def volumes(per_day: dict[str, float], newest: dict[str, float] | None = None, seed: int = 0,
            exact: bool = False) -> pd.DataFrame:
    """42 days of Poisson volumes per step (segment all), or exactly `per_day` with `exact`; `newest` replaces
    each step's newest matured day."""
    rng = np.random.default_rng(seed)
    rows = []
    for step in STEPS:
        last = AS_OF - dt.timedelta(days=step.lag_days)
        for age in range(42):
            day = last - dt.timedelta(days=age)
            n = float(per_day[step.source] if exact else rng.poisson(per_day[step.source]))
            if age == 0 and newest is not None and step.source in newest:
                n = newest[step.source]
            rows.append({"date": day, "step": step.step, "segment": "all", "n": n, "k": 0.0})
    return pd.DataFrame(rows)


def test_ordinary_days_are_healthy() -> None:
    assert health_gate(volumes({"ga4": 2000, "stripe": 40}), STEPS, AS_OF, POLICY) == {}


def test_an_outage_is_one_data_alert_for_its_source() -> None:
    problems = health_gate(volumes({"ga4": 2000, "stripe": 40}, {"ga4": 0}), STEPS, AS_OF, POLICY)
    assert list(problems) == ["ga4"]
    assert "no data on 2026-09-28" in problems["ga4"]


def test_a_collapsed_volume_is_a_data_alert() -> None:
    problems = health_gate(volumes({"ga4": 2000, "stripe": 40}, {"stripe": 4}), STEPS, AS_OF, POLICY)
    assert list(problems) == ["stripe"]
    assert "volumes at" in problems["stripe"]


def test_a_quiet_day_at_a_few_sessions_is_not_an_outage() -> None:
    """Five checkout sessions on a usual day and none today happens by chance (P ≈ 0.7 %)."""
    assert health_gate(volumes({"ga4": 2000, "stripe": 5}, {"stripe": 0}, exact=True), STEPS, AS_OF, POLICY) == {}
    # the same fall at forty a day cannot be chance
    assert list(health_gate(volumes({"ga4": 2000, "stripe": 40}, {"stripe": 0}, exact=True), STEPS, AS_OF,
                            POLICY)) == ["stripe"]


def test_a_broken_day_holds_back_only_the_steps_judged_on_it_and_only_that_day() -> None:
    from checks.health import held_back

    gap = dt.date(2026, 9, 20)
    bad = pd.DataFrame({"step": ["landing", "signup"], "date": [gap, gap]})
    assert set(held_back(STEPS, bad, gap + dt.timedelta(days=2))) == {"landing", "signup"}  # GA4 matures in 2 days
    assert "judged again from the next good matured day" in held_back(STEPS, bad, gap + dt.timedelta(days=2))["landing"]
    assert held_back(STEPS, bad, gap + dt.timedelta(days=3)) == {}  # the next good matured day is judged
    assert held_back(STEPS, bad, gap + dt.timedelta(days=30)) == {}  # a month on the funnel is watched
