"""Seeded synthetic journeys with known incidents: the ground truth of the detection benchmark."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

WEEKDAY = (1.10, 1.15, 1.10, 1.05, 1.00, 0.80, 0.80)  # Monday … Sunday, relative traffic
CELLS_PER_CHUNK = 4_000_000  # bounds the working arrays when a journey has hundreds of steps


@dataclass(frozen=True)
class Dimension:
    """A segment dimension whose values partition ALL; `rate_factors` are relative to one another."""

    name: str
    values: tuple[str, ...]
    shares: tuple[float, ...]
    rate_factors: tuple[float, ...]

    def labels(self) -> list[str]:
        return [f"{self.name}={value}" for value in self.values]


@dataclass(frozen=True)
class SynthStep:
    """One step of a synthetic journey: `reach` users reach its touchpoint per journey user, `rate` convert."""

    step: str
    source: str
    lag_days: int
    rate: float
    reach: float = 1.0
    value: float = 50.0
    goal_share: float = 0.5


DEVICE = Dimension("device", ("mobile", "desktop"), (0.4, 0.6), (0.8, 1.1))
CHANNEL = Dimension("channel", ("Organic Search", "Direct", "Paid Social"), (0.45, 0.30, 0.25), (1.0, 1.0, 0.5))
# where sessions land: a blog post converts far less than the guide or the home page
LANDING = Dimension("landing", ("/", "/guide/", "/blog/shared-post/", "/blog/other-post/"), (0.35, 0.25, 0.15, 0.25),
                    (1.3, 1.4, 0.3, 0.6))
STEPS = (
    SynthStep("landing", "ga4", 2, 0.20, 1.0),
    SynthStep("signup", "ga4", 2, 0.50, 0.2),
    SynthStep("checkout", "stripe", 1, 0.60, 0.1),
    SynthStep("nurture", "mailchimp", 3, 0.25, 0.5),
)


@dataclass(frozen=True)
class JourneySpec:
    """A journey to simulate: `users_per_day` is the mean daily traffic at reach 1 (before weekday factors)."""

    users_per_day: float
    days: int
    steps: tuple[SynthStep, ...] = STEPS
    dimensions: tuple[Dimension, ...] = (DEVICE, CHANNEL)
    start: dt.date = dt.date(2025, 1, 6)
    rate_cv: float = 0.10  # coefficient of variation of the daily rate p_d ~ Beta
    dispersion: float = 30.0  # negative-binomial size r: traffic CV ≥ 1/sqrt(r)
    weekday: tuple[float, ...] = WEEKDAY
    journey: str = "synthetic"

    def date(self, day: int) -> dt.date:
        return self.start + dt.timedelta(days=day)

    def segments(self) -> list[str]:
        return ["all", *(label for d in self.dimensions for label in d.labels())]


@dataclass(frozen=True)
class Drop:
    """The step's rate falls by `size` (relative) on days [start, end); only inside `segment` when given."""

    step: str
    start: int
    size: float
    end: int | None = None
    segment: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.size <= 1:
            raise ValueError(f"Drop.size is a relative fall in [0, 1], got {self.size}")


@dataclass(frozen=True)
class Decline:
    """The step's rate falls by `per_day` more every day for `days` days from `start`, then stays down."""

    step: str
    start: int
    per_day: float = 0.02
    days: int = 14


@dataclass(frozen=True)
class Flatline:
    """The step records no conversion at all from `start` on (a broken tag); its traffic is unchanged."""

    step: str
    start: int


@dataclass(frozen=True)
class MixShift:
    """From `start` (to `end`, exclusive, when given) the segment (a low-intent channel, a page shared widely) brings
    `factor` × its usual traffic, at its usual rate."""

    segment: str
    start: int
    factor: float = 3.0
    end: int | None = None

    def __post_init__(self) -> None:
        if self.factor < 1:
            raise ValueError(f"MixShift.factor adds traffic and must be ≥ 1, got {self.factor}")


@dataclass(frozen=True)
class Outage:
    """The source delivers nothing on days [start, end): n = k = 0 on every step it feeds."""

    source: str
    start: int
    end: int | None = None


