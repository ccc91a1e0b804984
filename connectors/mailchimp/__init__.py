"""Mailchimp: campaigns, automation emails and per-subscriber email activity."""

from __future__ import annotations

from connectors.mailchimp.records import EmailActivity, EmailCampaign

__all__ = ["EmailActivity", "EmailCampaign"]
