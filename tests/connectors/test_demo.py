"""Tests of the demo business: determinism, record shapes, realistic relations, incidents and map coverage."""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from connectors.demo import (
    DEMO_PROPERTY_ID,
    INCIDENTS,
    mail,
    read_checkout_sessions,
    read_email_activity,
    read_email_campaigns,
    read_ga4_rows,
    site,
)
from connectors.demo import business as biz
from connectors.ga4.records import REPORTS, Ga4ReportRow
from connectors.mailchimp.records import ACTIONS, EmailActivity, EmailCampaign
from connectors.stripe.records import CheckoutSession
from models.config import STAGE_DEFAULTS, JourneyMap, Touchpoint

MAP_FILE = Path(__file__).resolve().parents[2] / "journey.yaml"
LONDON = ZoneInfo("Europe/London")
START, END = date(2026, 7, 1), date(2026, 9, 30)  # the shared data window: baselines, August and September
COVERAGE = (date(2026, 9, 3), date(2026, 9, 30))  # 28 days in which every touchpoint must have volume


@dataclass(frozen=True)
class Data:
    ga4: list[Ga4ReportRow]
    campaigns: list[EmailCampaign]
    activity: list[EmailActivity]
    checkouts: list[CheckoutSession]

    def between(self, first: date, last: date) -> Data:
        """The records of [first, last] (activity by its timestamp's date, campaigns by send date)."""
        return Data(
            [r for r in self.ga4 if first <= r.date <= last],
            [c for c in self.campaigns if c.send_time is None or first <= c.send_time.date() <= last],
            [a for a in self.activity if first <= a.timestamp.date() <= last],
            [s for s in self.checkouts if first <= s.created.date() <= last],
        )


def flat(pages: Iterable[list[Any]]) -> list[Any]:
    return [record for page in pages for record in page]


def read_all(first: date, last: date, seed: int = 7) -> Data:
    return Data(flat(read_ga4_rows(first, last, seed=seed)), flat(read_email_campaigns(first, last, seed=seed)),
                flat(read_email_activity(first, last, seed=seed)), flat(read_checkout_sessions(first, last, seed=seed)))


@pytest.fixture(scope="module")
def data() -> Data:
    return read_all(START, END)


@pytest.fixture(scope="module")
def journey_map() -> JourneyMap:
    return JourneyMap.model_validate(yaml.safe_load(MAP_FILE.read_text()))


# --- a small, independent reading of the map's match rules (the real mapping lives elsewhere) --------------

GA4_METRICS = {"sessions": "sessions", "screenPageViews": "screen_page_views", "eventCount": "event_count",
               "keyEvents": "key_events", "purchaseRevenue": "purchase_revenue"}
ITEM_REPORTS = {"landing_page": "traffic", "page_path": "pages", "event_name": "events"}
MAIL_ACTIONS = {"sent": "sent", "opens": "open", "clicks": "click", "bounces": "bounce", "unsubscribes": "unsub"}


def _full(pattern: str | int, value: str) -> bool:
    return re.fullmatch(str(pattern), value) is not None


def ga4_daily(rows: list[Ga4ReportRow], match: dict[str, str | int], metric: str,
              where: Callable[[Ga4ReportRow], bool] = lambda r: True) -> Counter[date]:
    items = [key for key in ITEM_REPORTS if key in match]
    report = ITEM_REPORTS[items[0]] if items else "traffic"
    out: Counter[date] = Counter()
    for r in rows:
        if (r.report == report and where(r) and all(_full(match[k], r.item) for k in items)
                and all(_full(match[k], getattr(r, k)) for k in ("channel", "source", "medium") if k in match)):
            out[r.date] += getattr(r, GA4_METRICS[metric])
    return out


