"""Mailchimp's reading half for a run: the `Reader` built from the settings (no request is made until the sync
reads), the demo business's readers, and its `SPEC`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from connectors.errors import NotConfigured, source_policy
from connectors.mailchimp.client import make_client
from connectors.mailchimp.links import web_account
from connectors.mailchimp.reader import Reader
from connectors.mailchimp.settings import MAX_CONNECTIONS
from connectors.spec import Reader as StreamReader
from connectors.spec import Setting, SourceSpec


def open_reader(settings: Any, options: Any, request: Any = None) -> Reader:
    """The account's reader from the settings (MAILCHIMP_API_KEY, MAILCHIMP_API_URL) and the source's `sources:`
    options (page_size, concurrency, retry_minutes); the sync sets its hasher once the account is known.

    Raises:
        NotConfigured: MAILCHIMP_API_KEY is missing, or not a Mailchimp key.
    """
    secret = settings.mailchimp_api_key
    key = secret.get_secret_value().strip() if secret else ""
    if not key:
        raise NotConfigured("MAILCHIMP_API_KEY is not set; set it to an API key with its data-centre suffix "
                            "(Mailchimp › Account › Extras › API keys, e.g. …-us6), or run with --demo")
    return Reader(make_client(key, settings.mailchimp_api_url), salt="", page_size=options.page_size,
                  connections=options.concurrency, policy=source_policy(options.retry_minutes))


def demo_readers(outage: dt.date | None = None) -> dict[str, StreamReader]:
    """The demo business's campaigns, then their activity (the landing needs the campaigns first)."""
    from connectors import demo  # the demo business reads this package's records: imported when asked for

    return {"campaigns": demo.read_email_campaigns, "activity": demo.read_email_activity}


# the environment variables it reads (the flow reads them and hands the values over)
SETTINGS = (
    Setting("mailchimp_api_key", "secret", "an API key with its data-centre suffix (…-us6)"),
    Setting("mailchimp_api_url", doc="base URL override ending in /3.0"),
)
SPEC = SourceSpec("mailchimp", settings=SETTINGS,
                  account=("MAILCHIMP_API_KEY",), limit=("mailchimp-api", MAX_CONNECTIONS),
                  open=open_reader, demo=demo_readers, web_account=web_account)
