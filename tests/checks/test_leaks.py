"""Static leaks: ranked by customers lost, with the change against the previous period."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from checks.leaks import static_leaks

D = dt.date(2026, 9, 1)


def frame(rows: list[tuple[str, float, float]], segment: str = "all") -> pd.DataFrame:
    return pd.DataFrame([{"date": D, "step": s, "segment": segment, "n": n, "k": k} for s, n, k in rows])


def test_the_biggest_loss_comes_first_with_its_change() -> None:
    now = frame([("cart", 1000, 300), ("landing", 5000, 4000), ("email", 100, 90)])
    before = frame([("cart", 1000, 500), ("landing", 5000, 4000)])
    leaks = static_leaks(now, before, top=2)
    assert list(leaks["step"]) == ["landing", "cart"]
    cart = leaks.set_index("step").loc["cart"]
    assert cart["lost"] == 700
    assert cart["drop_off"] == pytest.approx(0.7)
    assert cart["change_pp"] == pytest.approx(20.0)


def test_a_step_new_this_period_has_no_change_and_other_segments_are_ignored() -> None:
    now = pd.concat([frame([("email", 100, 40)]), frame([("email", 10_000, 0)], segment="device=mobile")])
    leaks = static_leaks(now, pd.DataFrame(columns=["date", "step", "segment", "n", "k"]))
    assert list(leaks["step"]) == ["email"]
    assert leaks.iloc[0]["lost"] == 60
    assert pd.isna(leaks.iloc[0]["change_pp"])
