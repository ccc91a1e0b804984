"""Typed Mailchimp records: campaigns (regular or automation emails) and their activity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from connectors.errors import Rejected

ACTIONS = ("sent", "open", "click", "bounce", "unsub")


@dataclass(frozen=True, slots=True)
class EmailCampaign:
    """A campaign; an automation (customer journey) email carries its workflow and position."""

    campaign_id: str
    title: str
    kind: str  # "regular" or "automation"
    list_id: str
    workflow_id: str  # "" for regular campaigns
    workflow_title: str
    position: int  # 1-based place of the email in its workflow; 0 for regular campaigns
    send_time: datetime | None
    delay_hours: float = 0.0  # an automation email's wait after the previous step (signup, for the first)
    started: datetime | None = None  # when an automation email began sending
    web_id: int = 0  # the id of its pages in Mailchimp's web app (its report: /reports/summary?id=…); 0: unknown


@dataclass(frozen=True, slots=True)
class CampaignRead:
    """One campaign's actions read whole from its first day `since` on (what the landing replaces its rows of
    those days with)."""

    campaign_id: str
    since: date
    records: list[EmailActivity | Rejected]
    gone: str = ""  # why nothing could be read: the campaign was deleted between the listing and its read


@dataclass(frozen=True, slots=True)
class EmailActivity:
    """One action of one subscriber on one email (Mailchimp's email-activity report).

    The subscriber is identified only by a salted SHA-256 of the address: no
    address is ever stored.
    """

    campaign_id: str
    email_hash: str
    action: str  # one of ACTIONS
    timestamp: datetime  # timezone-aware, UTC


@dataclass(frozen=True, slots=True)
class EmailReport:
    """A campaign's cumulative report as read on one day: daily numbers come from the difference between two
    days' snapshots where no per-subscriber timestamps exist (automation emails' sends)."""

    campaign_id: str
    taken_on: date  # the run's as-of day
    emails_sent: int
    unique_opens: int
    unique_clicks: int
    hard_bounces: int
    unsubscribed: int


@dataclass(frozen=True, slots=True)
class ListGrowth:
    """An audience's month: sign-ups and departures (Mailchimp's list growth history)."""

    list_id: str
    list_name: str
    month: str  # "2026-09"
    existing: int  # as Mailchimp reports each field of the month, uninterpreted
    imports: int
    optins: int
    subscribed: int
    unsubscribed: int
    cleaned: int  # removed after hard bounces
