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
# Every rate drawn each day, in order: the flows, then the four checkout steps. Incidents name them "rate:…".
RATE_TARGETS = (*(f"rate:{f.target.removeprefix('event:')}" for f in biz.FLOWS),
                "rate:checkout_start", "rate:checkout_complete", "rate:return_to_site", "rate:purchase_tag")
RATE_MEANS = np.array([f.rate for f in biz.FLOWS]
                      + [biz.CHECKOUT_START, biz.CHECKOUT_COMPLETE, biz.RETURN_TO_SITE, biz.PURCHASE_TAG])
RATE_LIFTS = (*(f.lift for f in biz.FLOWS), "", "checkout", "", "")


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
    lifts: FloatArray  # (units, rates): the segment multiplier of each rate of RATE_TARGETS


def _landing(channel: biz.Channel, user_type: str) -> list[tuple[int, float]]:
    groups = [(g, s) for g, s in channel.landing if user_type == "returning" or g != "lessons"]
    total = sum(s for _, s in groups)
    return [(int(col), s / total * w) for g, s in groups
            for col, w in zip(GROUP_COLS[g], GROUP_WEIGHTS[g], strict=True)]


DIMS = ("device", "channel", "user_type", "country")


def _columns(rows: list[tuple[str, str, str, str]]) -> dict[str, NDArray[np.str_]]:
    return {name: np.array([r[i] for r in rows]) for i, name in enumerate(DIMS)}


@lru_cache(maxsize=1)
def units() -> Units:
    """Build the unit table once; cells are numbered channel-major, then device, user type, country."""
    cells = [(ch.sessions * dev_share * (ch.new_share if ut == "new" else 1 - ch.new_share) * c_share,
              (dev, ch.name, ut, country))
             for ch in biz.CHANNELS for dev, dev_share in zip(biz.DEVICES, ch.devices, strict=True)
             for ut in biz.USER_TYPES for country, c_share in biz.COUNTRIES]
    cell_of = {dims: i for i, (_, dims) in enumerate(cells)}
    rows: list[tuple[int, float, int, tuple[str, str, str, str]]] = []
    starts, subcells = [], []
    for ch in biz.CHANNELS:
        for source, medium, src_share in ch.sources:
            for dev in biz.DEVICES:
                for ut in biz.USER_TYPES:
                    for country, _ in biz.COUNTRIES:
                        dims = (dev, ch.name, ut, country)
                        starts.append(len(rows))
                        subcells.append((ch.name, source, medium, dev, ut, country))
                        rows.extend((cell_of[dims], src_share * share, col, dims) for col, share in _landing(ch, ut))
    unit_dims = _columns([r[3] for r in rows])
    by_key = {key: np.prod([[table.get(v, 1.0) for v in values.tolist()] for values in unit_dims.values()], axis=0)
              for key, table in biz.LIFTS.items()}
    return Units(
        cell=np.array([r[0] for r in rows]), share=np.array([r[1] for r in rows]),
        landing=np.array([r[2] for r in rows]), dims=unit_dims, starts=np.array(starts), subcells=subcells,
        cell_mu=np.array([mu for mu, _ in cells]), cell_dims=_columns([dims for _, dims in cells]),
        lifts=np.stack([by_key[key] for key in RATE_LIFTS], axis=1),
    )


def incident_factors(day: date, targets: tuple[str, ...], dims: dict[str, NDArray[np.str_]]) -> FloatArray:
    """(rows of `dims`, targets): the product of the incidents active on `day`; 1.0 where none is."""
    out = np.ones((len(dims["device"]), len(targets)))
    for incident in biz.INCIDENTS:
        factor = incident.multiplier(day)
        if factor == 1.0:
            continue
        rows = np.ones(len(out), bool) if incident.segment is None else dims[incident.segment[0]] == incident.segment[1]
        for j in (j for j, target in enumerate(targets) if target == incident.target):
            out[rows, j] *= factor
    return out


def beta_around(rng: np.random.Generator, means: FloatArray) -> FloatArray:
    """Day-level rates ~ Beta with the given means and RATE_CV (less spread near 1, where 10 % cannot fit)."""
    kappa = np.maximum((1 - means) / (means * biz.RATE_CV**2) - 1, 50.0)
    return rng.beta(means * kappa, (1 - means) * kappa)


@dataclass(frozen=True)
class SiteDay:
    """What the units with sessions did on one day (rows follow `active`)."""

    day: date
    active: IntArray  # units with at least one session, ascending
    sessions: IntArray  # (active,)
    views: IntArray  # (active, pages)
    events: dict[tuple[str, int], IntArray]  # (event name, page column) → (active,)
    revenue: FloatArray  # (active,) GBP of tracked purchases
    checkouts: IntArray  # (active, products): Stripe Checkout sessions created
    completed: IntArray  # (active, products): sessions paid


