"""Mailchimp constants: paging, connection limit, timeouts."""

from __future__ import annotations

PAGE_SIZE = 1000  # the Marketing API's largest `count`
MAX_CONNECTIONS = 10  # Mailchimp allows 10 simultaneous connections per account
REQUEST_TIMEOUT = 120.0  # seconds
CAMPAIGN_FIELDS = ["campaigns.id", "campaigns.type", "campaigns.status", "campaigns.send_time",
                   "campaigns.recipients.list_id", "campaigns.settings.title", "campaigns.web_id", "total_items"]
ACTIVITY_FIELDS = ["emails.email_address", "emails.activity", "total_items"]
SENT_TO_FIELDS = ["sent_to.email_address", "sent_to.status", "total_items"]
REPORT_FIELDS = ["id", "emails_sent", "unsubscribed", "bounces.hard_bounces", "opens.unique_opens",
                 "clicks.unique_subscriber_clicks"]
MEMBER_FIELDS = ["members.email_address", "members.status", "members.timestamp_opt", "members.timestamp_signup",
                 "total_items"]
