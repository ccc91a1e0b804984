"""Read Mailchimp campaigns, automation emails, per-subscriber activity and report snapshots as typed records.

Daily numbers per email: opens, clicks and bounces carry their own timestamps (email activity); a regular
campaign's sends happen at its send time (its sent-to list); an automation email sends every day and Mailchimp
keeps no per-send time for it, so its daily sends come from the difference between the report snapshots of
consecutive runs (`EmailReport`). Re-reading any window upserts the same rows: nothing is counted twice.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import mailchimp_marketing

from connectors.errors import DEFAULT_POLICY, AccessDenied, Rejected, RetryPolicy, with_retries
from connectors.fanout import interleaved
from connectors.mailchimp import sends
from connectors.mailchimp.client import classify
from connectors.mailchimp.records import CampaignRead, EmailActivity, EmailCampaign, EmailReport, ListGrowth
from connectors.mailchimp.settings import (
    ACTIVITY_FIELDS,
    CAMPAIGN_FIELDS,
    MAX_CONNECTIONS,
    MEMBER_FIELDS,
    PAGE_SIZE,
    REPORT_FIELDS,
    SENT_TO_FIELDS,
)
from connectors.paging import Page, paginate
from connectors.pii import EmailHasher

OnRetry = Callable[[int, Exception, float], None] | None  # told (attempt, TransientError, wait) before a retry


class Reader:
    """One account's reads, each with retries; `connections` requests in flight at most (Mailchimp allows 10).

    Addresses are hashed by `hasher` when set (the run's hasher of the account), else with `salt`."""

    def __init__(self, client: mailchimp_marketing.Client, *, salt: str, page_size: int = PAGE_SIZE,
                 connections: int = 4, policy: RetryPolicy = DEFAULT_POLICY, on_retry: OnRetry = None,
                 hasher: Callable[[str], str] | None = None) -> None:
        self.client = client
        self.salt = salt
        self.page_size = min(page_size, PAGE_SIZE)
        self.connections = max(1, min(connections, MAX_CONNECTIONS))
        self.policy = policy
        self.on_retry: OnRetry = on_retry
        self.hasher: Callable[[str], str] | None = hasher
        self._hasher: EmailHasher | None = None
        self._slots = threading.BoundedSemaphore(self.connections)  # requests in flight, whichever thread asks

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One request with retries, holding one of the `connections` slots while it is on the wire (not while a
        retry waits), so that campaigns and pages read side by side never exceed the account's limit."""
        def attempt() -> Any:
            with self._slots:
                return fn(*args, **kwargs)
        return with_retries(attempt, lambda e: classify(e, self.client), policy=self.policy, on_retry=self.on_retry)

    def account_id(self) -> str:
        """The Mailchimp account id: the rows' account, and the hashes' default salt."""
        return str(self.call(self.client.root.get_root, fields=["account_id"])["account_id"])

    def email_hash(self, address: str) -> str:
        """The project's salted hash of the address (connectors.pii); the address itself is never kept."""
        if self.hasher is not None:
            return self.hasher(address)
        if self._hasher is None or self._hasher.salt != self.salt:
            self._hasher = EmailHasher(self.salt)
        return self._hasher(address)

    def _paged(self, fn: Callable[..., Any], key: str, *args: Any, **kwargs: Any) -> Iterator[list[dict[str, Any]]]:
        def fetch(offset: int | None) -> Page[dict[str, Any], int]:
            page = self.call(fn, *args, count=self.page_size, offset=offset or 0, **kwargs)
            items = list(page.get(key) or []) if isinstance(page, dict) else []
            end = (offset or 0) + len(items)
            return Page(items, end if items and end < int(page.get("total_items") or 0) else None)
        return paginate(fetch, what=f"Mailchimp {key} {' '.join(map(str, args))}".rstrip(), identity=_identity)

    def _all_pages(self, fn: Callable[..., Any], key: str, *args: Any, **kwargs: Any) -> list[list[dict[str, Any]]]:
        """Every page of a list, the first one alone (it tells the total), the others side by side; in offset
        order whatever order they arrived in. Offset paging over a list that changes meanwhile may repeat an
        entry on two pages: the landing stores each record once."""
        first = self.call(fn, *args, count=self.page_size, offset=0, **kwargs)
        items = list(first.get(key) or []) if isinstance(first, dict) else []
        total = int(first.get("total_items") or 0) if isinstance(first, dict) else 0
        offsets = range(self.page_size, total, self.page_size) if items else range(0)

        def page(offset: int) -> list[dict[str, Any]]:
            answer = self.call(fn, *args, count=self.page_size, offset=offset, **kwargs)
            return list(answer.get(key) or []) if isinstance(answer, dict) else []

        if len(offsets) <= 1:
            return [items, *map(page, offsets)]
        with ThreadPoolExecutor(self.connections, thread_name_prefix="mailchimp-page") as pool:
            return [items, *pool.map(page, offsets)]

    # --- campaigns -----------------------------------------------------------------------------------------------

    def campaigns(self, since: dt.date) -> list[EmailCampaign]:
        """Regular campaigns sent since `since`, and every automation email (their sends go on every day)."""
        out = []
        start = dt.datetime.combine(since, dt.time(), dt.UTC)
        for page in self._paged(self.client.campaigns.list, "campaigns", type="regular", status="sent",
                                since_send_time=start.isoformat(), sort_field="send_time", sort_dir="ASC",
                                fields=list(CAMPAIGN_FIELDS)):
            out += [EmailCampaign(str(c["id"]), str(c["settings"]["title"]), "regular",
                                  str(c["recipients"]["list_id"]), "", "", 0, _when(c.get("send_time")),
                                  web_id=_web_id(c.get("web_id")))
                    for c in page]
        for page in self._paged(self.client.automations.list, "automations",
                                fields=["automations.id", "automations.settings.title", "total_items"]):
            for workflow in page:
                emails = self.call(self.client.automations.list_all_workflow_emails, workflow["id"])
                out += [EmailCampaign(str(e["id"]), str(e["settings"]["title"]), "automation",
                                      str(e["recipients"]["list_id"]), str(workflow["id"]),
                                      str(workflow["settings"]["title"]), int(e["position"]),
                                      _when(e.get("send_time")), delay_hours=_delay_hours(e.get("delay")),
                                      started=_when(e.get("start_time") or e.get("create_time")),
                                      web_id=_web_id(e.get("web_id")))
                        for e in emails.get("emails") or []]
        return out

    # --- activity ------------------------------------------------------------------------------------------------

    def activity(self, campaigns: list[EmailCampaign], since: dt.date, until: dt.date,
                 ) -> Iterator[list[EmailActivity | Rejected]]:
        """Per-subscriber actions dated since..until (UTC) of every campaign, a page per campaign read (see
        `campaign_reads`)."""
        for read in self.campaign_reads([(c, since) for c in campaigns], until):
            yield read.records

    def campaign_reads(self, windows: list[tuple[EmailCampaign, dt.date]], until: dt.date) -> Iterator[CampaignRead]:
        """Each campaign's per-subscriber actions from its own first day to `until` (UTC days), handed over once
        the campaign is read whole, in the order campaigns finish (they are read side by side, and the pages of a
        big one too). A whole read is what the landing replaces the campaign's rows of those days with, so a stop
        keeps every campaign already handed over.

        Opens, clicks and bounces carry their timestamps (email activity); a regular campaign's sends are its
        sent-to list at its send time; automation emails keep no send time per subscriber (see `reports` and
        `send_estimates`)."""
        hi = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC)
        jobs = [partial(self._campaign_read, c, since, hi) for c, since in windows]
        yield from interleaved(jobs, self.connections)

    def _campaign_read(self, campaign: EmailCampaign, since: dt.date, hi: dt.datetime) -> Iterator[CampaignRead]:
        try:
            yield self._whole_campaign(campaign, since, hi)
        except AccessDenied as exc:
            if exc.status != 404:
                raise
            yield CampaignRead(campaign.campaign_id, since, [], gone=str(exc))

    def _whole_campaign(self, campaign: EmailCampaign, since: dt.date, hi: dt.datetime) -> CampaignRead:
        lo = dt.datetime.combine(since, dt.time(), dt.UTC)
        records: list[EmailActivity | Rejected] = []
        if campaign.kind == "regular" and campaign.send_time is not None and lo <= campaign.send_time < hi:
            for page in self._all_pages(self.client.reports.get_campaign_recipients, "sent_to", campaign.campaign_id,
                                        fields=list(SENT_TO_FIELDS)):
                records += [EmailActivity(campaign.campaign_id, self.email_hash(r["email_address"]), "sent",
                                          campaign.send_time) for r in page]
        for page in self._all_pages(self.client.reports.get_email_activity_for_campaign, "emails",
                                    campaign.campaign_id, since=lo.isoformat(), fields=list(ACTIVITY_FIELDS)):
            for email in page:
                records += self._actions(campaign, email, lo, hi)
        return CampaignRead(campaign.campaign_id, since, records)

    def _actions(self, campaign: EmailCampaign, email: dict[str, Any], lo: dt.datetime,
                 hi: dt.datetime) -> list[EmailActivity | Rejected]:
        """One subscriber's opens, clicks and bounces of lo..hi; an unreadable time is kept for the quarantine."""
        who = self.email_hash(email["email_address"])
        out: list[EmailActivity | Rejected] = []
        for act in email.get("activity") or []:
            if act.get("action") not in ("open", "click", "bounce"):
                continue  # other actions (e.g. a click on a link-less test) are not part of the map
            try:
                when = _when(act.get("timestamp"))
            except ValueError:
                when = None
            if when is None:  # kept for the quarantine, with the subscriber as a hash only
                out.append(Rejected(f"{campaign.campaign_id}|{who}|{act.get('action')}",
                                    f"activity timestamp {act.get('timestamp')!r} is not an ISO 8601 time",
                                    {"campaign_id": campaign.campaign_id, "email_hash": who,
                                     "action": act.get("action"), "timestamp": act.get("timestamp")}))
            elif lo <= when < hi:
                out.append(EmailActivity(campaign.campaign_id, who, str(act["action"]), when))
        return out

    # --- audiences ------------------------------------------------------------------------------------------------

    def list_growth(self) -> Iterator[list[ListGrowth]]:
        """Every audience's monthly growth history (sign-ups, unsubscribes, cleaned), a page per audience page."""
        for lists in self._paged(self.client.lists.get_all_lists, "lists",
                                 fields=["lists.id", "lists.name", "total_items"]):
            for audience in lists:
                for page in self._paged(self.client.lists.get_list_growth_history, "history", audience["id"],
                                        sort_field="month", sort_dir="ASC"):
                    yield [ListGrowth(str(audience["id"]), str(audience["name"]), str(m["month"]),
                                      *(int(m.get(f) or 0) for f in ("existing", "imports", "optins", "subscribed",
                                                                     "unsubscribed", "cleaned")))
                           for m in page]

    # --- automation sends ----------------------------------------------------------------------------------------

    def subscribe_times(self, list_id: str) -> dict[str, dt.datetime]:
        """Every member of an audience, whatever their status now (an unsubscribed member got the emails of their
        time), as hash → when they subscribed (`timestamp_opt`, else `timestamp_signup`)."""
        out: dict[str, dt.datetime] = {}
        for page in self._all_pages(self.client.lists.get_list_members_info, "members", list_id,
                                    fields=list(MEMBER_FIELDS)):
            for member in page:
                when = _when(member.get("timestamp_opt") or member.get("timestamp_signup"))
                if when is not None:
                    out[self.email_hash(member["email_address"])] = when
        return out

    def recipients(self, campaign_id: str) -> list[str]:
        """Hashes of everyone an email went to (its sent-to list; for an automation email, without times)."""
        return [self.email_hash(r["email_address"])
                for page in self._all_pages(self.client.reports.get_campaign_recipients, "sent_to", campaign_id,
                                            fields=list(SENT_TO_FIELDS))
                for r in page]

    def emails_sent(self, campaign_id: str) -> int:
        """The email's cumulative `emails_sent` as its report has it now."""
        report = self.call(self.client.reports.get_campaign_report, campaign_id, fields=["emails_sent"])
        return int(report.get("emails_sent") or 0)

    @staticmethod
    def chain_delays(emails: Iterable[EmailCampaign]) -> dict[str, dt.timedelta]:
        """Each automation email's delay after the signup (see `sends.chain_delays`)."""
        return sends.chain_delays(emails)

    @staticmethod
    def estimate_sends(email: EmailCampaign, delay: dt.timedelta, subscribed: Mapping[str, dt.datetime],
                       recipients: Iterable[str] | None, emails_sent: int, now: dt.datetime) -> sends.SendEstimate:
        """An automation email's sends per hour, rebuilt from what the reads above returned (see
        `sends.estimate_sends`)."""
        return sends.estimate_sends(email, delay, subscribed, recipients, emails_sent, now)

    # --- report snapshots ----------------------------------------------------------------------------------------

    def reports(self, campaigns: list[EmailCampaign], taken_on: dt.date) -> list[EmailReport]:
        """Each campaign's cumulative report as of now, dated `taken_on`."""
        def one(campaign: EmailCampaign) -> EmailReport:
            r = self.call(self.client.reports.get_campaign_report, campaign.campaign_id, fields=list(REPORT_FIELDS))
            return EmailReport(campaign.campaign_id, taken_on, int(r.get("emails_sent") or 0),
                               int((r.get("opens") or {}).get("unique_opens") or 0),
                               int((r.get("clicks") or {}).get("unique_subscriber_clicks") or 0),
                               int((r.get("bounces") or {}).get("hard_bounces") or 0),
                               int(r.get("unsubscribed") or 0))
        with ThreadPoolExecutor(self.connections, thread_name_prefix="mailchimp") as pool:
            return list(pool.map(one, campaigns))


_DELAY_HOURS = {"hour": 1.0, "day": 24.0, "week": 168.0}


def _delay_hours(delay: Any) -> float:
    """An automation email's delay after the previous step (its `delay` object: amount and type), in hours."""
    if not isinstance(delay, dict):
        return 0.0
    return float(delay.get("amount") or 0) * _DELAY_HOURS.get(str(delay.get("type") or "day"), 24.0)


def _when(value: Any) -> dt.datetime | None:
    """Mailchimp's ISO 8601 times ("2026-09-01T08:00:00+00:00"); "" (never sent) → None."""
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value if isinstance(value, str) else str(value))  # "Z" too, since 3.11
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _web_id(value: object) -> int:
    """A campaign's web-app id (an integer in the API); 0 when it is missing or not a number."""
    try:
        return int(str(value)) if value is not None else 0
    except ValueError:
        return 0


def _identity(item: dict[str, Any]) -> str:
    """What identifies an entry of a Mailchimp list page (its id; a growth-history month)."""
    return str(item.get("id") or item.get("month") or item.get("email_id") or sorted(item.items()))