def _browse(rng: np.random.Generator, views: IntArray, p: FloatArray) -> dict[tuple[str, int], IntArray]:
    """Run the FLOWS over the landing views in place; return the events fired per (event, page)."""
    events: dict[tuple[str, int], IntArray] = {}
    for f, flow in enumerate(biz.FLOWS):
        cols = GROUP_COLS[flow.source]
        rows = np.flatnonzero(views[:, cols].any(axis=1))  # draw only for units that reached the group
        moved = rng.binomial(views[np.ix_(rows, cols)], p[rows, f, None])
        if flow.target.startswith("event:"):
            for j, col in enumerate(cols.tolist()):
                events.setdefault((flow.target[6:], col), np.zeros(len(views), np.int64))[rows] += moved[:, j]
        elif len(targets := GROUP_COLS[flow.target]) == 1:
            views[rows, targets[0]] += moved.sum(axis=1)
        else:
            total = moved.sum(axis=1)
            views[np.ix_(rows[total > 0], targets)] += rng.multinomial(total[total > 0], GROUP_WEIGHTS[flow.target])
    return events


@lru_cache(maxsize=16)
def site_day(seed: int, ordinal: int) -> SiteDay:
    """Simulate one day of the site; depends only on (seed, day)."""
    day = date.fromordinal(ordinal)
    rng = np.random.default_rng([seed, ordinal, SITE_STREAM])
    u = units()
    trend = 1 + biz.TREND_PER_YEAR * (day - biz.TREND_ANCHOR).days / 365
    mu = u.cell_mu * biz.WEEKDAY_FACTORS[day.weekday()] * trend
    mu *= incident_factors(day, ("volume:sessions",), u.cell_dims)[:, 0]
    gamma = rng.gamma(biz.NB_SHAPE, mu / biz.NB_SHAPE)  # gamma–Poisson: negative binomial cells, split by share
    all_sessions = rng.poisson(gamma[u.cell] * u.share).astype(np.int64)
    active = np.flatnonzero(all_sessions)
    n, sessions = len(active), all_sessions[active]
    p = beta_around(rng, RATE_MEANS)[None, :] * u.lifts[active]  # today's rates × segment lifts × incidents
    p = np.clip(p * incident_factors(day, RATE_TARGETS, {k: v[active] for k, v in u.dims.items()}), 0, 0.98)
    views = np.zeros((n, len(PAGES)), np.int64)
    views[np.arange(n), u.landing[active]] = sessions
    events = _browse(rng, views, p)
    # The shop: add_to_cart → cart → Stripe Checkout → paid → back on /checkout/complete/ → purchase tag.
    cart = np.stack([events[("add_to_cart", int(GROUP_COLS[prod.group][0]))] for prod in biz.PRODUCTS], axis=1)
    views[:, GROUP_COLS["cart"][0]] = cart.sum(axis=1)
    start, complete, back, tag = (p[:, j, None] for j in range(len(biz.FLOWS), len(RATE_TARGETS)))
    checkouts = rng.binomial(cart, start)
    completed = rng.binomial(checkouts, complete)
    returned = rng.binomial(completed, back)
    done_col = int(GROUP_COLS["complete"][0])
    views[:, done_col] = returned.sum(axis=1)
    purchases = rng.binomial(returned, tag)
    events[("purchase", done_col)] = purchases.sum(axis=1)
    return SiteDay(day, active, sessions, views, events, purchases @ PRICES_GBP, checkouts, completed)


@dataclass(frozen=True)
class DayTotals:
    """The few numbers of a day that the email and checkout streams need (cheap to keep for many days)."""

    signups: int  # GA4 sign_up events, each one a would-be subscriber
    checkouts: tuple[int, ...]  # Stripe Checkout sessions created, per product
    completed: tuple[int, ...]  # of which paid


@lru_cache(maxsize=4096)
def day_totals(seed: int, ordinal: int) -> DayTotals:
    """Totals of one simulated day."""
    site = site_day(seed, ordinal)
    return DayTotals(sum(int(v.sum()) for (name, _), v in site.events.items() if name == "sign_up"),
                     tuple(site.checkouts.sum(axis=0).tolist()), tuple(site.completed.sum(axis=0).tolist()))


def _row(report: str, day: date, item: str, dims: tuple[str, str, str, str, str, str], sessions: int, views: int,
         events: int, key_events: float, revenue: float) -> Ga4ReportRow:
    channel, source, medium, device, user_type, country = dims
    return Ga4ReportRow(biz.DEMO_PROPERTY_ID, report, day, item, channel, source, medium, device, user_type, country,
                        sessions, views, events, float(key_events), float(revenue))


def _fired(site: SiteDay) -> tuple[IntArray, IntArray, dict[str, IntArray]]:
    """Events per (unit, page where fired), key events likewise, and each event's count per unit."""
    fired, keyed = np.zeros_like(site.views), np.zeros_like(site.views)
    per_event = {name: np.zeros(len(site.views), np.int64) for name in EVENTS}
    for (name, col), fires in site.events.items():
        fired[:, col] += fires
        per_event[name] += fires
        keyed[:, col] += fires if name in biz.KEY_EVENTS else 0
    return fired, keyed, per_event


