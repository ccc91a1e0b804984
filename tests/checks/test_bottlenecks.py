"""Detection rules on small hand-built series with known answers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from checks.bottlenecks import CUSUM_CLIP, StepInfo, _cusum, detect
from checks.segments import attribute
from models.config import AlertPolicy

AS_OF = dt.date(2026, 9, 30)
DAYS = 60
POLICY = AlertPolicy()
STEP = StepInfo("cart", "shop", "purchase", "Cart", "ga4", 2, 100.0, 0.5)


def make(rate: float, volume: int, *, segments: dict[str, tuple[float, float]] | None = None, seed: int = 1,
         effect: dict[str, float] | None = None, start: int = 7, flat_from: int | None = None) -> pd.DataFrame:
    """Binomial daily counts for one step; `segments` = {name: (share of volume, rate)}; `effect` = relative
    change of the rate per segment over the last `start` matured days; ALL is the sum of the segments."""
    rng = np.random.default_rng(seed)
    segments = segments or {"device=desktop": (0.5, rate), "device=mobile": (0.5, rate)}
    last = AS_OF - dt.timedelta(days=STEP.lag_days)
    dates = [last - dt.timedelta(days=i) for i in range(DAYS)][::-1]
    rows = []
    for name, (share, p) in segments.items():
        n = rng.poisson(volume * share, DAYS).astype(float)
        rates = np.full(DAYS, p)
        change = (effect or {}).get(name, (effect or {}).get("all", 0.0))
        rates[-start:] *= 1 + change
        k = rng.binomial(n.astype(int), np.clip(rates, 0, 1)).astype(float)
        if flat_from is not None:
            k[-flat_from:] = 0
        rows.append(pd.DataFrame({"date": dates, "step": "cart", "segment": name, "n": n, "k": k}))
    frame = pd.concat(rows, ignore_index=True)
    total = frame.groupby("date", as_index=False)[["n", "k"]].sum().assign(step="cart", segment="all")
    return pd.concat([frame, total], ignore_index=True)


def row(result: pd.DataFrame, segment: str = "all") -> pd.Series:
    return result[result["segment"] == segment].iloc[0]


def test_noise_alone_raises_nothing() -> None:
    alerts = sum(bool(detect(make(0.2, 2000, seed=s), [STEP], AS_OF, POLICY)[["candidate", "stall"]].any().any())
                 for s in range(20))
    assert alerts <= 1


def test_a_40_percent_drop_is_a_critical_candidate_with_its_money() -> None:
    result = detect(make(0.2, 200, effect={"all": -0.4}), [STEP], AS_OF, POLICY)
    all_row = row(result)
    assert all_row["candidate"]
    assert all_row["kind"] == "drop"
    assert all_row["alert_segment"]
    assert all_row["drop"] == pytest.approx(0.4, abs=0.12)
    assert 0 < all_row["lost"] < all_row["n_w"] * 0.2 * 0.4 * 1.3
    assert all_row["impact_per_day"] == pytest.approx(all_row["lost_per_day"] * 0.5 * 100)
    assert all_row["p_lo"] < all_row["p_w"] < all_row["p_hi"]
    assert all_row["severity"] == "critical"


def test_zero_conversions_at_twenty_a_day_is_a_flatline_on_the_next_matured_day() -> None:
    result = detect(make(0.1, 200, flat_from=1), [STEP], AS_OF, POLICY)
    assert row(result)["kind"] == "flatline"
    assert row(result)["stall"]
    assert row(result)["severity"] == "critical"
    # it reports its own day, not a window around it: rate 0 since the newest matured day, ~20 lost that day
    assert (row(result)["window"], row(result)["p_w"]) == (1, 0.0)
    assert row(result)["since"] == AS_OF - dt.timedelta(days=STEP.lag_days)
    assert 10 < row(result)["lost_per_day"] < 30


def test_a_collapse_is_a_stall() -> None:
    result = detect(make(0.2, 400, effect={"all": -0.92}, start=3), [STEP], AS_OF, POLICY)
    assert row(result)["kind"] in {"collapse", "flatline"}
    assert row(result)["stall"]


def test_a_low_intent_channel_flood_is_not_a_bottleneck() -> None:
    """Channel b triples its volume at half the rate: ALL's rate falls, but no channel got worse."""
    rng_frames = []
    base = make(0.2, 1000, segments={"channel=a": (0.5, 0.2), "channel=b": (0.5, 0.1)}, seed=3)
    recent = base["date"] >= AS_OF - dt.timedelta(days=STEP.lag_days + 6)
    flood = base[(base["segment"] == "channel=b") & recent].index
    rng = np.random.default_rng(5)
    base.loc[flood, "n"] *= 3
    base.loc[flood, "k"] = rng.binomial(base.loc[flood, "n"].astype(int), 0.1)
    children = base[base["segment"] != "all"]
    total = children.groupby("date", as_index=False)[["n", "k"]].sum().assign(step="cart", segment="all")
    rng_frames = pd.concat([children, total], ignore_index=True)
    result = detect(rng_frames, [STEP], AS_OF, POLICY)
    assert not row(result)["candidate"]
    assert row(result)["p0"] < row(result)["p0_raw"]  # the expectation followed the mix


