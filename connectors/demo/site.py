"""The demo website's day: sessions per segment cell, the page funnel, events, GA4 rows and checkouts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from connectors.demo import business as biz
from connectors.ga4.records import Ga4ReportRow
from connectors.stripe.records import CheckoutSession

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
SITE_STREAM, CHECKOUT_STREAM = 0, 1  # the third number of a day's seed sequence, one per stream

PAGES = tuple(path for paths in biz.PAGE_GROUPS.values() for path in paths)
GROUP_COLS = {group: np.array([PAGES.index(p) for p in paths]) for group, paths in biz.PAGE_GROUPS.items()}
GROUP_WEIGHTS = {group: (w := 1.0 / np.arange(1, len(paths) + 1)) / w.sum() for group, paths in biz.PAGE_GROUPS.items()}
PRICES_GBP = np.array([p.amount / 100 for p in biz.PRODUCTS])
EVENTS = tuple(sorted({f.target[6:] for f in biz.FLOWS if f.target.startswith("event:")} | {"purchase"}))


def sha256_hex(text: str) -> str:
    """Hex SHA-256 of a synthetic id (the demo never invents an address)."""
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Units:
    """The static table of session units: (channel, source, device, user type, country, landing page).

    Units are sorted by sub-cell (everything but the landing page), so `starts` splits them for reduceat.
    """

    cell: IntArray  # the (channel, device, user type, country) cell whose sessions the unit shares
    share: FloatArray  # the unit's share of its cell's sessions
    landing: IntArray  # column in PAGES
    dims: dict[str, NDArray[np.str_]]  # device / channel / user_type / country per unit
    starts: IntArray  # first unit of each sub-cell
    subcells: list[tuple[str, str, str, str, str, str]]  # channel, source, medium, device, user_type, country
    cell_mu: FloatArray  # mean sessions a day of each cell, before day factors
    cell_dims: dict[str, NDArray[np.str_]]
    lifts: dict[str, FloatArray]  # per key of LIFTS, the multiplier of each unit


def _landing(channel: biz.Channel, user_type: str) -> list[tuple[int, float]]:
    groups = [(g, s) for g, s in channel.landing if user_type == "returning" or g != "lessons"]
    total = sum(s for _, s in groups)
    return [(int(col), s / total * w) for g, s in groups
            for col, w in zip(GROUP_COLS[g], GROUP_WEIGHTS[g], strict=True)]


@lru_cache(maxsize=1)
def units() -> Units:
    """Build the unit table once."""
    rows: list[tuple[int, float, int, str, str, str, str]] = []
    starts: list[int] = []
    subcells: list[tuple[str, str, str, str, str, str]] = []
    cells: list[tuple[float, str, str, str, str]] = []
    for ch in biz.CHANNELS:
        for dev, dev_share in zip(biz.DEVICES, ch.devices, strict=True):
            for ut, ut_share in (("new", ch.new_share), ("returning", 1 - ch.new_share)):
                for country, c_share in biz.COUNTRIES:
                    cells.append((ch.sessions * dev_share * ut_share * c_share, dev, ch.name, ut, country))
        for source, medium, src_share in ch.sources:
            for dev in biz.DEVICES:
                for ut in biz.USER_TYPES:
                    for country, _ in biz.COUNTRIES:
                        cell = next(i for i, c in enumerate(cells) if c[1:] == (dev, ch.name, ut, country))
                        starts.append(len(rows))
                        subcells.append((ch.name, source, medium, dev, ut, country))
                        rows.extend((cell, src_share * share, col, dev, ch.name, ut, country)
                                    for col, share in _landing(ch, ut))
    dims = {name: np.array([r[3 + i] for r in rows]) for i, name in enumerate(("device", "channel", "user_type",
                                                                               "country"))}
    lifts = {key: np.prod([[table.get(v, 1.0) for v in values.tolist()] for values in dims.values()], axis=0)
             for key, table in biz.LIFTS.items()}
    return Units(
        cell=np.array([r[0] for r in rows]), share=np.array([r[1] for r in rows]),
        landing=np.array([r[2] for r in rows]), dims=dims, starts=np.array(starts), subcells=subcells,
        cell_mu=np.array([c[0] for c in cells]),
        cell_dims={name: np.array([c[1 + i] for c in cells]) for i, name in enumerate(("device", "channel",
                                                                                       "user_type", "country"))},
        lifts=lifts,
    )


def incident_multiplier(target: str, day: date, dims: dict[str, NDArray[np.str_]], size: int) -> FloatArray:
    """Multiplier of `target` on `day` for each row of `dims` (units or cells)."""
    out = np.ones(size)
    for incident in biz.INCIDENTS:
        factor = incident.multiplier(day) if incident.target == target else 1.0
        if factor != 1.0:
            mask = np.ones(size, bool) if incident.segment is None else dims[incident.segment[0]] == incident.segment[1]
            out[mask] *= factor
    return out


def beta_around(rng: np.random.Generator, means: FloatArray) -> FloatArray:
    """Day-level rates ~ Beta with the given means and RATE_CV (less spread near 1, where 10 % cannot fit)."""
    kappa = np.maximum((1 - means) / (means * biz.RATE_CV**2) - 1, 50.0)
    return rng.beta(means * kappa, (1 - means) * kappa)


@dataclass(frozen=True)
class SiteDay:
    """What every unit did on one day."""

    day: date
    sessions: IntArray  # (units,)
    views: IntArray  # (units, pages)
    events: dict[tuple[str, int], IntArray]  # (event name, page column) → (units,)
    revenue: FloatArray  # (units,) GBP of tracked purchases
    checkouts: IntArray  # (units, products): Stripe Checkout sessions created
    completed: IntArray  # (units, products): sessions paid


@lru_cache(maxsize=64)
def site_day(seed: int, ordinal: int) -> SiteDay:
    """Simulate one day of the site; depends only on (seed, day)."""
    day = date.fromordinal(ordinal)
    rng = np.random.default_rng([seed, ordinal, SITE_STREAM])
    u = units()
    n = len(u.cell)
    trend = 1 + biz.TREND_PER_YEAR * (day - biz.TREND_ANCHOR).days / 365
    mu = u.cell_mu * biz.WEEKDAY_FACTORS[day.weekday()] * trend
    mu = mu * incident_multiplier("volume:sessions", day, u.cell_dims, len(mu))
    gamma = rng.gamma(biz.NB_SHAPE, mu / biz.NB_SHAPE)  # gamma–Poisson: negative binomial cells, split by share
    sessions = rng.poisson(gamma[u.cell] * u.share).astype(np.int64)
    views = np.zeros((n, len(PAGES)), np.int64)
    views[np.arange(n), u.landing] = sessions
    rates = beta_around(rng, np.array([f.rate for f in biz.FLOWS]
                                      + [biz.CHECKOUT_START, biz.CHECKOUT_COMPLETE, biz.RETURN_TO_SITE,
                                         biz.PURCHASE_TAG]))
    events: dict[tuple[str, int], IntArray] = {}
    for flow, rate in zip(biz.FLOWS, rates, strict=False):
        cols = GROUP_COLS[flow.source]
        p = rate * u.lifts[flow.lift] * incident_multiplier(f"rate:{flow.target[6:]}", day, u.dims, n)
        moved = rng.binomial(views[:, cols], np.clip(p, 0, 0.98)[:, None])
        if flow.target.startswith("event:"):
            for j, col in enumerate(cols):
                key = (flow.target[6:], int(col))
                events[key] = events.get(key, np.zeros(n, np.int64)) + moved[:, j]
        else:
            views[:, GROUP_COLS[flow.target]] += rng.multinomial(moved.sum(axis=1), GROUP_WEIGHTS[flow.target])
    start, complete, back, tag = rates[len(biz.FLOWS):]
    cart = np.stack([events[("add_to_cart", int(GROUP_COLS[p.group][0]))] for p in biz.PRODUCTS], axis=1)
    views[:, GROUP_COLS["cart"][0]] = cart.sum(axis=1)
    checkouts = rng.binomial(cart, start)
    p_done = complete * u.lifts["checkout"] * incident_multiplier("rate:checkout_complete", day, u.dims, n)
    completed = rng.binomial(checkouts, np.clip(p_done, 0, 0.98)[:, None])
    returned = rng.binomial(completed, back)
    done_col = int(GROUP_COLS["complete"][0])
    views[:, done_col] = returned.sum(axis=1)
    purchases = rng.binomial(returned, tag)
    events[("purchase", done_col)] = purchases.sum(axis=1)
    return SiteDay(day, sessions, views, events, purchases @ PRICES_GBP, checkouts, completed)


def signups(seed: int, day: date) -> int:
    """GA4 sign_up events of the day (each one a would-be subscriber)."""
    site = site_day(seed, day.toordinal())
    return int(sum(v.sum() for (name, _), v in site.events.items() if name == "sign_up"))


def ga4_rows(seed: int, day: date) -> list[Ga4ReportRow]:
    """The day's rows of the traffic, pages and events reports; only non-zero rows."""
    site, u = site_day(seed, day.toordinal()), units()
    n, n_pages = site.views.shape
    fired, keyed = np.zeros((n, n_pages), np.int64), np.zeros((n, n_pages), np.int64)
    per_event = {name: np.zeros(n, np.int64) for name in EVENTS}
    for (name, col), counts in site.events.items():
        fired[:, col] += counts
        per_event[name] += counts
        if name in biz.KEY_EVENTS:
            keyed[:, col] += counts
    landed = np.zeros((n, n_pages), np.int64)
    landed[np.arange(n), u.landing] = site.sessions
    revenue = np.zeros((n, n_pages))
    revenue[:, GROUP_COLS["complete"][0]] = site.revenue
    rows: list[Ga4ReportRow] = []
    prop = biz.DEMO_PROPERTY_ID
    sub_of_unit = np.repeat(np.arange(len(u.starts)), np.diff(np.append(u.starts, n)))
    hit = np.flatnonzero(site.sessions)
    views_unit = site.views.sum(axis=1)
    for sub, land, ses, vw, ev, key, rev in zip(
        sub_of_unit[hit].tolist(), u.landing[hit].tolist(), site.sessions[hit].tolist(),
        views_unit[hit].tolist(), (site.sessions + views_unit + fired.sum(axis=1))[hit].tolist(),
        keyed.sum(axis=1)[hit].tolist(), site.revenue[hit].tolist(), strict=True,
    ):
        rows.append(Ga4ReportRow(prop, "traffic", day, PAGES[land], *u.subcells[sub], ses, vw, ev, float(key), rev))
    by_sub = [np.add.reduceat(m, u.starts, axis=0) for m in (site.views, landed, fired, keyed, revenue)]
    s_views, s_landed, s_fired, s_keyed, s_revenue = by_sub
    for s, col in zip(*(a.tolist() for a in np.nonzero(s_views + s_fired)), strict=True):
        rows.append(Ga4ReportRow(prop, "pages", day, PAGES[col], *u.subcells[s], int(s_landed[s, col]),
                                 int(s_views[s, col]), int(s_views[s, col] + s_landed[s, col] + s_fired[s, col]),
                                 float(s_keyed[s, col]), float(s_revenue[s, col])))
    counts = {"page_view": s_views.sum(axis=1), "session_start": s_landed.sum(axis=1)}
    counts |= {name: np.add.reduceat(v, u.starts) for name, v in per_event.items()}
    sub_revenue = s_revenue.sum(axis=1)
    for name, by_s in counts.items():
        for s in np.flatnonzero(by_s).tolist():
            c = int(by_s[s])
            sessions = int(counts["session_start"][s]) if name in ("page_view", "session_start") else c
            rows.append(Ga4ReportRow(prop, "events", day, name, *u.subcells[s], sessions,
                                     c if name == "page_view" else 0, c,
                                     float(c if name in biz.KEY_EVENTS else 0),
                                     float(sub_revenue[s]) if name == "purchase" else 0.0))
    return rows


