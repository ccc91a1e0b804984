"""Mailchimp activity → touchpoint facts: per email, dated by its send day (a cohort), sends from snapshots
where Mailchimp keeps no send time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection, select

from models.config import JourneyMap, Touchpoint
from models.facts import METRIC_COLUMNS, between, concat, daily_facts, fullmatch, unmapped_items
from models.tables import MailchimpActivity, MailchimpCampaign, MailchimpReport, table_of

MAILCHIMP_ACTIONS = {"sent": "sent", "opens": "open", "clicks": "click", "bounces": "bounce",
                     "unsubscribes": "unsub"}
SEND_LOOKBACK = dt.timedelta(days=14)  # how far back an open or click is traced to its send
ACTION_LAG = dt.timedelta(days=4)  # opens and clicks after the window still belong to its sends


def read_mailchimp(conn: Connection, since: dt.date, until: dt.date, tz: ZoneInfo,
                    account: str | None) -> pd.DataFrame:
    """Activity dated by its email's send day (a cohort): opens of Monday's email count for Monday.

    Dating an open by its own day would let a step's successes exceed its volume and
    shift every drop by the open delay. An action of an email sent one by one whose own send is not on record
    (sent before the loaded history) is left out; an email with no per-subscriber sends (automation emails,
    counted from report snapshots) keeps each action on its own day.
    """
    a, c = table_of(MailchimpActivity), table_of(MailchimpCampaign)
    lo = dt.datetime.combine(since - SEND_LOOKBACK, dt.time())
    hi = dt.datetime.combine(until + ACTION_LAG, dt.time())
    stmt = (select(a.c.campaign_id, a.c.email_hash, a.c.action, a.c.timestamp, c.c.title, c.c.workflow_title,
                   c.c.position)
            .join(c, (c.c.account == a.c.account) & (c.c.campaign_id == a.c.campaign_id))
            .where(a.c.timestamp >= lo, a.c.timestamp < hi))
    if account is not None:
        stmt = stmt.where(a.c.account == account)
    raw = pd.read_sql(stmt, conn)
    own_day, _ = between(raw["timestamp"], tz, since, until)
    raw["date"] = own_day
    sends = (raw.loc[raw["action"] == "sent", ["campaign_id", "email_hash", "timestamp", "date"]]
             .sort_values("timestamp").drop_duplicates(["campaign_id", "email_hash"])
             .drop(columns=["timestamp"]).rename(columns={"date": "send_date"}))
    raw = raw.merge(sends, on=["campaign_id", "email_hash"], how="left")
    # an open of a campaign whose sends are on record, but not this subscriber's, followed a send before the
    # first loaded day: counted on its own day it would be a success without its volume (success > volume)
    orphan = raw["send_date"].isna() & (raw["action"] != "sent") & raw["campaign_id"].isin(sends["campaign_id"])
    raw = raw[~orphan]
    raw["date"] = raw["send_date"].where(raw["send_date"].notna(), raw["date"])
    raw = raw[(raw["date"] >= since) & (raw["date"] <= until)].drop(columns=["send_date"])
    raw = pd.concat([raw.assign(weight=1.0), _snapshot_sends(conn, since, until, account, set(sends["campaign_id"]))],
                    ignore_index=True)
    for column in ("title", "workflow_title"):
        raw[column] = raw[column].astype("category")
    return raw.reset_index(drop=True)


def _snapshot_sends(conn: Connection, since: dt.date, until: dt.date, account: str | None,
                    with_sends: set[str]) -> pd.DataFrame:
    """Daily sends of emails with no per-subscriber send on record (automation emails read from the API): the
    growth of `emails_sent` between consecutive report snapshots, on the later snapshot's day. One row per
    (email, day) whose `weight` is the count; the first snapshot of an email has nothing to compare with."""
    r, c = table_of(MailchimpReport), table_of(MailchimpCampaign)
    stmt = (select(r.c.campaign_id, r.c.taken_on, r.c.emails_sent, c.c.title, c.c.workflow_title, c.c.position)
            .join(c, (c.c.account == r.c.account) & (c.c.campaign_id == r.c.campaign_id))
            .where(r.c.taken_on >= since - dt.timedelta(days=7), r.c.taken_on <= until))
    if account is not None:
        stmt = stmt.where(r.c.account == account)
    snaps = pd.read_sql(stmt, conn).sort_values(["campaign_id", "taken_on"])
    snaps = snaps[~snaps["campaign_id"].isin(with_sends)]
    snaps["weight"] = snaps.groupby("campaign_id")["emails_sent"].diff().clip(lower=0)
    snaps = snaps[snaps["weight"].notna() & (snaps["weight"] > 0)]
    snaps = snaps[(snaps["taken_on"] >= since) & (snaps["taken_on"] <= until)]
    return pd.DataFrame({"campaign_id": snaps["campaign_id"], "email_hash": "snapshot", "action": "sent",
                         "timestamp": pd.to_datetime(snaps["taken_on"]), "title": snaps["title"],
                         "workflow_title": snaps["workflow_title"], "position": snaps["position"],
                         "date": snaps["taken_on"], "weight": snaps["weight"].astype(float)})


def map_mailchimp(raw: pd.DataFrame, tps: list[tuple[str, Touchpoint]],
                  _map: JourneyMap) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Facts (ALL segment), unmapped sends, and every email metric per day — sends, opens, clicks, bounces,
    unsubscribes — so that the map shows an email's click rate beside its open rate whichever its step uses."""
    matched = pd.Series(False, index=raw.index)
    facts, metrics = [], []
    for journey_id, tp in tps:
        mask = rule_mask(raw, tp)
        matched |= mask
        rows = raw[mask]
        daily = pd.DataFrame({metric: _unique_per_day(rows, action) for metric, action in MAILCHIMP_ACTIONS.items()})
        daily = daily.reindex(daily.index[daily[tp.volume].notna()]).fillna(0.0)
        daily["events"] = rows.groupby("date").size().reindex(daily.index).fillna(0.0)
        daily["revenue"] = 0.0
        tp_facts, tp_metrics = daily_facts(daily, tp, journey_id)
        facts.append(tp_facts)
        metrics.append(tp_metrics)
    unmapped = unmapped_items(raw[~matched & (raw["action"] == "sent")], "title", "mailchimp", "activity", "weight")
    return concat(facts), unmapped, concat(metrics, METRIC_COLUMNS)


def rule_mask(raw: pd.DataFrame, tp: Touchpoint) -> pd.Series:
    """The activity rows (read_mailchimp) a touchpoint's rule takes."""
    mask = pd.Series(True, index=raw.index)
    for key, value in tp.match.items():
        if key == "email":
            mask &= raw["position"] == int(value)
        else:
            mask &= fullmatch(raw["title" if key == "campaign" else "workflow_title"], str(value))
    return mask


def _unique_per_day(rows: pd.DataFrame, action: str) -> pd.Series:
    """Distinct subscribers per day with this action on any of the rule's emails (plus snapshot sends)."""
    acted = rows[rows["action"] == action]
    return acted.drop_duplicates(["date", "campaign_id", "email_hash"]).groupby("date")["weight"].sum().astype(float)