def test_immature_days_are_never_judged() -> None:
    frame = make(0.2, 2000)
    recent = frame["date"] > AS_OF - dt.timedelta(days=STEP.lag_days)
    immature = pd.DataFrame({"date": [AS_OF - dt.timedelta(days=1), AS_OF], "step": "cart", "segment": "all",
                             "n": [1200.0, 600.0], "k": [10.0, 0.0]})
    assert not recent.any()
    result = detect(pd.concat([frame, immature], ignore_index=True), [STEP], AS_OF, POLICY)
    assert not row(result)["candidate"]
    assert not row(result)["stall"]


def test_a_mobile_only_drop_names_the_mobile_segment() -> None:
    segments = {"device=mobile": (0.4, 0.2), "device=desktop": (0.6, 0.2)}
    result = detect(make(0.2, 600, segments=segments, effect={"device=mobile": -0.6}), [STEP], AS_OF, POLICY)
    flagged = result[result["alert_segment"]]
    assert len(flagged) == 1
    assert flagged.iloc[0]["segment"] in {"all", "device=mobile"}
    assert row(result)["top_segments"].startswith("device=mobile")


def test_unhealthy_sources_are_not_judged() -> None:
    assert detect(make(0.1, 200, flat_from=3), [STEP], AS_OF, POLICY, unhealthy={"ga4"}).empty


def test_excluded_baseline_days_do_not_count() -> None:
    frame = make(0.2, 1000, seed=4)
    bad_day = AS_OF - dt.timedelta(days=STEP.lag_days + 20)
    frame.loc[frame["date"] == bad_day, "k"] = 0
    excluded = pd.DataFrame({"step": ["cart", "cart", "cart"], "segment": ["all", "device=mobile", "device=desktop"],
                             "date": [bad_day] * 3})
    kept = row(detect(frame, [STEP], AS_OF, POLICY, excluded=excluded))
    counted = row(detect(frame, [STEP], AS_OF, POLICY))
    assert kept["p0_raw"] > counted["p0_raw"]
    assert kept["n_base"] < counted["n_base"]


def test_cusum_closed_form_equals_the_recursion() -> None:
    rng = np.random.default_rng(0)
    n = rng.integers(50, 200, (5, 14)).astype(float)
    k = rng.binomial(n.astype(int), 0.18).astype(float)
    p0, sigma = np.full((5, 14), 0.2), np.ones(5)
    expected = []
    for i in range(5):
        s = 0.0
        for t in range(13, -1, -1):  # oldest first
            z = (k[i, t] / n[i, t] - 0.2) / np.sqrt(0.2 * 0.8 / n[i, t])
            s = max(0.0, s + min(-z, CUSUM_CLIP) - 0.5)
        expected.append(s)
    assert _cusum(n, k, p0, sigma) == pytest.approx(expected)


def test_one_deep_day_moves_the_cusum_by_at_most_the_clip() -> None:
    n = np.full((1, 14), 1000.0)
    k = np.full((1, 14), 200.0)
    k[0, 1] = 20  # yesterday at −90 %, z ≈ −14; today on the baseline
    assert _cusum(n, k, np.full((1, 14), 0.2), np.ones(1))[0] == pytest.approx(CUSUM_CLIP - 0.5 - 0.5)


def test_a_one_day_dip_recovered_is_not_a_candidate() -> None:
    """A day at −90 %, four days ago: the last week lost 13 %, but one day is not a drift."""
    frame = make(0.2, 2000, seed=3)
    dip = (frame["date"] == AS_OF - dt.timedelta(days=STEP.lag_days + 4)) & (frame["segment"] != "all")
    frame.loc[dip, "k"] = (frame.loc[dip, "k"] * 0.1).round()
    children = frame[frame["segment"] != "all"]
    total = children.groupby("date", as_index=False)[["n", "k"]].sum().assign(step="cart", segment="all")
    result = detect(pd.concat([children, total], ignore_index=True), [STEP], AS_OF, POLICY)
    assert not result["candidate"].any()


def test_a_slow_decline_is_caught_by_cusum() -> None:
    frame = make(0.2, 400, seed=2)
    recent = frame["date"] > AS_OF - dt.timedelta(days=STEP.lag_days + 14)
    ages = (AS_OF - dt.timedelta(days=STEP.lag_days) - frame.loc[recent, "date"]).map(lambda d: d.days)
    factor = 1 - 0.02 * (14 - ages)
    rng = np.random.default_rng(9)
    frame.loc[recent, "k"] = rng.binomial(frame.loc[recent, "n"].astype(int), 0.2 * factor)
    children = frame[frame["segment"] != "all"]
    total = children.groupby("date", as_index=False)[["n", "k"]].sum().assign(step="cart", segment="all")
    result = detect(pd.concat([children, total], ignore_index=True), [STEP], AS_OF, POLICY)
    assert row(result)["candidate"]
    assert row(result)["cusum"] > 0


