"""Demo Mailchimp: welcome, receipt and onboarding automations per cohort, a weekly newsletter, their activity."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import numpy as np

from connectors.demo import business as biz
from connectors.demo.site import IntArray, beta_around, checkout_day, day_totals, sha256_hex
from connectors.mailchimp.records import ACTIONS, EmailActivity, EmailCampaign

MAIL_STREAM = 2
DAY = 86_400
SENT, OPEN, CLICK, BOUNCE, UNSUB = range(len(ACTIONS))  # positions in ACTIONS
OPEN_LAG_DAYS = (0.72, 0.18, 0.07, 0.03)  # share of opens on the send day, one, two and three days later
AUTOMATIONS = biz.WELCOME + biz.RECEIPTS + biz.ONBOARDING
SPAN_DAYS = max(e.offset_days for e in AUTOMATIONS) + len(OPEN_LAG_DAYS) - 1  # a cohort's last action, in days
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _day_start(day: date) -> int:
    return int((datetime.combine(day, time(), UTC) - EPOCH).total_seconds())


def automation_campaigns() -> list[EmailCampaign]:
    """The automation emails (welcome, receipt, onboarding); they send continuously, hence no send time."""
    return [EmailCampaign(e.campaign_id, e.title, "automation", biz.LIST_ID, e.workflow_id, e.workflow_title,
                          e.position, None) for e in AUTOMATIONS]


def newsletter(day: date) -> EmailCampaign | None:
    """The weekly newsletter sent on `day`, if it is a send day."""
    weeks, rest = divmod((day - biz.NEWSLETTER_FIRST_ISSUE).days, 7)
    if weeks < 0 or rest:
        return None
    issue = weeks + 1
    return EmailCampaign(sha256_hex(f"demo-newsletter:{issue}")[:10], biz.newsletter_title(issue), "regular",
                         biz.LIST_ID, "", "", 0, datetime.combine(day, time(10), UTC))


@lru_cache(maxsize=1)
def _newsletter_list(seed: int) -> tuple[str, ...]:
    return tuple(sha256_hex(f"demo-reader:{seed}:{i}") for i in range(biz.NEWSLETTER_LIST_SIZE))


@dataclass
class _Actions:
    """Columns of activity rows being built for one cohort."""

    campaign: list[IntArray]
    who: list[IntArray]
    action: list[IntArray]
    stamp: list[IntArray]

    def add(self, campaign: int, who: IntArray, action: int, stamp: IntArray) -> None:
        self.campaign.append(np.full(len(who), campaign))
        self.who.append(who)
        self.action.append(np.full(len(who), action))
        self.stamp.append(stamp)


def _open_times(rng: np.random.Generator, sent: IntArray) -> IntArray:
    """Opens come on the send day after the send, or 1–3 days later, always between 06:00 and 22:00 UTC."""
    lag = rng.choice(len(OPEN_LAG_DAYS), size=len(sent), p=OPEN_LAG_DAYS)
    start = sent - sent % DAY
    same_day = sent + (rng.random(len(sent)) * (start + 22 * 3600 - sent)).astype(np.int64)
    later = start + lag * DAY + rng.integers(6 * 3600, 22 * 3600, size=len(sent))
    return np.where(lag == 0, same_day, later)


def _send(rng: np.random.Generator, out: _Actions, campaign: int, who: IntArray, sent: IntArray,
          rates: tuple[float, float, float]) -> IntArray:
    """One email to `who` at `sent`; returns the mask of recipients still subscribed afterwards."""
    opens, clicks, unsubs = rates
    n = len(who)
    bounced = rng.random(n) < biz.BOUNCE_RATE
    opened = ~bounced & (rng.random(n) < opens)
    clicked = opened & (rng.random(n) < clicks / max(opens, 1e-9))
    left = ~bounced & (rng.random(n) < unsubs)
    open_at = _open_times(rng, sent)
    out.add(campaign, who, SENT, sent)
    out.add(campaign, who[bounced], BOUNCE, sent[bounced] + 30)
    out.add(campaign, who[opened], OPEN, open_at[opened])
    out.add(campaign, who[clicked], CLICK, open_at[clicked] + rng.integers(5, 600, size=int(clicked.sum())))
    out.add(campaign, who[left], UNSUB, np.where(opened, open_at + 120, sent + 3600)[left])
    return np.asarray(~bounced & ~left)


def _sequence(rng: np.random.Generator, out: _Actions, campaign_ids: list[str], emails: tuple[biz.Email, ...],
              first: int, day: date, start: IntArray) -> None:
    """Send an automation's emails to a cohort: people `first`… of the cohort, triggered at `start`."""
    who = first + np.arange(len(start))
    for email in emails:
        send_day = day + timedelta(days=email.offset_days)
        factor = math.prod(i.multiplier(send_day) for i in biz.INCIDENTS if i.target == f"opens:{email.key}")
        opens, clicks = beta_around(rng, np.array([email.opens, email.clicks])) * factor
        sent = start + email.offset_days * DAY + (60 if email.offset_days == 0 else 0)  # a minute after the trigger
        campaign_ids.append(email.campaign_id)
        keep = _send(rng, out, len(campaign_ids) - 1, who, sent, (float(opens), float(clicks), email.unsubs))
        who, start = who[keep], start[keep]