def _utc(day: date, seconds: int) -> datetime:
    return datetime.combine(day, time(), UTC) + timedelta(seconds=seconds)


@lru_cache(maxsize=64)
def checkout_day(seed: int, ordinal: int) -> tuple[CheckoutSession, ...]:
    """The day's Stripe Checkout sessions, in order of creation, with their final status."""
    day = date.fromordinal(ordinal)
    site = site_day(seed, ordinal)
    rng = np.random.default_rng([seed, ordinal, CHECKOUT_STREAM])
    made, paid = site.checkouts.sum(axis=0), site.completed.sum(axis=0)
    product = np.repeat(np.arange(len(biz.PRODUCTS)), made)
    done = np.concatenate([np.arange(m) < k for m, k in zip(made.tolist(), paid.tolist(), strict=True)])
    created = rng.integers(7 * 3600, 21 * 3600, size=len(product))  # mid-day UTC: the same date in London
    known = done | (rng.random(len(product)) < 0.5)  # half the abandoned sessions had typed an email
    ids = rng.integers(0, 2**63, size=len(product))
    sessions = []
    for i in np.argsort(created, kind="stable").tolist():
        p = biz.PRODUCTS[int(product[i])]
        sessions.append(CheckoutSession(
            session_id=f"cs_demo_{int(ids[i]):016x}", created=_utc(day, int(created[i])),
            status="complete" if done[i] else "expired", payment_status="paid" if done[i] else "unpaid",
            mode=p.mode, amount_total=p.amount, currency="gbp", product_id=p.product_id, product_name=p.name,
            customer_hash=sha256_hex(f"demo-customer:{seed}:{int(ids[i])}") if known[i] else "",
        ))
    return tuple(sessions)