def test_a_segment_alerts_on_its_own_only_for_its_own_leak() -> None:
    """ALL is quiet; desktop fell with everyone else (the step's leak), mobile fell alone (its own)."""
    rows = pd.DataFrame([
        {"step": "cart", "segment": "all", "candidate": False, "stall": False, "traffic": 1000.0, "lost": 30.0,
         "shortfall": 40.0, "drop": 0.15, "drop_rest": np.nan},
        {"step": "cart", "segment": "device=desktop", "candidate": True, "stall": False, "traffic": 500.0,
         "lost": 12.0, "shortfall": 15.0, "drop": 0.32, "drop_rest": 0.22},
        {"step": "cart", "segment": "device=mobile", "candidate": True, "stall": False, "traffic": 400.0,
         "lost": 18.0, "shortfall": 25.0, "drop": 0.61, "drop_rest": 0.04},
    ])
    result = attribute(rows, POLICY).set_index("segment")
    assert result["alert_segment"].to_dict() == {"all": False, "device=desktop": False, "device=mobile": True}
    assert result.loc["all", "top_segments"] == "device=mobile (62 %), device=desktop (38 %)"


def test_a_step_worth_nothing_is_never_critical_for_its_money() -> None:
    """A step whose success leads to no goal value (goal_share 0) warns; only a stall would make it critical."""
    unpriced = StepInfo("cart", "shop", "purchase", "Cart", "ga4", 2, 100.0, 0.0)
    result = detect(make(0.2, 200, effect={"all": -0.4}), [unpriced], AS_OF, POLICY)
    assert row(result)["candidate"]
    assert row(result)["impact_per_day"] == 0
    assert row(result)["severity"] == "warning"


def surged_pages(factor: float, seed: int = 2) -> pd.DataFrame:
    """One step landing on two pages (a guide converting at 30 %, a blog post at 5 %), 60 days of 1 000 sessions
    each; on the newest matured day the blog post gets `factor` × its sessions at its own, unchanged rate."""
    rng = np.random.default_rng(seed)
    last = AS_OF - dt.timedelta(days=STEP.lag_days)
    rows = []
    for age in range(DAYS):
        day = last - dt.timedelta(days=age)
        for page, rate in (("/guide/", 0.30), ("/blog/post/", 0.05)):
            n = float(rng.poisson(1000 * (factor if age == 0 and page == "/blog/post/" else 1)))
            rows.append({"date": day, "step": "cart", "segment": f"landing={page}", "n": n,
                         "k": float(rng.binomial(int(n), rate))})
    frame = pd.DataFrame(rows)
    total = frame.groupby("date", as_index=False)[["n", "k"]].sum().assign(step="cart", segment="all")
    return pd.concat([frame, total], ignore_index=True)


def test_a_surge_on_one_page_at_its_own_rate_is_no_drop_once_the_page_mix_is_known() -> None:
    series = surged_pages(8.0)
    blind = detect(series[~series["segment"].str.startswith("landing=")], [STEP], AS_OF, POLICY)
    assert row(blind)["candidate"]  # the flood of readers reads as a leak...
    assert row(blind)["drop"] > POLICY.min_relative_drop
    result = detect(series, [STEP], AS_OF, POLICY)
    assert not row(result)["candidate"]  # ...but not when the step's expectation follows where sessions land
    assert row(result)["p0"] < row(result)["p0_raw"] - 0.02  # the expectation follows the readers' low rate
    assert set(result["segment"]) == {"all"}  # page cells shape the expectation; they are not judged themselves


def test_a_real_drop_on_the_page_that_surged_is_still_found() -> None:
    series = surged_pages(8.0)
    blog = (series["segment"] == "landing=/blog/post/") & (series["date"] == series["date"].max())
    lost = series.loc[blog, "k"] * 0.8
    series.loc[blog, "k"] -= lost.round()
    newest_all = (series["segment"] == "all") & (series["date"] == series["date"].max())
    series.loc[newest_all, "k"] -= float(lost.round().sum())
    assert row(detect(series, [STEP], AS_OF, POLICY))["candidate"]


def test_a_day_left_out_as_unreliable_is_out_of_the_baseline_and_the_windows() -> None:
    series = make(0.2, 2000, seed=4)
    newest = sorted(series["date"].unique())[-3:]
    broken = series.copy()  # three days with half their rows lost, conversions more so: partial days read as a drop
    day = broken["date"].isin(newest)
    broken.loc[day, "n"] *= 0.5
    broken.loc[day, "k"] *= 0.1
    assert row(detect(broken, [STEP], AS_OF, POLICY))["candidate"]
    gap = pd.DataFrame({"step": ["cart"] * 3, "date": newest})
    left_out = detect(broken, [STEP], AS_OF, POLICY, unreliable=gap)
    assert not row(left_out)["candidate"]
    assert row(left_out)["n_w"] == row(detect(series, [STEP], AS_OF, POLICY, unreliable=gap))["n_w"]