def mail_daily(d: Data, match: dict[str, str | int], metric: str) -> Counter[date]:
    """Counts per day of the action's timestamp."""
    ids = {c.campaign_id for c in d.campaigns
           if ("campaign" not in match or _full(match["campaign"], c.title))
           and ("automation" not in match or _full(match["automation"], c.workflow_title))
           and ("email" not in match or c.position == match["email"])}
    return Counter(a.timestamp.date() for a in d.activity
                   if a.campaign_id in ids and a.action == MAIL_ACTIONS[metric])


def stripe_daily(d: Data, match: dict[str, str | int], metric: str) -> Counter[date]:
    out: Counter[date] = Counter()
    for s in d.checkouts:
        if "product" in match and not any(_full(match["product"], v) for v in (s.product_id, s.product_name)):
            continue
        if "mode" in match and s.mode != match["mode"]:
            continue
        out[s.created.date()] += {"checkouts": 1, "completed": s.status == "complete",
                                  "expired": s.status == "expired",
                                  "revenue": s.amount_total / 100 if s.status == "complete" else 0}[metric]
    return out


def daily(d: Data, tp: Touchpoint, metric: str) -> Counter[date]:
    if tp.source == "ga4":
        return ga4_daily(d.ga4, tp.match, metric)
    if tp.source == "mailchimp":
        return mail_daily(d, tp.match, metric)
    return stripe_daily(d, tp.match, metric)


def days_of(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def ratio(num: Counter[date], den: Counter[date], first: date, last: date, skip: Iterable[date] = ()) -> float:
    days = set(days_of(first, last)) - set(skip)
    return sum(num[d] for d in days) / max(sum(den[d] for d in days), 1)


def day(text: str) -> date:
    return date.fromisoformat(text)


# --- determinism ---------------------------------------------------------------------------------------------


def test_same_seed_gives_the_same_records_and_another_seed_does_not() -> None:
    first, last = date(2026, 5, 4), date(2026, 5, 10)
    again = read_all(first, last)
    for cache in (site.site_day, site.day_totals, site.checkout_day, mail.cohort):
        cache.cache_clear()
    assert read_all(first, last) == again
    other = read_all(first, last, seed=8)
    assert other.ga4 != again.ga4
    assert other.checkouts != again.checkouts
    assert other.activity != again.activity


def test_a_sub_window_yields_exactly_the_days_of_the_full_window(data: Data) -> None:
    first, last = date(2026, 9, 10), date(2026, 9, 20)
    part = read_all(first, last)
    assert part.ga4
    assert part.activity
    assert part.checkouts
    assert part == data.between(first, last)


def test_pages_hold_page_days_days_in_date_order() -> None:
    first, last = date(2026, 6, 1), date(2026, 6, 10)
    pages = list(read_checkout_sessions(first, last, page_days=3))
    assert len(pages) == 4
    for i, page in enumerate(pages):
        low = first + timedelta(days=3 * i)
        assert all(low <= s.created.date() <= min(low + timedelta(days=2), last) for s in page)
    assert flat(pages) == flat(read_checkout_sessions(first, last, page_days=1))
    ga4_pages = list(read_ga4_rows(first, last, page_days=4))
    assert [min(r.date for r in p) for p in ga4_pages] == [first, date(2026, 6, 5), date(2026, 6, 9)]
    dates = [r.date for r in flat(ga4_pages)]
    assert dates == sorted(dates)
    stamps = [a.timestamp for a in flat(read_email_activity(first, last, page_days=2))]
    assert stamps == sorted(stamps)


def test_page_days_below_one_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="page_days"):
        read_ga4_rows(date(2026, 6, 1), date(2026, 6, 2), page_days=0)


def test_an_empty_window_yields_no_records() -> None:
    assert flat(read_ga4_rows(date(2026, 6, 2), date(2026, 6, 1))) == []
    assert flat(read_email_campaigns(date(2026, 6, 2), date(2026, 6, 1))) == []


# --- shapes ---------------------------------------------------------------------------------------------------


