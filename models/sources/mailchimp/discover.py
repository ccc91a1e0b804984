"""What Mailchimp lends `journeymap discover`: every email of each automation in order and the regular campaigns
by title series as candidates; a send as a row's volume; every email on record (with its report's sends); the
automations and campaigns a map misses, and new emails in the automations it follows."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
from sqlalchemy import Connection, select

from models.config import Touchpoint
from models.sources.discovery import (
    ANY,
    Candidate,
    Missed,
    NewEmail,
    OnRecord,
    Proposed,
    Shown,
    SourceDiscovery,
    exact,
    title_prefix,
)
from models.sources.mailchimp.tables import MailchimpCampaign, MailchimpReport
from models.tables import table_of

NAME = "mailchimp"
METRICS = {"email": ("sent", "opens"), "campaign": ("sent", "clicks")}
NAMED_BY = (("automation", "workflow_title"), ("campaign", "title"))  # a rule key, and the column it names


def weight(raw: pd.DataFrame) -> pd.Series:
    """An email's sends (its opens, clicks and bounces weigh nothing)."""
    return raw["weight"].where(raw["action"] == "sent", 0.0).astype(float)


def probe(stage: str) -> list[Touchpoint]:
    """Every email."""
    return [Touchpoint(id="probe-email", name="email", stage=stage, source=NAME, match={"campaign": ANY},
                       volume="sent")]


def on_record(conn: Connection, _since: dt.date, until: dt.date, _raw: pd.DataFrame) -> OnRecord:
    """Every campaign and automation email on record, with all its sends by Mailchimp's newest report."""
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
    return OnRecord(emails=emails)


def candidates(shown: Shown) -> list[Proposed]:
    """Every email of each automation with activity in the window, in order; regular campaigns by title series."""
    raw, on_record = shown.raw, shown.record.emails
    if on_record is None:
        return []
    sends = raw[raw["action"] == "sent"].groupby("campaign_id")["weight"].sum() if len(raw) else pd.Series()
    active = set(raw["campaign_id"]) if len(raw) else set()
    out = []
    auto = on_record[on_record["kind"] == "automation"].sort_values(["workflow_title", "position"])
    for workflow, group in auto.groupby("workflow_title", sort=True):
        if not set(group["campaign_id"]) & active:
            continue  # an automation nobody went through in the window
        for _, email in group.drop_duplicates("position").iterrows():
            why = f"email {email['position']} of the automation '{workflow}' — " + \
                shown.judgement.place(Candidate("email", str(workflow)))[1]
            volume, span = float(sends.get(email["campaign_id"], 0.0)), ""
            if not volume and pd.notna(email["reported_sent"]):  # no send times: Mailchimp's report has the total
                volume, span = float(email["reported_sent"]), "in all, by Mailchimp's report (no send times on record)"
            out.append(Proposed("email", str(email["title"]) or f"{workflow} email {email['position']}",
                                {"automation": exact(str(workflow)), "email": int(email["position"])}, volume, why,
                                order=(str(workflow), int(email["position"])), span=span))
    regular = on_record[(on_record["kind"] != "automation") & on_record["campaign_id"].isin(active)]
    for prefix, group in regular.groupby(regular["title"].map(title_prefix), sort=True):
        out.append(Proposed("campaign", f"{prefix} campaigns", {"campaign": exact(str(prefix)) + ".*"},
                            float(sends[sends.index.isin(group["campaign_id"])].sum()),
                            f"a regular newsletter or campaign reaches the audience — {len(group)} sent"))
    return out


def candidate_of(touchpoint: Touchpoint) -> Candidate:
    """A rule on an automation is an email of it; any other, a campaign."""
    match = touchpoint.match
    if "automation" in match:
        return Candidate("email", str(match["automation"]))
    return Candidate("campaign", str(match.get("campaign", touchpoint.name)))


def missed(raw: pd.DataFrame, _weights: pd.Series, left: pd.Series) -> list[Missed]:
    """The rows of each automation and campaign title no touchpoint takes."""
    rest = raw[left]
    return [Missed(key, rest.groupby(rest[column].astype(str)).size().astype(float)) for key, column in NAMED_BY]


def new_emails(record: OnRecord, touchpoints: list[Touchpoint]) -> list[NewEmail]:
    """The emails of an automation a touchpoint follows at a position none of them takes."""
    if record.emails is None:
        return []
    emails = record.emails[record.emails["kind"] == "automation"]
    rules = [tp for tp in touchpoints if "automation" in tp.match]
    out = []
    ordered = emails.sort_values(["workflow_title", "position"]).drop_duplicates(["workflow_title", "position"])
    for _, email in ordered.iterrows():
        mine = [tp for tp in rules if re.fullmatch(str(tp.match["automation"]), str(email["workflow_title"]))]
        taken = any("email" not in tp.match or int(tp.match["email"]) == int(email["position"]) for tp in mine)
        if mine and not taken:
            out.append(NewEmail(str(email["workflow_title"]), int(email["position"]), str(email["title"])))
    return out


DISCOVER = SourceDiscovery("emails", METRICS, weight, probe, on_record=on_record, candidates=candidates,
                           candidate_of=candidate_of, missed=missed, new_emails=new_emails)
