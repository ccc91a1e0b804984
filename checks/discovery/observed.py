"""What the sources show over a window, read from the raw landing tables exactly as the mapping reads them: the
ground `journeymap discover` proposes a map from, and that a map's drift and coverage are judged on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection, select

from models.config import Touchpoint
from models.sources.ga4.mapping import GA4_REPORT_VOLUME, read_ga4
from models.sources.ga4.mapping import rule_mask as ga4_mask
from models.sources.ga4.tables import Ga4ReportMeta
from models.sources.mailchimp.mapping import read_mailchimp
from models.sources.mailchimp.mapping import rule_mask as email_mask
from models.sources.mailchimp.tables import MailchimpCampaign, MailchimpReport
from models.sources.stripe.mapping import read_stripe
from models.sources.stripe.mapping import rule_mask as sales_mask
from models.tables import table_of

# Events GA4 collects on every site by itself: they say nothing about this business's journey.
AUTOMATIC_EVENTS = frozenset({"page_view", "session_start", "first_visit", "user_engagement", "scroll",
                              "view_search_results", "video_start", "video_progress", "video_complete",
                              "form_start", "file_download"})
RuleMask = Callable[[pd.DataFrame, Touchpoint], pd.Series]
RULE_MASKS: dict[str, RuleMask] = {"ga4": ga4_mask, "mailchimp": email_mask, "stripe": sales_mask}


@dataclass(frozen=True)
class Observed:
    """The raw rows of each source over [since, until], as the mapping reads them, and every email on record."""

    since: dt.date
    until: dt.date
    raw: dict[str, pd.DataFrame]  # source → the mapping reader's frame (ga4, mailchimp, stripe)
    emails: pd.DataFrame  # every campaign and automation email on record: title, kind, workflow_title, position,
    # and reported_sent: all its sends in Mailchimp's newest report (automation emails; NaN without one)
    time_zone: str | None = None  # the GA4 property's, when GA4 said
    currency: str | None = None  # the most used checkout currency (else GA4's)

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def weight(self, source: str) -> pd.Series:
        """Each raw row's base volume: a GA4 row's sessions / views / events by its report, an email send, a
        checkout session (0 for every other row: opens, clicks, refunds…, and GA4's automatic events)."""
        raw = self.raw[source]
        if source == "ga4":
            out = pd.Series(0.0, index=raw.index)
            for report, column in GA4_REPORT_VOLUME.items():
                out = out.where(raw["report"] != report, raw[column].astype(float))
            return out.where(~((raw["report"] == "events") & raw["item"].isin(AUTOMATIC_EVENTS)), 0.0)
        if source == "mailchimp":
            return raw["weight"].where(raw["action"] == "sent", 0.0).astype(float)
        return (raw["kind"] == "session").astype(float)

    def matched(self, source: str, touchpoints: list[Touchpoint]) -> pd.Series:
        """Which raw rows of a source at least one of the touchpoints takes."""
        raw = self.raw[source]
        mask = pd.Series(False, index=raw.index)
        for tp in touchpoints:
            if tp.source == source:
                mask |= RULE_MASKS[source](raw, tp)
        return mask


def observe(conn: Connection, since: dt.date, until: dt.date, tz: ZoneInfo,
            accounts: Mapping[str, str | None] | None = None) -> Observed:
    """Read the window's raw rows of GA4, Mailchimp and Stripe (`accounts`: per source, the account whose rows
    count; None reads every account)."""
    accounts = accounts or {}
    raw = {source: reader(conn, since, until, tz, accounts.get(source))
           for source, reader in (("ga4", read_ga4), ("mailchimp", read_mailchimp), ("stripe", read_stripe))}
    c = table_of(MailchimpCampaign)
    emails = pd.read_sql(select(c.c.campaign_id, c.c.title, c.c.kind, c.c.workflow_title, c.c.position,
                                c.c.send_time), conn)
    r = table_of(MailchimpReport)
    # a run takes its snapshot on its own day, the day after the last day it reads
    reports = pd.read_sql(select(r.c.campaign_id, r.c.taken_on, r.c.emails_sent)
                          .where(r.c.taken_on <= until + dt.timedelta(days=1)), conn)
    newest = reports.sort_values("taken_on").drop_duplicates("campaign_id", keep="last")
    emails = emails.merge(newest[["campaign_id", "emails_sent"]].rename(columns={"emails_sent": "reported_sent"}),
                          on="campaign_id", how="left")
    meta = table_of(Ga4ReportMeta)
    zone = conn.execute(select(meta.c.time_zone, meta.c.currency_code).where(meta.c.date <= until)
                        .order_by(meta.c.date.desc()).limit(1)).first()
    stripe = raw["stripe"]
    sessions = stripe[stripe["kind"] == "session"] if "kind" in stripe else stripe.iloc[:0]
    currency = (str(sessions["currency"].str.upper().mode().iloc[0]) if len(sessions)
                else (zone.currency_code if zone is not None and zone.currency_code else None))
    return Observed(since, until, raw, emails, zone.time_zone if zone is not None and zone.time_zone else None,
                    currency)
