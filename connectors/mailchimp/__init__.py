"""Mailchimp: campaigns, automation emails, per-subscriber email activity and report snapshots
(official `mailchimp-marketing` client)."""

from __future__ import annotations

from connectors.mailchimp.client import classify, make_client
from connectors.mailchimp.reader import Reader
from connectors.mailchimp.records import EmailActivity, EmailCampaign, EmailReport, ListGrowth
from connectors.mailchimp.source import SPEC

__all__ = ["SPEC", "EmailActivity", "EmailCampaign", "EmailReport", "ListGrowth", "Reader", "classify", "make_client"]