def test_ga4_rows_look_like_the_data_api(data: Data) -> None:
    channels = {c.name for c in biz.CHANNELS}
    for r in data.ga4:
        assert r.property_id == DEMO_PROPERTY_ID
        assert r.report in REPORTS
        assert r.channel in channels
        assert r.device in biz.DEVICES
        assert r.user_type in biz.USER_TYPES
        assert r.country in {c for c, _ in biz.COUNTRIES}
        assert min(r.sessions, r.screen_page_views, r.event_count, r.key_events, r.purchase_revenue) >= 0
        assert max(r.sessions, r.screen_page_views, r.event_count) > 0  # no all-zero rows
        assert isinstance(r.sessions, int)
        assert isinstance(r.key_events, float)
    keys = Counter((r.report, r.date, r.item, r.channel, r.source, r.medium, r.device, r.user_type, r.country)
                   for r in data.ga4)
    assert max(keys.values()) == 1  # one row per dimension combination
    assert {r.item for r in data.ga4 if r.report != "events"} <= set(site.PAGES)
    assert {(r.channel, r.source, r.medium) for r in data.ga4 if r.source == "facebook"} == {
        ("Paid Social", "facebook", "cpc")}


def test_checkout_sessions_look_like_stripe(data: Data) -> None:
    products = {p.product_id: p for p in biz.PRODUCTS}
    for s in data.checkouts:
        p = products[s.product_id]
        assert (s.product_name, s.mode, s.amount_total, s.currency) == (p.name, p.mode, p.amount, "gbp")
        assert (s.status, s.payment_status) in {("complete", "paid"), ("expired", "unpaid")}
        assert s.created.tzinfo is UTC
        assert s.created.date() == s.created.astimezone(LONDON).date()
        assert s.session_id.startswith("cs_demo_")
        assert re.fullmatch("[0-9a-f]{64}", s.customer_hash) or (s.status == "expired" and not s.customer_hash)
    assert len({s.session_id for s in data.checkouts}) == len(data.checkouts)


def test_mailchimp_records_look_like_mailchimp(data: Data) -> None:
    ids = {c.campaign_id for c in data.campaigns}
    assert len(ids) == len(data.campaigns)
    for c in data.campaigns:
        if c.kind == "automation":
            assert c.position >= 1
            assert c.workflow_id
            assert c.send_time is None
        else:
            assert c.kind == "regular"
            assert (c.position, c.workflow_id) == (0, "")
            assert c.send_time is not None
            assert c.send_time.weekday() == 3  # every Thursday
    for a in data.activity:
        assert a.campaign_id in ids
        assert a.action in ACTIONS
        assert re.fullmatch("[0-9a-f]{64}", a.email_hash)
        assert a.timestamp.tzinfo is UTC
        assert a.timestamp.date() == a.timestamp.astimezone(LONDON).date()


# --- realistic relations ---------------------------------------------------------------------------------------


def test_every_action_follows_a_send_and_opens_never_exceed_sends(data: Data) -> None:
    sent_at = {(a.campaign_id, a.email_hash): a.timestamp for a in data.activity if a.action == "sent"}
    seen: Counter[tuple[str, str, str]] = Counter()
    for a in data.activity:
        if a.action == "sent":
            continue
        if (a.campaign_id, a.email_hash) not in sent_at:  # only an email sent before the window may be missing
            assert a.timestamp.date() < START + timedelta(days=mail.SPAN_DAYS + 1)
            continue
        assert sent_at[(a.campaign_id, a.email_hash)] <= a.timestamp
        seen[(a.campaign_id, a.email_hash, a.action)] += 1
    assert max(seen.values()) == 1  # unique opens and clicks
    clickers = {(c, h) for c, h, act in seen if act == "click"}
    assert clickers <= {(c, h) for c, h, act in seen if act == "open"}
    cohorts: defaultdict[tuple[str, date], Counter[str]] = defaultdict(Counter)
    for a in data.activity:
        if (a.campaign_id, a.email_hash) in sent_at:
            cohorts[(a.campaign_id, sent_at[(a.campaign_id, a.email_hash)].date())][a.action] += 1
    for counts in cohorts.values():
        assert counts["click"] <= counts["open"] <= counts["sent"]


