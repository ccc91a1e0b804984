"""Read Mailchimp campaigns, automation emails, per-subscriber activity and report snapshots as typed records.

Daily numbers per email: opens, clicks and bounces carry their own timestamps (email activity); a regular
campaign's sends happen at its send time (its sent-to list); an automation email sends every day and Mailchimp
keeps no per-send time for it, so its daily sends come from the difference between the report snapshots of
consecutive runs (`EmailReport`). Re-reading any window upserts the same rows: nothing is counted twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import mailchimp_marketing

from connectors.errors import DEFAULT_POLICY, Rejected, RetryPolicy, TransientError, with_retries
from connectors.fanout import interleaved
from connectors.mailchimp.client import classify
from connectors.mailchimp.records import EmailActivity, EmailCampaign, EmailReport, ListGrowth
from connectors.mailchimp.settings import (
    ACTIVITY_FIELDS,
    CAMPAIGN_FIELDS,
    MAX_CONNECTIONS,
    PAGE_SIZE,
    REPORT_FIELDS,
    SENT_TO_FIELDS,
)

OnRetry = Callable[[int, TransientError, float], None] | None


class Reader:
    """One account's reads, each with retries; `connections` requests in flight at most (Mailchimp allows 10)."""

    def __init__(self, client: mailchimp_marketing.Client, *, salt: str, page_size: int = PAGE_SIZE,
                 connections: int = 4, policy: RetryPolicy = DEFAULT_POLICY, on_retry: OnRetry = None) -> None:
        self.client = client
        self.salt = salt
        self.page_size = min(page_size, PAGE_SIZE)
        self.connections = max(1, min(connections, MAX_CONNECTIONS))
        self.policy = policy
        self.on_retry = on_retry
        self._salted: tuple[str, Any] | None = None  # (salt, SHA-256 state after "salt:"), copied for each address

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return with_retries(lambda: fn(*args, **kwargs), lambda e: classify(e, self.client), policy=self.policy,
                            on_retry=self.on_retry)

    def account_id(self) -> str:
        """The Mailchimp account id: the rows' account, and the hashes' default salt."""
        return str(self.call(self.client.root.get_root, fields=["account_id"])["account_id"])

    def email_hash(self, address: str) -> str:
        """Salted SHA-256 of the lower-cased address; the address itself is never kept."""
        if self._salted is None or self._salted[0] != self.salt:
            self._salted = (self.salt, hashlib.sha256(f"{self.salt}:".encode()))
        digest = self._salted[1].copy()
        digest.update(address.strip().lower().encode())
        return digest.hexdigest()

    def _paged(self, fn: Callable[..., Any], key: str, *args: Any, **kwargs: Any) -> Iterator[list[dict[str, Any]]]:
        offset = 0
        while True:
            page = self.call(fn, *args, count=self.page_size, offset=offset, **kwargs)
            items = list(page.get(key) or []) if isinstance(page, dict) else []
            if items:
                yield items
            offset += len(items)
            if not items or offset >= int(page.get("total_items") or 0):
                return

    # --- campaigns -----------------------------------------------------------------------------------------------

    def campaigns(self, since: dt.date) -> list[EmailCampaign]:
        """Regular campaigns sent since `since`, and every automation email (their sends go on every day)."""
        out = []
        start = dt.datetime.combine(since, dt.time(), dt.UTC)
        for page in self._paged(self.client.campaigns.list, "campaigns", type="regular", status="sent",
                                since_send_time=start.isoformat(), sort_field="send_time", sort_dir="ASC",
                                fields=list(CAMPAIGN_FIELDS)):
            out += [EmailCampaign(str(c["id"]), str(c["settings"]["title"]), "regular",
                                  str(c["recipients"]["list_id"]), "", "", 0, _when(c.get("send_time")))
                    for c in page]
        for page in self._paged(self.client.automations.list, "automations",
                                fields=["automations.id", "automations.settings.title", "total_items"]):
            for workflow in page:
                emails = self.call(self.client.automations.list_all_workflow_emails, workflow["id"])
                out += [EmailCampaign(str(e["id"]), str(e["settings"]["title"]), "automation",
                                      str(e["recipients"]["list_id"]), str(workflow["id"]),
                                      str(workflow["settings"]["title"]), int(e["position"]),
                                      _when(e.get("send_time")))
                        for e in emails.get("emails") or []]
        return out

    # --- activity ------------------------------------------------------------------------------------------------

    def activity(self, campaigns: list[EmailCampaign], since: dt.date, until: dt.date,
                 ) -> Iterator[list[EmailActivity | Rejected]]:
        """Per-subscriber actions dated since..until (UTC), a page per API page; campaigns read in parallel, their
        pages handed over as they arrive (so pages of different campaigns interleave).

        Each campaign's read is whole (every action of the window): the sync replaces the window's rows of exactly
        these campaigns with it. An address's actions come together, on one page (Mailchimp lists each address
        once with all its activity), so an action repeated in the same second is repeated within a page."""
        lo = dt.datetime.combine(since, dt.time(), dt.UTC)
        hi = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC)
        yield from interleaved([partial(self._campaign_activity, c, lo, hi) for c in campaigns], self.connections)

    def _campaign_activity(self, campaign: EmailCampaign, lo: dt.datetime, hi: dt.datetime,
                           ) -> Iterator[list[EmailActivity | Rejected]]:
        if campaign.kind == "regular" and campaign.send_time is not None and lo <= campaign.send_time < hi:
            for page in self._paged(self.client.reports.get_campaign_recipients, "sent_to", campaign.campaign_id,
                                    fields=list(SENT_TO_FIELDS)):
                sent: list[EmailActivity | Rejected] = [
                    EmailActivity(campaign.campaign_id, self.email_hash(r["email_address"]), "sent", campaign.send_time)
                    for r in page]
                yield sent
        for page in self._paged(self.client.reports.get_email_activity_for_campaign, "emails",
                                campaign.campaign_id, since=lo.isoformat(), fields=list(ACTIVITY_FIELDS)):
            rows: list[EmailActivity | Rejected] = []
            for email in page:
                who = self.email_hash(email["email_address"])
                for act in email.get("activity") or []:
                    if act.get("action") not in ("open", "click", "bounce"):
                        continue  # other actions (e.g. a click on a link-less test) are not part of the map
                    try:
                        when = _when(act.get("timestamp"))
                    except ValueError:
                        when = None
                    if when is None:  # kept for the quarantine, with the subscriber as a hash only
                        rows.append(Rejected(f"{campaign.campaign_id}|{who}|{act.get('action')}",
                                             f"activity timestamp {act.get('timestamp')!r} is not an ISO 8601 time",
                                             {"campaign_id": campaign.campaign_id, "email_hash": who,
                                              "action": act.get("action"), "timestamp": act.get("timestamp")}))
                    elif lo <= when < hi:
                        rows.append(EmailActivity(campaign.campaign_id, who, str(act["action"]), when))
            if rows:
                yield rows

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


def _when(value: Any) -> dt.datetime | None:
    """Mailchimp's ISO 8601 times ("2026-09-01T08:00:00+00:00"); "" (never sent) → None."""
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value if isinstance(value, str) else str(value))  # "Z" too, since 3.11
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