Effect = Drop | Decline | Flatline | MixShift | Outage


def one_day_dip(step: str, day: int, size: float = 0.4) -> Drop:
    """A drop of `size` on one day only, recovered the next."""
    return Drop(step, day, size, end=day + 1)


def drop_then_fix(step: str, start: int, size: float, days: int) -> Drop:
    """A drop of `size` that is fixed after `days` days."""
    return Drop(step, start, size, end=start + days)


def hover(step: str, start: int, threshold: float = 0.20) -> Drop:
    """The rate settles exactly at the alert threshold (a `threshold` relative drop), so noise crosses it both ways."""
    return Drop(step, start, threshold)


@dataclass(frozen=True)
class _Cells:
    """The cross product of all dimensions: the finest cells, from which every segment is summed."""

    share: np.ndarray  # cell
    factor: np.ndarray  # cell, share-weighted mean 1
    member: np.ndarray  # cell × segment (ALL first), 0/1
    labels: list[str]


def _cells(dimensions: Sequence[Dimension]) -> _Cells:
    labels = ["all", *(label for d in dimensions for label in d.labels())]
    combos = list(itertools.product(*(range(len(d.values)) for d in dimensions)))
    share = np.ones(len(combos))
    factor = np.ones(len(combos))
    member = np.zeros((len(combos), len(labels)))
    member[:, 0] = 1
    for c, combo in enumerate(combos):
        offset = 1
        for d, i in zip(dimensions, combo, strict=True):
            share[c] *= d.shares[i]
            factor[c] *= d.rate_factors[i] / np.dot(d.shares, d.rate_factors)
            member[c, offset + i] = 1
            offset += len(d.values)
    return _Cells(share / share.sum(), factor, member, labels)


def _beta_rates(rng: np.random.Generator, mean: np.ndarray, cv: float, days: int) -> np.ndarray:
    """Daily rates p_d ~ Beta with the given mean and coefficient of variation, days × steps."""
    if cv <= 0:
        return np.broadcast_to(mean, (days, len(mean))).copy()
    total = mean * (1 - mean) / (cv * mean) ** 2 - 1  # a + b
    return rng.beta(mean * total, (1 - mean) * total, size=(days, len(mean)))


