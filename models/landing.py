"""Landing that replaces what a read covers: a GA4 day with its report metadata; an email's rebuilt sends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, delete, select

from models.store import replace_window, upsert
from models.tables import Ga4ReportMeta, Ga4Row, MailchimpSendCheck, MailchimpSendEstimate, table_of


def replace_ga4_day(conn: Connection, property_id: str, day: dt.date, rows: Iterable[Mapping[str, Any]],
                    meta: Iterable[Mapping[str, Any]]) -> int:
    """Replace one day of one property: rows GA4 no longer reports (a split "(other)" row) disappear."""
    written = replace_window(conn, table_of(Ga4Row), day, day, rows, where={"property_id": [property_id]})
    conn.execute(delete(Ga4ReportMeta).where(Ga4ReportMeta.property_id == property_id,
                                             Ga4ReportMeta.date == day))
    upsert(conn, table_of(Ga4ReportMeta), [{**m, "property_id": property_id} for m in meta])
    return written


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