def ga4_rows(seed: int, day: date) -> list[Ga4ReportRow]:
    """The day's rows of the traffic, pages and events reports; only non-zero rows.

    Traffic rows count whole sessions by landing page; pages rows count what happened on each page
    (sessions = sessions that started there); events rows count events by name.
    """
    day_totals(seed, day.toordinal())  # keep the small totals the checkout and email streams read
    site, u = site_day(seed, day.toordinal()), units()
    n, n_pages = site.views.shape
    landing = u.landing[site.active]
    landed = np.zeros((n, n_pages), np.int64)
    landed[np.arange(n), landing] = site.sessions
    fired, keyed, per_event = _fired(site)
    revenue = np.zeros((n, n_pages))
    revenue[:, GROUP_COLS["complete"][0]] = site.revenue
    sub_of_unit = np.searchsorted(u.starts, site.active, side="right") - 1
    views = site.views.sum(axis=1)
    rows = [_row("traffic", day, PAGES[land], u.subcells[sub], ses, vw, ev, key, rev)
            for sub, land, ses, vw, ev, key, rev in zip(
                sub_of_unit.tolist(), landing.tolist(), site.sessions.tolist(), views.tolist(),
                (site.sessions + views + fired.sum(axis=1)).tolist(), keyed.sum(axis=1).tolist(),
                site.revenue.tolist(), strict=True)]
    subs, first = np.unique(sub_of_unit, return_index=True)  # active units are sorted by sub-cell
    names = [u.subcells[s] for s in subs.tolist()]
    s_views, s_landed, s_fired, s_keyed, s_revenue = (np.add.reduceat(m, first, axis=0)
                                                      for m in (site.views, landed, fired, keyed, revenue))
    hit_s, hit_c = np.nonzero(s_views + s_fired)
    rows += [_row("pages", day, PAGES[col], names[s], began, vw, vw + began + ev, key, rev)
             for s, col, began, vw, ev, key, rev in zip(
                 hit_s.tolist(), hit_c.tolist(),
                 *(m[hit_s, hit_c].tolist() for m in (s_landed, s_views, s_fired, s_keyed, s_revenue)), strict=True)]
    began_by_s = s_landed.sum(axis=1)
    counts = {"page_view": s_views.sum(axis=1), "session_start": began_by_s}
    counts |= {name: np.add.reduceat(v, first) for name, v in per_event.items()}
    for name, by_s in counts.items():
        hit = np.flatnonzero(by_s)
        per_page, key, paid = name in ("page_view", "session_start"), name in biz.KEY_EVENTS, name == "purchase"
        rows += [_row("events", day, name, names[s], began if per_page else c, c if name == "page_view" else 0, c,
                      c if key else 0, rev if paid else 0)
                 for s, c, began, rev in zip(hit.tolist(), by_s[hit].tolist(), began_by_s[hit].tolist(),
                                             s_revenue.sum(axis=1)[hit].tolist(), strict=True)]
    return rows


@lru_cache(maxsize=64)
def checkout_day(seed: int, ordinal: int) -> tuple[CheckoutSession, ...]:
    """The day's Stripe Checkout sessions, in order of creation, with their final status."""
    day = date.fromordinal(ordinal)
    totals = day_totals(seed, ordinal)
    rng = np.random.default_rng([seed, ordinal, CHECKOUT_STREAM])
    product = np.repeat(np.arange(len(biz.PRODUCTS)), totals.checkouts)
    done = np.concatenate([np.arange(m) < k for m, k in zip(totals.checkouts, totals.completed, strict=True)])
    created = rng.integers(7 * 3600, 21 * 3600, size=len(product))  # mid-day UTC: the same date in London
    known = done | (rng.random(len(product)) < 0.5)  # half the abandoned sessions had typed an email
    ids = rng.integers(0, 2**63, size=len(product))
    midnight = datetime.combine(day, time(), UTC)
    sessions = []
    for i in np.argsort(created, kind="stable").tolist():
        p = biz.PRODUCTS[int(product[i])]
        sessions.append(CheckoutSession(
            session_id=f"cs_demo_{int(ids[i]):016x}", created=midnight + timedelta(seconds=int(created[i])),
            status="complete" if done[i] else "expired", payment_status="paid" if done[i] else "unpaid",
            mode=p.mode, amount_total=p.amount, currency="gbp", product_id=p.product_id, product_name=p.name,
            customer_hash=sha256_hex(f"demo-customer:{seed}:{int(ids[i])}") if known[i] else "",
            expires_at=midnight + timedelta(seconds=int(created[i]), hours=24),
        ))
    return tuple(sessions)