@dataclass(frozen=True)
class Cohort:
    """All activity caused by one day's signups, purchases and newsletter, whatever day it happens on."""

    campaign_ids: list[str]
    hashes: list[str]
    campaign: IntArray
    who: IntArray
    action: IntArray
    stamp: IntArray  # seconds since the epoch, UTC


@lru_cache(maxsize=32)
def cohort(seed: int, ordinal: int) -> Cohort:
    """Simulate the email activity triggered on one day; depends only on (seed, day)."""
    day = date.fromordinal(ordinal)
    rng = np.random.default_rng([seed, ordinal, MAIL_STREAM])
    out, campaign_ids = _Actions([], [], [], []), list[str]()
    midnight = _day_start(day)
    joined = int(rng.binomial(day_totals(seed, ordinal).signups, biz.SIGNUP_CONFIRM))
    hashes = [sha256_hex(f"demo-subscriber:{seed}:{ordinal}:{i}") for i in range(joined)]
    start = midnight + rng.integers(7 * 3600, 21 * 3600, size=joined)
    _sequence(rng, out, campaign_ids, biz.WELCOME, 0, day, start)
    buyers = [s for s in checkout_day(seed, ordinal) if s.status == "complete"]
    start = np.array([int((s.created - EPOCH).total_seconds()) for s in buyers], dtype=np.int64)
    _sequence(rng, out, campaign_ids, biz.RECEIPTS + biz.ONBOARDING, len(hashes), day, start)
    hashes += [s.customer_hash for s in buyers]
    issue = newsletter(day)
    if issue is not None:
        readers = _newsletter_list(seed)  # a steady list: joiners and leavers balance out
        campaign_ids.append(issue.campaign_id)
        sent = midnight + 10 * 3600 + rng.integers(0, 600, size=len(readers))
        opens, clicks = beta_around(rng, np.array(biz.NEWSLETTER_RATES[:2]))
        _send(rng, out, len(campaign_ids) - 1, len(hashes) + np.arange(len(readers)), sent,
              (float(opens), float(clicks), biz.NEWSLETTER_RATES[2]))
        hashes += readers
    return Cohort(campaign_ids, hashes, *(np.concatenate(c) if c else np.zeros(0, np.int64)
                                          for c in (out.campaign, out.who, out.action, out.stamp)))


def activity(seed: int, day: date) -> list[EmailActivity]:
    """Every action whose timestamp falls on `day` (UTC), from the cohorts that can still act on it."""
    low = _day_start(day)
    found: list[tuple[int, str, str, str]] = []
    for ordinal in range(day.toordinal() - SPAN_DAYS, day.toordinal() + 1):
        c = cohort(seed, ordinal)
        hit = np.flatnonzero((c.stamp >= low) & (c.stamp < low + DAY))
        found.extend(zip(c.stamp[hit].tolist(), [c.campaign_ids[i] for i in c.campaign[hit].tolist()],
                         [c.hashes[i] for i in c.who[hit].tolist()], [ACTIONS[a] for a in c.action[hit].tolist()],
                         strict=True))
    found.sort(key=lambda row: row[0])
    return [EmailActivity(campaign, who, action, EPOCH + timedelta(seconds=stamp))
            for stamp, campaign, who, action in found]
