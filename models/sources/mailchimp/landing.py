"""Landing that replaces what a read of Mailchimp covers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, select

from models.sources.mailchimp.tables import (
    MailchimpSendCheck,
    MailchimpSendEstimate,
)
from models.store import upsert
from models.tables import table_of


def replace_send_estimate(conn: Connection, account: str, campaign_id: str, hours: Mapping[dt.datetime, int],
                          check: Mapping[str, Any]) -> None:
    """Store an automation email's rebuilt sends (per UTC hour) and how they add up, replacing an earlier rebuild."""
    for model in (MailchimpSendEstimate, MailchimpSendCheck):
        conn.execute(delete(model).where(model.account == account, model.campaign_id == campaign_id))
    upsert(conn, table_of(MailchimpSendEstimate), [
        {"account": account, "campaign_id": campaign_id, "hour": hour.astimezone(dt.UTC).replace(tzinfo=None),
         "sends": sends} for hour, sends in sorted(hours.items())])
    upsert(conn, table_of(MailchimpSendCheck), [{"account": account, "campaign_id": campaign_id, **check}])

def rebuilt_emails(conn: Connection, account: str) -> set[str]:
    """The automation emails of an account whose sends were rebuilt already."""
    return set(conn.execute(select(MailchimpSendCheck.campaign_id).where(MailchimpSendCheck.account == account))
               .scalars())
