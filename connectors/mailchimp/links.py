"""What the links to Mailchimp's web app need of the account: the data centre of the key."""

from __future__ import annotations

from typing import Any


def data_centre(api_key: str | None) -> str | None:
    """The data centre a Mailchimp key belongs to (its suffix after the dash: `us6` of `…-us6`)."""
    if not api_key or "-" not in api_key:
        return None
    return api_key.rsplit("-", 1)[1] or None


def web_account(settings: Any) -> str | None:
    """The data centre of MAILCHIMP_API_KEY, for links to the account's reports."""
    key = settings.mailchimp_api_key.get_secret_value() if settings.mailchimp_api_key else None
    return data_centre(key)