def _multipliers(spec: JourneySpec, effects: Sequence[Effect], steps: Sequence[SynthStep],
                 cells: _Cells) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rate and volume multipliers, and where k or n and k are forced to zero: days × steps × cells."""
    shape = (spec.days, len(steps), len(cells.share))
    rate, volume = np.ones(shape), np.ones(shape)
    no_k, no_data = np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool)
    index = {s.step: i for i, s in enumerate(steps)}
    day = np.arange(spec.days)
    for effect in effects:
        if isinstance(effect, Outage):
            feeds = np.array([s.source == effect.source for s in steps])
            on = (day >= effect.start) & (day < (effect.end if effect.end is not None else spec.days))
            no_data |= on[:, None, None] & feeds[None, :, None]
            continue
        if isinstance(effect, MixShift):
            inside = cells.member[:, cells.labels.index(effect.segment)] > 0
            on = (day >= effect.start) & (day < (effect.end if effect.end is not None else spec.days))
            volume[np.ix_(on, np.arange(len(steps)), inside)] *= effect.factor
            continue
        if effect.step not in index:
            continue
        i = index[effect.step]
        if isinstance(effect, Flatline):
            no_k[day >= effect.start, i, :] = True
        elif isinstance(effect, Decline):
            elapsed = np.clip(day - effect.start + 1, 0, effect.days)
            rate[:, i, :] *= np.clip(1 - effect.per_day * elapsed, 0, None)[:, None]
        else:
            on = (day >= effect.start) & (day < (effect.end if effect.end is not None else spec.days))
            inside = np.ones(len(cells.share), dtype=bool) if effect.segment is None else \
                cells.member[:, cells.labels.index(effect.segment)] > 0
            rate[np.ix_(on, np.array([i]), inside)] *= 1 - effect.size
    return rate, volume, no_k, no_data


def generate(spec: JourneySpec, effects: Sequence[Effect] = (), seed: int = 0) -> pd.DataFrame:
    """Daily counts of every (date, step, segment) of a synthetic journey.

    Traffic n is negative binomial around users_per_day × reach × weekday factor × segment share (a gamma
    day shock shared by every step and cell, then Poisson); the daily rate p_d ~ Beta(mean = step rate,
    CV = rate_cv) is shared by the cells of a step, scaled by the cells' rate factors; k ~ Binomial(n, p).
    Counts are drawn per finest cell (the cross product of the dimensions) and summed into segments, so ALL
    equals the sum of the children of every dimension exactly.

    Effects never shift the base draws (common random numbers): the same seed without effects gives the same
    journey wherever no effect acts. Extra traffic is drawn from a second stream, and a lower rate thins the
    base conversions (Binomial(Binomial(n, p), m) = Binomial(n, p·m)), so a case and its effect-free control
    differ only by what the effect did.

    Returns:
        Columns date (datetime.date), step, segment ("all", "device=mobile", …), n, k (floats), sorted by date.
    """
    rng = np.random.default_rng(seed)
    extra = np.random.default_rng([seed, 1])  # the effects' own draws
    cells = _cells(spec.dimensions)
    steps = list(spec.steps)
    dates = [spec.date(d) for d in range(spec.days)]
    weekday = np.asarray(spec.weekday) / np.mean(spec.weekday)
    traffic = spec.users_per_day * weekday[[d.weekday() for d in dates]]
    shock = rng.gamma(spec.dispersion, 1 / spec.dispersion, size=spec.days)
    p_day = _beta_rates(rng, np.array([s.rate for s in steps]), spec.rate_cv, spec.days)
    n_out = np.zeros((spec.days, len(steps), len(cells.labels)))
    k_out = np.zeros_like(n_out)
    chunk = max(1, CELLS_PER_CHUNK // (spec.days * len(cells.share)))
    for lo in range(0, len(steps), chunk):  # one pass per block of steps keeps memory flat
        block = steps[lo:lo + chunk]
        rate_x, volume_x, no_k, no_data = _multipliers(spec, effects, block, cells)
        reach = np.array([s.reach for s in block])
        mean = (traffic * shock)[:, None, None] * reach[None, :, None] * cells.share[None, None, :]
        p = np.clip(p_day[:, lo:lo + chunk, None] * cells.factor[None, None, :], 0.0, 1.0)
        n = rng.poisson(mean)
        k = rng.binomial(n, p)
        if (volume_x > 1).any():
            added = extra.poisson(mean * (volume_x - 1))
            n, k = n + added, k + extra.binomial(added, p)
        if (rate_x < 1).any():
            k = extra.binomial(k, np.clip(rate_x, 0.0, 1.0))
        k[no_k | no_data] = 0
        n[no_data] = 0
        n_out[:, lo:lo + chunk] = n @ cells.member
        k_out[:, lo:lo + chunk] = k @ cells.member
    per_day = len(steps) * len(cells.labels)
    return pd.DataFrame({
        "date": np.repeat(np.array(dates, dtype=object), per_day),
        "step": np.tile(np.repeat(np.array([s.step for s in steps], dtype=object), len(cells.labels)), spec.days),
        "segment": np.tile(np.array(cells.labels, dtype=object), spec.days * len(steps)),
        "n": n_out.ravel(),
        "k": k_out.ravel(),
    })


def immature(series: pd.DataFrame, steps: Sequence[SynthStep], as_of: dt.date, source: str = "ga4",
             days: int = 2, completeness: float = 0.6) -> pd.DataFrame:
    """`series` as a run on `as_of` sees it: the newest `days` dates up to `as_of` of `source` only partly in.

    n and k of those rows are both scaled by `completeness`, so ALL stays the sum of its children.
    """
    fed = {s.step for s in steps if s.source == source}
    first = as_of - dt.timedelta(days=days - 1)
    rows = series["step"].isin(fed).to_numpy() & (series["date"] >= first).to_numpy() & \
        (series["date"] <= as_of).to_numpy()
    out = series.copy()
    out.loc[rows, ["n", "k"]] *= completeness
    return out