def test_checkouts_complete_at_a_realistic_rate(data: Data) -> None:
    normal = data.between(day("2026-07-01"), day("2026-08-31")).checkouts
    completion = sum(s.status == "complete" for s in normal) / len(normal)
    assert 0.5 < completion < 0.8
    assert 8 < len(normal) / 62 < 30  # checkouts a day


def test_weekdays_bring_more_traffic_than_weekends(data: Data) -> None:
    sessions = ga4_daily(data.ga4, {}, "sessions")
    weekday = [v for d, v in sessions.items() if d.weekday() < 5]
    weekend = [v for d, v in sessions.items() if d.weekday() >= 5]
    assert sum(weekday) / len(weekday) > 1.1 * sum(weekend) / len(weekend)


def test_funnel_steps_never_convert_more_than_they_receive(data: Data) -> None:
    by_segment: defaultdict[tuple[date, str, str, str, str], Counter[str]] = defaultdict(Counter)
    for r in data.ga4:
        key = (r.date, r.channel, r.source, r.device, r.user_type + r.country)
        if r.report == "pages":
            by_segment[key][r.item] += r.screen_page_views
        elif r.report == "events":
            by_segment[key][r.item] += r.event_count
    for counts in by_segment.values():
        assert counts["sign_up"] <= counts["/free-starter-guide/"]
        assert counts["/shop/sourdough-masterclass/"] <= counts["/courses/sourdough-masterclass/"]
        assert counts["sponsor_click"] <= sum(counts[p] for p in biz.PAGE_GROUPS["partners"])
        assert counts["purchase"] <= counts["/checkout/complete/"]
    carts = ga4_daily(data.ga4, {"page_path": "/cart/"}, "screenPageViews")
    confirmations = ga4_daily(data.ga4, {"page_path": "/checkout/complete/"}, "screenPageViews")
    signups = ga4_daily(data.ga4, {"event_name": "sign_up"}, "eventCount")
    welcome_1 = mail_daily(data, {"automation": "Starter guide welcome", "email": 1}, "sent")
    for d in {r.date for r in data.ga4}:
        made = sum(s.created.date() == d for s in data.checkouts)
        paid = sum(s.created.date() == d and s.status == "complete" for s in data.checkouts)
        assert confirmations[d] <= paid <= made <= carts[d]
        assert welcome_1[d] <= signups[d]


def test_mobile_converts_worse_than_desktop(data: Data) -> None:
    def rate(device: str, page: str) -> float:
        views = ga4_daily(data.ga4, {"page_path": page}, "screenPageViews", lambda r: r.device == device)
        carts = ga4_daily(data.ga4, {"page_path": "/cart/"}, "screenPageViews", lambda r: r.device == device)
        return ratio(views, carts, day("2026-07-01"), day("2026-08-31"))

    assert rate("mobile", "/checkout/complete/") < 0.9 * rate("desktop", "/checkout/complete/")


# --- incidents ----------------------------------------------------------------------------------------------------


def _welcome_open_rate(d: Data, position: int, first: date, last: date) -> float:
    ids = {c.campaign_id for c in d.campaigns if c.workflow_title == "Starter guide welcome" and c.position == position}
    sent = {(a.campaign_id, a.email_hash): a.timestamp.date() for a in d.activity
            if a.action == "sent" and a.campaign_id in ids and first <= a.timestamp.date() <= last}
    opens = sum(a.action == "open" and (a.campaign_id, a.email_hash) in sent for a in d.activity)
    return opens / len(sent)


def check_lead_magnet_slow_decline(d: Data) -> None:
    views = ga4_daily(d.ga4, {"page_path": "/free-starter-guide/"}, "screenPageViews")
    signups = ga4_daily(d.ga4, {"event_name": "sign_up"}, "eventCount")
    base = ratio(signups, views, day("2026-07-06"), day("2026-08-02"))
    assert ratio(signups, views, day("2026-08-10"), day("2026-08-12")) > 0.85 * base  # starts slowly
    assert ratio(signups, views, day("2026-08-24"), day("2026-08-31")) < 0.85 * base  # ~−25 % by the end
    assert ratio(signups, views, day("2026-09-01"), day("2026-09-21")) > 0.9 * base  # fixed


