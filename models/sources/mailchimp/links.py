"""A Mailchimp touchpoint's own report in the Mailchimp web app (an alert's link)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, select

from models.config import Touchpoint
from models.sources.mailchimp.tables import MailchimpCampaign
from models.tables import table_of


@dataclass(frozen=True)
class Campaign:
    """A Mailchimp campaign as a touchpoint's rule sees it, with the id of its report in the web app."""

    title: str
    workflow_title: str
    position: int
    web_id: int
    sent: str = ""  # ISO send time ("" for automation emails): the newest matching campaign is linked


@dataclass(frozen=True)
class MailchimpLinks:
    """What the links need of the account: the data centre of the key (`us6` of `…-us6`) and the campaigns whose
    report the web app can show."""

    dc: str
    campaigns: tuple[Campaign, ...] = ()


def link_context(conn: Connection, dc: str | None) -> MailchimpLinks | None:
    """The data centre (from the key), with the stored campaigns that have a web id; None without a key."""
    if not dc:
        return None
    campaigns = table_of(MailchimpCampaign)
    known = tuple(Campaign(str(title), str(workflow), int(position), int(web_id), str(sent or ""))
                  for title, workflow, position, web_id, sent in conn.execute(
                      select(campaigns.c.title, campaigns.c.workflow_title, campaigns.c.position,
                             campaigns.c.web_id, campaigns.c.send_time).where(campaigns.c.web_id > 0)))
    return MailchimpLinks(dc, known)


def link(tp: Touchpoint, account: MailchimpLinks) -> tuple[str, str] | None:
    """(label, URL): the report of the newest campaign the rule takes, else the reports (or journeys) list."""
    base = f"https://{account.dc}.admin.mailchimp.com"
    campaign = _newest_campaign(tp, account.campaigns)
    if campaign is not None:
        return ("Mailchimp report", f"{base}/reports/summary?id={campaign.web_id}")
    where = "customer-journey" if "automation" in tp.match else "reports"
    return ("Mailchimp reports", f"{base}/{where}/")


def _newest_campaign(tp: Touchpoint, campaigns: tuple[Campaign, ...]) -> Campaign | None:
    """The newest campaign the touchpoint's rule takes (as the mapping reads it: `campaign` and `automation` full-
    match the title and the workflow title, `email` is the position), among those whose web id is known."""
    def takes(c: Campaign) -> bool:
        for key, value in tp.match.items():
            if key == "email" and c.position != int(value):
                return False
            if key in ("campaign", "automation") and not re.fullmatch(
                    str(value), c.title if key == "campaign" else c.workflow_title):
                return False
        return True

    taken = [c for c in campaigns if c.web_id and takes(c)]
    return max(taken, key=lambda c: c.sent) if taken else None
