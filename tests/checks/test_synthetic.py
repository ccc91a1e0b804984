"""The benchmark's synthetic journeys: seeded, consistent, at the spec's rates, and with the incidents they claim."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import bench.synthetic as synthetic
from bench.synthetic import (
    STEPS,
    WEEKDAY,
    Decline,
    Drop,
    Effect,
    Flatline,
    JourneySpec,
    MixShift,
    Outage,
    drop_then_fix,
    generate,
    hover,
    immature,
    one_day_dip,
)

T = 60  # the day effects start
CRISP = JourneySpec(20000, 100, rate_cv=0.0)  # no day-to-day rate swings: effects stand out of binomial noise


def daily(frame: pd.DataFrame, step: str = "landing", segment: str = "all") -> pd.DataFrame:
    return frame[(frame["step"] == step) & (frame["segment"] == segment)].reset_index(drop=True)


def rate(frame: pd.DataFrame, step: str = "landing", segment: str = "all", days: slice = slice(None)) -> float:
    """Pooled k / n of the series over `days` (day indices)."""
    rows = daily(frame, step, segment).iloc[days]
    return float(rows["k"].sum() / rows["n"].sum())


def children_sums(frame: pd.DataFrame, dimension: str) -> pd.DataFrame:
    children = frame[frame["segment"].str.startswith(f"{dimension}=")]
    return children.groupby(["date", "step"])[["n", "k"]].sum()


def test_the_same_seed_gives_the_same_journey_and_another_seed_another() -> None:
    spec = JourneySpec(2000, 40)
    effects: list[Effect] = [Drop("landing", 20, 0.4), MixShift("channel=Paid Social", 30)]
    first = generate(spec, effects, seed=7)
    pd.testing.assert_frame_equal(first, generate(spec, effects, seed=7))
    assert not first[["n", "k"]].equals(generate(spec, effects, seed=8)[["n", "k"]])


def test_an_effect_changes_nothing_but_its_own_target() -> None:
    """Common random numbers: a case and its effect-free control share every draw the effect does not touch."""
    control = generate(CRISP, seed=13)
    case = generate(CRISP, [Drop("landing", T, 0.4), MixShift("channel=Paid Social", T + 10)], seed=13)
    untouched = (case["date"] < CRISP.date(T)) | ((case["step"] != "landing") & (case["date"] < CRISP.date(T + 10)))
    pd.testing.assert_frame_equal(case[untouched], control[untouched])
    landing = (case["step"] == "landing") & (case["date"] < CRISP.date(T + 10))
    np.testing.assert_array_equal(case.loc[landing, "n"], control.loc[landing, "n"])
    assert (case.loc[landing, "k"] <= control.loc[landing, "k"]).all()
    assert (case["n"] >= control["n"]).all()


def test_effects_refuse_what_they_cannot_simulate() -> None:
    with pytest.raises(ValueError, match=r"Drop\.size"):
        Drop("landing", 0, 1.5)
    with pytest.raises(ValueError, match=r"MixShift\.factor"):
        MixShift("channel=Direct", 0, 0.5)


def test_the_frame_has_the_detector_schema() -> None:
    spec = JourneySpec(2000, 10)
    frame = generate(spec)
    assert list(frame.columns) == ["date", "step", "segment", "n", "k"]
    assert len(frame) == 10 * len(STEPS) * len(spec.segments())
    assert isinstance(frame["date"].iloc[0], dt.date)
    assert frame["date"].iloc[0] == spec.start
    assert frame["n"].dtype == float
    assert (frame["k"] <= frame["n"]).all()
    assert (frame["k"] >= 0).all()
    assert not frame.duplicated(["date", "step", "segment"]).any()


@pytest.mark.parametrize("dimension", ["device", "channel"])
def test_all_is_the_sum_of_the_children_of_every_dimension(dimension: str) -> None:
    effects: list[Effect] = [Drop("landing", 10, 0.6, segment="device=mobile"), MixShift("channel=Paid Social", 15),
               Outage("stripe", 20), Flatline("signup", 25)]
    frame = generate(JourneySpec(2000, 30), effects, seed=3)
    total = frame[frame["segment"] == "all"].set_index(["date", "step"])[["n", "k"]]
    pd.testing.assert_frame_equal(children_sums(frame, dimension), total.sort_index(), check_names=False)


def test_chunked_generation_keeps_the_segments_consistent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(synthetic, "CELLS_PER_CHUNK", 1)  # one step per block
    frame = generate(JourneySpec(2000, 20), seed=1)
    total = frame[frame["segment"] == "all"].set_index(["date", "step"])[["n", "k"]]
    pd.testing.assert_frame_equal(children_sums(frame, "device"), total.sort_index(), check_names=False)
    assert frame.groupby("step")["n"].sum().gt(0).all()


def test_rates_volumes_and_noise_sit_at_the_spec_values() -> None:
    spec = JourneySpec(20000, 364)
    frame = generate(spec, seed=11)
    for step in STEPS:
        assert rate(frame, step.step) == pytest.approx(step.rate, rel=0.03)
        assert daily(frame, step.step)["n"].mean() == pytest.approx(20000 * step.reach, rel=0.05)
    landing = daily(frame)
    p = landing["k"] / landing["n"]
    assert 0.08 < p.std() / p.mean() < 0.13  # Beta with 10 % CV (plus a little binomial noise)
    dow = pd.to_datetime(landing["date"]).dt.dayofweek
    weekday = landing.groupby(dow)["n"].mean()
    assert weekday[5] / weekday[1] == pytest.approx(0.80 / 1.15, rel=0.08)
    adjusted = landing["n"] / (np.asarray(WEEKDAY)[dow] / np.mean(WEEKDAY))
    expected_cv = np.sqrt(1 / spec.dispersion + 1 / 20000)  # negative binomial; Poisson alone would give 0.007
    assert adjusted.std() / adjusted.mean() == pytest.approx(expected_cv, rel=0.2)


def test_segments_convert_at_their_relative_rates() -> None:
    frame = generate(JourneySpec(20000, 120), seed=2)
    assert rate(frame, segment="channel=Paid Social") / rate(frame, segment="channel=Direct") == \
        pytest.approx(0.5, rel=0.05)
    assert rate(frame, segment="device=mobile") / rate(frame, segment="device=desktop") == \
        pytest.approx(0.8 / 1.1, rel=0.05)
    assert daily(frame, segment="device=mobile")["n"].sum() / daily(frame)["n"].sum() == pytest.approx(0.4, rel=0.02)


def test_a_segment_drop_lowers_only_that_segment_from_its_day() -> None:
    frame = generate(CRISP, [Drop("landing", T, 0.6, segment="device=mobile")], seed=4)
    before, after = slice(0, T), slice(T, None)
    assert rate(frame, segment="device=mobile", days=after) / rate(frame, segment="device=mobile", days=before) == \
        pytest.approx(0.4, rel=0.03)
    assert rate(frame, segment="device=desktop", days=after) / rate(frame, segment="device=desktop", days=before) == \
        pytest.approx(1.0, rel=0.03)
    assert rate(frame, "signup", days=after) / rate(frame, "signup", days=before) == pytest.approx(1.0, rel=0.03)


def test_a_one_day_dip_is_one_day_and_a_fix_ends_the_drop() -> None:
    dip = generate(CRISP, [one_day_dip("landing", T, 0.4)], seed=5)
    base = rate(dip, days=slice(0, T))
    assert rate(dip, days=slice(T, T + 1)) / base == pytest.approx(0.6, rel=0.05)
    assert rate(dip, days=slice(T + 1, None)) / base == pytest.approx(1.0, rel=0.03)
    fixed = generate(CRISP, [drop_then_fix("landing", T, 0.4, 7)], seed=5)
    assert rate(fixed, days=slice(T, T + 7)) / base == pytest.approx(0.6, rel=0.04)
    assert rate(fixed, days=slice(T + 7, None)) / base == pytest.approx(1.0, rel=0.03)


def test_hover_holds_the_rate_at_the_threshold() -> None:
    frame = generate(CRISP, [hover("landing", T, 0.2)], seed=6)
    assert rate(frame, days=slice(T, None)) / rate(frame, days=slice(0, T)) == pytest.approx(0.8, rel=0.03)


def test_a_slow_decline_loses_two_percent_a_day_for_fourteen_days() -> None:
    frame = generate(CRISP, [Decline("landing", T, 0.02, 14)], seed=7)
    series = daily(frame)
    ratio = (series["k"] / series["n"]).to_numpy() / rate(frame, days=slice(0, T))
    slope = np.polyfit(np.arange(14), ratio[T:T + 14], 1)[0]
    assert slope == pytest.approx(-0.02, abs=0.004)
    assert ratio[T + 14:].mean() == pytest.approx(0.72, rel=0.03)
    assert ratio[:T].mean() == pytest.approx(1.0, rel=0.01)


def test_a_flatline_zeroes_conversions_but_not_traffic() -> None:
    series = daily(generate(CRISP, [Flatline("landing", T)], seed=8))
    assert (series["k"].iloc[T:] == 0).all()
    assert (series["n"].iloc[T:] > 0).all()
    assert (series["k"].iloc[:T] > 0).all()


def test_a_mix_shift_triples_a_channel_at_its_own_rate() -> None:
    frame = generate(CRISP, [MixShift("channel=Paid Social", T, 3.0)], seed=9)
    paid = daily(frame, segment="channel=Paid Social")
    other = daily(frame, segment="channel=Direct")
    share = paid["n"] / other["n"]
    assert share.iloc[T:].mean() / share.iloc[:T].mean() == pytest.approx(3.0, rel=0.03)
    paid_rate = [rate(frame, segment="channel=Paid Social", days=d) for d in (slice(0, T), slice(T, None))]
    assert paid_rate[1] == pytest.approx(paid_rate[0], rel=0.03)
    assert rate(frame, days=slice(T, None)) < 0.9 * rate(frame, days=slice(0, T))  # ALL's raw rate falls


def test_an_outage_empties_its_source_and_leaves_the_others_untouched() -> None:
    clean = generate(CRISP, seed=10)
    broken = generate(CRISP, [Outage("ga4", T)], seed=10)
    ga4 = broken["step"].isin({"landing", "signup"}) & (broken["date"] >= CRISP.date(T))
    assert (broken.loc[ga4, ["n", "k"]] == 0).all().all()
    pd.testing.assert_frame_equal(broken[~ga4], clean[~ga4])


def test_immature_scales_only_the_newest_days_of_the_source() -> None:
    frame = generate(JourneySpec(2000, 30), seed=12)
    as_of = dt.date(2025, 1, 6) + dt.timedelta(days=29)
    seen = immature(frame, STEPS, as_of, "ga4", days=2, completeness=0.6)
    young = frame["step"].isin({"landing", "signup"}) & (frame["date"] >= as_of - dt.timedelta(days=1))
    assert young.sum() == 2 * 2 * 6
    np.testing.assert_allclose(seen.loc[young, ["n", "k"]], 0.6 * frame.loc[young, ["n", "k"]])
    pd.testing.assert_frame_equal(seen[~young], frame[~young])
    total = seen[seen["segment"] == "all"].set_index(["date", "step"])[["n", "k"]]
    pd.testing.assert_frame_equal(children_sums(seen, "channel"), total.sort_index(), check_names=False)