def check_welcome_2_open_drop(d: Data) -> None:
    for position, expected in ((2, 0.75), (1, None)):
        before = _welcome_open_rate(d, position, day("2026-08-13"), day("2026-09-09"))
        after = _welcome_open_rate(d, position, day("2026-09-10"), day("2026-09-26"))
        assert after < expected * before if expected else after > 0.9 * before


def check_affiliate_one_day_dip(d: Data) -> None:
    views = ga4_daily(d.ga4, {"page_path": "/(recipes|reviews)/[a-z0-9-]+/"}, "screenPageViews")
    clicks = ga4_daily(d.ga4, {"event_name": "affiliate_click"}, "eventCount")
    base = ratio(clicks, views, day("2026-09-01"), day("2026-09-14"))
    assert ratio(clicks, views, day("2026-09-15"), day("2026-09-15")) < 0.6 * base
    assert ratio(clicks, views, day("2026-09-16"), day("2026-09-16")) > 0.75 * base


def check_checkout_collapse(d: Data) -> None:
    def rate(device: str, first: str, last: str) -> float:
        confirmations = ga4_daily(d.ga4, {"page_path": "/checkout/complete/"}, "screenPageViews",
                                  lambda r: r.device == device)
        carts = ga4_daily(d.ga4, {"page_path": "/cart/"}, "screenPageViews", lambda r: r.device == device)
        return ratio(confirmations, carts, day(first), day(last))

    for device in ("mobile", "desktop"):
        assert rate(device, "2026-09-20", "2026-09-23") < 0.4 * rate(device, "2026-08-23", "2026-09-19")
    done = stripe_daily(d, {}, "completed")
    made = stripe_daily(d, {}, "checkouts")
    assert ratio(done, made, day("2026-09-20"), day("2026-09-23")) < 0.4 * ratio(
        done, made, day("2026-08-23"), day("2026-09-19"))


def check_viral_pin_surge(d: Data) -> None:
    match = {"channel": "Organic Social"}
    pins, keys = ga4_daily(d.ga4, match, "sessions"), ga4_daily(d.ga4, match, "keyEvents")
    before, during = days_of(day("2026-09-10"), day("2026-09-23")), days_of(day("2026-09-24"), day("2026-09-30"))
    assert sum(pins[x] for x in during) / len(during) > 2.2 * sum(pins[x] for x in before) / len(before)
    flatline = days_of(day("2026-09-26"), day("2026-09-28"))  # sponsor clicks are key events too
    change = ratio(keys, pins, during[0], during[-1], flatline) / ratio(keys, pins, before[0], before[-1])
    assert 0.7 < change < 1.45  # the channel's rates stay (up to noise): only the mix of ALL moves


def check_sponsor_link_flatline(d: Data) -> None:
    clicks = ga4_daily(d.ga4, {"event_name": "sponsor_click"}, "eventCount")
    assert [clicks[day(f"2026-09-{n}")] for n in (26, 27, 28)] == [0, 0, 0]
    assert clicks[day("2026-09-25")] > 0
    assert clicks[day("2026-09-29")] > 0


INCIDENT_CHECKS: dict[str, Callable[[Data], None]] = {
    "lead-magnet-slow-decline": check_lead_magnet_slow_decline,
    "welcome-2-open-drop": check_welcome_2_open_drop,
    "affiliate-one-day-dip": check_affiliate_one_day_dip,
    "checkout-collapse": check_checkout_collapse,
    "viral-pin-surge": check_viral_pin_surge,
    "sponsor-link-flatline": check_sponsor_link_flatline,
}


