"""Rebuilding the daily sends of automation emails, which Mailchimp keeps no send time for.

An automation email goes to each subscriber a fixed delay after the previous step of its workflow (the signup for
the first email), so a subscriber who got email n got it at their subscribe time (`timestamp_opt`) plus the
delays of emails 1..n. The email's recipients (`/reports/{id}/sent-to`) say who got it; the audience's members
say when each subscribed. The sum is checked against the email's own cumulative `emails_sent`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from connectors.mailchimp.records import EmailCampaign

TOLERANCE = 0.01  # the share of `emails_sent` a rebuild may miss before it is reported


@dataclass(frozen=True)
class SendEstimate:
    """An automation email's rebuilt sends per UTC hour, and how they add up against its report."""

    campaign_id: str
    hours: dict[dt.datetime, int]  # aware UTC hour → sends
    emails_sent: int
    method: str  # "sent-to": its recipients' subscribe times; "members": subscribe times of everyone who joined

    @property
    def placed(self) -> int:
        return sum(self.hours.values())

    @property
    def off_by(self) -> float:
        """How far the rebuilt total is from the report's `emails_sent`, as a share of it."""
        return abs(self.placed - self.emails_sent) / self.emails_sent if self.emails_sent else float(self.placed > 0)

    def problem(self, title: str) -> str | None:
        """A sentence for the run's output when the rebuild misses the report by more than TOLERANCE."""
        if self.off_by <= TOLERANCE:
            return None
        return (f"automation email '{title}': rebuilt {self.placed:,} of its {self.emails_sent:,} sends "
                f"({self.off_by:.1%} off, more than {TOLERANCE:.0%}: recipients who are no longer members, or "
                f"a workflow trigger other than signup); its history's daily sends are approximate")


def chain_delays(emails: Iterable[EmailCampaign]) -> dict[str, dt.timedelta]:
    """Each automation email's delay after the signup: its own and every earlier email's of its workflow."""
    out: dict[str, dt.timedelta] = {}
    by_workflow: dict[str, list[EmailCampaign]] = {}
    for email in emails:
        if email.kind == "automation":
            by_workflow.setdefault(email.workflow_id, []).append(email)
    for workflow in by_workflow.values():
        total = 0.0
        for email in sorted(workflow, key=lambda e: e.position):
            total += email.delay_hours
            out[email.campaign_id] = dt.timedelta(hours=total)
    return out


def estimate_sends(email: EmailCampaign, delay: dt.timedelta, subscribed: Mapping[str, dt.datetime],
                   recipients: Iterable[str] | None, emails_sent: int, now: dt.datetime) -> SendEstimate:
    """The email's sends per hour: each recipient's subscribe time plus the chain's delay (`recipients`: hashes of
    who got it; None when the recipient list cannot be read: then every member who subscribed after the email
    began and whose send time has come counts)."""
    hours: Counter[dt.datetime] = Counter()
    if recipients is not None:
        method = "sent-to"
        times = [subscribed[r] + delay for r in recipients if r in subscribed]
    else:
        method = "members"
        start = email.started or dt.datetime.min.replace(tzinfo=dt.UTC)
        times = [t + delay for t in subscribed.values() if t + delay >= start]
    for sent in times:
        if method == "sent-to" or sent < now:  # a recipient got it, whenever the delays say; a member, if it is time
            hours[sent.replace(minute=0, second=0, microsecond=0)] += 1
    return SendEstimate(email.campaign_id, dict(hours), emails_sent, method)
