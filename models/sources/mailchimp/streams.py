"""Mailchimp's landing streams: what its records become as rows of its tables, and which checks they pass
first (records that fail go to the quarantine; see `models.sync.rows`)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from models.sources.mailchimp.tables import (
    MailchimpActivity,
    MailchimpCampaign,
    MailchimpListGrowth,
    MailchimpReport,
)
from models.sync.rows import (
    BadRecord,
    Cover,
    RawStream,
    Record,
    account,
    choice,
    day_of,
    naive_utc,
    no_day,
    number,
    one_of,
    sha256_hex,
)
from models.tables import table_of

MAILCHIMP_ACTIONS = ("sent", "open", "click", "bounce", "unsub")

def _campaign_row(r: Record) -> dict[str, Any]:
    send = r.get("send_time")
    return {"account": account(r), "campaign_id": str(r["campaign_id"]), "title": str(r["title"]),
            "kind": choice(r, "kind", ("regular", "automation")), "list_id": str(r["list_id"]),
            "workflow_id": str(r["workflow_id"]), "workflow_title": str(r["workflow_title"]),
            "position": int(number(r, "position", whole=True)),
            "send_time": None if send is None else naive_utc(send, "send_time"),
            "web_id": int(r.get("web_id") or 0)}

ACTIVITY_FIELDS = ("campaign_id", "email_hash", "action", "timestamp")

ACTIVITY_COLUMNS = ("account", *ACTIVITY_FIELDS)

def _activity_values(account: str, campaign_id: Any, email_hash: Any, action: Any, timestamp: Any,
                     ) -> tuple[str, str, str, str, dt.datetime]:
    """The checks of an activity row but the account's (checked once per batch in the bulk shape)."""
    return (account, str(campaign_id), sha256_hex(email_hash), one_of(action, "action", MAILCHIMP_ACTIONS),
            naive_utc(timestamp, "timestamp"))

def _activity_row(r: Record) -> dict[str, Any]:
    return dict(zip(ACTIVITY_COLUMNS, _activity_values(account(r), *(r[c] for c in ACTIVITY_FIELDS)), strict=True))

def _report_row(r: Record) -> dict[str, Any]:
    if not isinstance(r["taken_on"], dt.date):
        raise BadRecord(f"taken_on must be a date, got {r['taken_on']!r}")
    return {"account": account(r), "campaign_id": str(r["campaign_id"]), "taken_on": r["taken_on"],
            **{m: int(number(r, m, whole=True)) for m in ("emails_sent", "unique_opens", "unique_clicks",
                                                           "hard_bounces", "unsubscribed")}}

def _growth_row(r: Record) -> dict[str, Any]:
    month = str(r["month"])
    if not re.fullmatch(r"\d{4}-\d{2}", month):
        raise BadRecord(f"month {month!r} is not YYYY-MM")
    return {"account": account(r), "list_id": str(r["list_id"]), "month": month, "list_name": str(r["list_name"]),
            **{f: int(number(r, f, whole=True)) for f in ("existing", "imports", "optins", "subscribed",
                                                           "unsubscribed", "cleaned")}}

MAILCHIMP_CAMPAIGNS = RawStream("mailchimp", "campaigns", table_of(MailchimpCampaign),
                                _campaign_row, lambda r: str(r["campaign_id"]), no_day)

MAILCHIMP_ACTIVITY = RawStream("mailchimp", "activity", table_of(MailchimpActivity),
                               _activity_row, lambda r: f"{r['campaign_id']}|{r['action']}|{r['timestamp']}",
                               day_of("timestamp"), Cover("timestamp", "campaign_id", ACTIVITY_FIELDS,
                                                        ACTIVITY_FIELDS, _activity_values))

assert tuple(c.name for c in MAILCHIMP_ACTIVITY.table.columns) == ACTIVITY_COLUMNS  # the bulk shape's order

MAILCHIMP_REPORTS = RawStream("mailchimp", "reports", table_of(MailchimpReport), _report_row,
                              lambda r: f"{r['campaign_id']}|{r['taken_on']}", day_of("taken_on"))

MAILCHIMP_LIST_GROWTH = RawStream("mailchimp", "list_growth", table_of(MailchimpListGrowth), _growth_row,
                                  lambda r: f"{r['list_id']}|{r['month']}", no_day)