def test_every_documented_incident_has_a_check() -> None:
    assert sorted(INCIDENT_CHECKS) == sorted(i.key for i in INCIDENTS)
    assert all(f"| {i.key} " in (biz.__doc__ or "") for i in INCIDENTS)  # and a row in the docstring table


@pytest.mark.parametrize("key", sorted(INCIDENT_CHECKS))
def test_incident_is_visible_in_the_data(data: Data, key: str) -> None:
    INCIDENT_CHECKS[key](data)


def test_incident_days_do_not_depend_on_the_window() -> None:
    collapse = next(i for i in INCIDENTS if i.key == "checkout-collapse")
    assert collapse.multiplier(date(2026, 9, 19)) == 1.0
    assert collapse.multiplier(date(2026, 9, 20)) == collapse.multiplier(date(2026, 9, 23)) == 0.15
    decline = next(i for i in INCIDENTS if i.key == "lead-magnet-slow-decline")
    assert decline.multiplier(date(2026, 8, 10)) == pytest.approx(0.98)
    assert decline.multiplier(date(2026, 8, 30)) == pytest.approx(0.98**14)
    assert decline.multiplier(date(2026, 9, 1)) == 1.0


def test_incidents_name_touchpoints_of_the_map(journey_map: JourneyMap) -> None:
    ids = {tp.id for _, tp in journey_map.touchpoints()}
    for incident in INCIDENTS:
        assert set(incident.touchpoints) <= ids, incident.key


# --- the map and the demo together -------------------------------------------------------------------------------


def test_map_is_valid_and_uses_every_stage(journey_map: JourneyMap) -> None:
    ids = [tp.id for _, tp in journey_map.touchpoints()]
    assert len(ids) == len(set(ids))
    assert [s.id for s in journey_map.stages] == list(STAGE_DEFAULTS)
    assert {tp.stage for _, tp in journey_map.touchpoints()} == set(STAGE_DEFAULTS)
    assert {j.id for j in journey_map.journeys} == {"course", "affiliate", "sponsored"}
    assert all(tp.stage in STAGE_DEFAULTS for _, tp in journey_map.touchpoints())
    values = {"device": set(biz.DEVICES), "channel": {c.name for c in biz.CHANNELS}, "user_type": set(biz.USER_TYPES)}
    for persona in journey_map.personas:
        assert all(v in values[k] for k, v in persona.where.items()), persona.name


def test_every_touchpoint_gets_volume_and_success_from_the_demo(data: Data, journey_map: JourneyMap) -> None:
    window = data.between(*COVERAGE)
    empty = [tp.id for _, tp in journey_map.touchpoints()
             if sum(daily(window, tp, tp.volume).values()) <= 0
             or (tp.success and sum(daily(window, tp, tp.success).values()) <= 0)]
    assert empty == []


def test_step_rates_without_a_success_stay_below_one(data: Data, journey_map: JourneyMap) -> None:
    """Where the map divides the next touchpoint's volume by this one's, the demo keeps k ≤ n every day."""
    for journey in journey_map.journeys:
        ordered = journey_map.ordered_touchpoints(journey)
        for tp, nxt in itertools.pairwise(ordered):
            if tp.success:
                continue
            n, k = daily(data, tp, tp.volume), daily(data, nxt, nxt.volume)
            assert all(k[d] <= n[d] for d in n), (tp.id, nxt.id)


def test_flows_run_in_topological_order() -> None:
    for i, flow in enumerate(biz.FLOWS):
        already_ran = {f.source for f in biz.FLOWS[:i]}
        assert flow.target not in already_ran, flow  # a group gets no views after its own flows ran


def test_180_days_of_every_stream_generate_from_cold_caches() -> None:
    for cache in (site.site_day, site.day_totals, site.checkout_day, mail.cohort):
        cache.cache_clear()
    result = read_all(date(2026, 4, 4), date(2026, 9, 30), seed=11)
    assert len(result.ga4) > 100_000
    assert len(result.activity) > 100_000
