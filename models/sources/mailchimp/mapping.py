"""Mailchimp activity → touchpoint facts: per email, dated by its send day (a cohort); where Mailchimp keeps no
send time (automation emails), sends from report snapshots, and before them from the rebuilt history."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection, func, select

from models.config import JourneyMap, Touchpoint
from models.facts import METRIC_COLUMNS, between, concat, daily_facts, fullmatch, unmapped_items
from models.frames import read_frame
from models.sources.mailchimp.tables import (
    MailchimpActivity,
    MailchimpCampaign,
    MailchimpReport,
    MailchimpSendCheck,
    MailchimpSendEstimate,
)
from models.store import unindexed
from models.tables import table_of

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
        stmt = stmt.where(unindexed(a.c.account) == account)  # the time index finds the window
    raw = read_frame(conn, stmt, shared=("campaign_id", "email_hash", "action", "title", "workflow_title"))
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
    raw = pd.concat([raw.assign(weight=1.0), _snapshot_sends(conn, since, until, tz, account,
                                                             set(sends["campaign_id"]))], ignore_index=True)
    for column in ("title", "workflow_title"):
        raw[column] = raw[column].astype("category")
    return raw.reset_index(drop=True)


def _snapshot_sends(conn: Connection, since: dt.date, until: dt.date, tz: ZoneInfo, account: str | None,
                    with_sends: set[str]) -> pd.DataFrame:
    """Daily sends of emails with no per-subscriber send on record (automation emails read from the API).

    From the first report snapshot on, a day's sends are the growth of `emails_sent` from that day's snapshot
    to the next one (a daily run takes its snapshot early in its day), spread evenly over the days between two
    snapshots when runs were skipped. Before it, they are the sends rebuilt from the recipients' subscribe times
    (`raw_mailchimp_send_estimates`), which also cover the first snapshot's own day up to that run when they were
    rebuilt then. One row per (email, day, kind) whose `weight` is the count."""
    snaps = _snapshots(conn, since, until, account)
    snaps = snaps[~snaps["campaign_id"].isin(with_sends)]
    parts = [_growth(snaps), _estimates(conn, since, until, tz, account, with_sends)]
    out = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else parts[0]
    out = out[(out["date"] >= since) & (out["date"] <= until)]
    return _email_rows(conn, out, account)


SNAPSHOT_REACH = dt.timedelta(days=31)  # how far before the window a snapshot may be whose growth reaches into it


def _snapshots(conn: Connection, since: dt.date, until: dt.date, account: str | None) -> pd.DataFrame:
    r = table_of(MailchimpReport)
    stmt = (select(r.c.account, r.c.campaign_id, r.c.taken_on, r.c.emails_sent)
            .where(r.c.taken_on >= since - SNAPSHOT_REACH, r.c.taken_on <= until + dt.timedelta(days=1)))
    if account is not None:
        stmt = stmt.where(r.c.account == account)
    return pd.read_sql(stmt, conn).sort_values(["account", "campaign_id", "taken_on"])


def _growth(snaps: pd.DataFrame) -> pd.DataFrame:
    """The growth between consecutive snapshots, spread over the days from one to (not including) the next."""
    rows: list[dict[str, object]] = []
    for (acct, campaign), group in snaps.groupby(["account", "campaign_id"], sort=False):
        days, sent = list(group["taken_on"]), list(group["emails_sent"])
        for i in range(len(days) - 1):
            span = (days[i + 1] - days[i]).days
            grew = max(0, int(sent[i + 1]) - int(sent[i]))
            rows += [{"account": acct, "campaign_id": campaign, "date": days[i] + dt.timedelta(days=d),
                      "kind": "snapshot", "weight": grew / span} for d in range(span) if grew]
    return pd.DataFrame(rows, columns=["account", "campaign_id", "date", "kind", "weight"])


def _estimates(conn: Connection, since: dt.date, until: dt.date, tz: ZoneInfo, account: str | None,
               with_sends: set[str]) -> pd.DataFrame:
    """Rebuilt sends per local day, only where no snapshot growth covers the day (before the first snapshot, and
    on its day when the rebuild was made by that run)."""
    e, k, r = table_of(MailchimpSendEstimate), table_of(MailchimpSendCheck), table_of(MailchimpReport)
    first = (select(r.c.account, r.c.campaign_id, func.min(r.c.taken_on).label("first"))
             .group_by(r.c.account, r.c.campaign_id).subquery())
    lo = dt.datetime.combine(since - dt.timedelta(days=1), dt.time())
    hi = dt.datetime.combine(until + dt.timedelta(days=2), dt.time())
    stmt = (select(e.c.account, e.c.campaign_id, e.c.hour, e.c.sends, k.c.built_on, first.c.first)
            .join(k, (k.c.account == e.c.account) & (k.c.campaign_id == e.c.campaign_id))
            .outerjoin(first, (first.c.account == e.c.account) & (first.c.campaign_id == e.c.campaign_id))
            .where(e.c.hour >= lo, e.c.hour < hi))
    if account is not None:
        stmt = stmt.where(e.c.account == account)
    est = pd.read_sql(stmt, conn)
    est = est[~est["campaign_id"].isin(with_sends)]
    if not len(est):
        return pd.DataFrame(columns=["account", "campaign_id", "date", "kind", "weight"])
    est["date"] = pd.to_datetime(est["hour"]).dt.tz_localize("UTC").dt.tz_convert(tz).dt.date
    first_day = est["first"]
    before = first_day.isna() | (est["date"] < first_day) | ((est["date"] == first_day)
                                                            & (est["built_on"] == first_day))
    est = est[before & (est["date"] <= est["built_on"])]
    daily = est.groupby(["account", "campaign_id", "date"])["sends"].sum().reset_index()
    daily["kind"] = "estimate"
    daily["weight"] = daily["sends"].astype(float)
    return daily[["account", "campaign_id", "date", "kind", "weight"]]


def _email_rows(conn: Connection, sends: pd.DataFrame, account: str | None) -> pd.DataFrame:
    """Sends as activity-like rows of their email (title, workflow, position), one per (email, day, kind)."""
    c = table_of(MailchimpCampaign)
    stmt = select(c.c.account, c.c.campaign_id, c.c.title, c.c.workflow_title, c.c.position)
    if account is not None:
        stmt = stmt.where(c.c.account == account)
    emails = pd.read_sql(stmt, conn)
    rows = sends.merge(emails, on=["account", "campaign_id"])
    return pd.DataFrame({"campaign_id": rows["campaign_id"], "email_hash": rows["kind"], "action": "sent",
                         "timestamp": pd.to_datetime(rows["date"]), "title": rows["title"],
                         "workflow_title": rows["workflow_title"], "position": rows["position"],
                         "date": rows["date"], "weight": rows["weight"].astype(float)})


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
