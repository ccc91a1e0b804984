"""Mailchimp's landing tables (natural keys, idempotent upserts)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.tables import Base


class MailchimpCampaign(Base):
    __tablename__ = "raw_mailchimp_campaigns"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)  # the Mailchimp account ("demo" for the demo)
    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    list_id: Mapped[str] = mapped_column(String(64))
    workflow_id: Mapped[str] = mapped_column(String(64))
    workflow_title: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)
    send_time: Mapped[dt.datetime | None] = mapped_column(DateTime)
    web_id: Mapped[int] = mapped_column(Integer, server_default="0")  # its report in the web app: summary?id=…

class MailchimpActivity(Base):
    """Per-subscriber actions (the address as a hash only): by far the biggest table. It keeps no unique index
    to check on every insert: the sync replaces what a read covers (the campaigns it read, over its window),
    so a re-read still leaves one row per campaign, subscriber, action and time. The scope index serves those
    replacements, the time index the reads of a window of every campaign (mapping, day counts, quality)."""

    __tablename__ = "raw_mailchimp_activity"
    __table_args__ = (Index("ix_raw_mailchimp_activity_scope", "account", "campaign_id", "timestamp"),
                      Index("ix_raw_mailchimp_activity_timestamp", "timestamp"))  # a window of every campaign
    __mapper_args__ = {  # noqa: RUF012 - SQLAlchemy's own declaration
        "primary_key": ["account", "campaign_id", "email_hash", "action", "timestamp"]}
    account: Mapped[str] = mapped_column(String(64))
    campaign_id: Mapped[str] = mapped_column(String(64))
    email_hash: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    timestamp: Mapped[dt.datetime] = mapped_column(DateTime)

class MailchimpReport(Base):
    """A campaign's cumulative report as read on a day; consecutive days' differences are its daily numbers."""

    __tablename__ = "raw_mailchimp_reports"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    taken_on: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    emails_sent: Mapped[int] = mapped_column(Integer)
    unique_opens: Mapped[int] = mapped_column(Integer)
    unique_clicks: Mapped[int] = mapped_column(Integer)
    hard_bounces: Mapped[int] = mapped_column(Integer)
    unsubscribed: Mapped[int] = mapped_column(Integer)

class MailchimpListGrowth(Base):
    """An audience's month as Mailchimp's growth history reports it."""

    __tablename__ = "raw_mailchimp_list_growth"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    list_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    list_name: Mapped[str] = mapped_column(Text)
    existing: Mapped[int] = mapped_column(Integer)
    imports: Mapped[int] = mapped_column(Integer)
    optins: Mapped[int] = mapped_column(Integer)
    subscribed: Mapped[int] = mapped_column(Integer)
    unsubscribed: Mapped[int] = mapped_column(Integer)
    cleaned: Mapped[int] = mapped_column(Integer)

class MailchimpSendEstimate(Base):
    """Sends of an automation email before its report snapshots began, rebuilt per hour (UTC) from its recipients'
    subscribe times and the workflow's delays: Mailchimp keeps no send time per subscriber for these emails."""

    __tablename__ = "raw_mailchimp_send_estimates"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour: Mapped[dt.datetime] = mapped_column(DateTime, primary_key=True)
    sends: Mapped[int] = mapped_column(Integer)

class MailchimpSendCheck(Base):
    """How well an automation email's rebuilt sends add up: placed sends against the report's `emails_sent`."""

    __tablename__ = "raw_mailchimp_send_checks"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    built_on: Mapped[dt.date] = mapped_column(Date)  # the run's as-of day
    emails_sent: Mapped[int] = mapped_column(Integer)
    placed: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(16))  # sent-to (the recipients) or members (subscribe times only)
