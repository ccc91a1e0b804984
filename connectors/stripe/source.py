"""Stripe's reading half for a run: its readers, built from the settings without a request (the account is asked
for when the sync needs it), and its `SPEC`."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import stripe

from connectors import demo
from connectors.errors import NotConfigured, RetryPolicy, TransientError, source_policy
from connectors.spec import Reader, Setting, SourceSpec
from connectors.stripe.client import make_client
from connectors.stripe.reader import (
    Salt,
    account_id,
    read_checkout_sessions,
    read_payment_intents,
    read_refunds,
    read_subscriptions,
)
from connectors.stripe.settings import PAGE_SIZE

OnRetry = Callable[[int, TransientError, float], None] | None


class StripeReaders:
    """One run's reads of the account a key belongs to, every request with the run's retries (`policy`)."""

    def __init__(self, client: stripe.StripeClient, *, key: str, account_id: str = "", page_size: int = PAGE_SIZE,
                 policy: RetryPolicy) -> None:
        self.client = client
        self.key = key
        self.account_id = account_id
        self.page_size = min(page_size, PAGE_SIZE)
        self.policy = policy

    def account(self) -> tuple[str, str]:
        """The account the rows are stored under, and a warning when it had to be guessed: STRIPE_ACCOUNT_ID, else
        what Stripe says (/v1/account, or the account its refusal names), else one derived from the key."""
        if self.account_id:
            return self.account_id, ""
        found = account_id(self.client, policy=self.policy)
        if found:
            return found, ""
        guessed = "key_" + hashlib.sha256(self.key.encode()).hexdigest()[:16]
        return guessed, (f"Stripe did not say which account the key belongs to; its rows are stored under {guessed}. "
                         "Set STRIPE_ACCOUNT_ID (acct_…, Stripe Dashboard › Settings › Account details) so that a "
                         "new key keeps the same account")

    def checkout_sessions(self, salt: Salt, on_retry: OnRetry = None) -> Reader:
        """Sessions by day created, their customers' addresses hashed with `salt` (a salt or the hasher)."""
        return lambda since, until: read_checkout_sessions(self.client, since, until, salt=salt, policy=self.policy,
                                                           page_size=self.page_size, on_retry=on_retry)

    def subscriptions(self, on_retry: OnRetry = None) -> Reader:
        """Every subscription, whatever the days asked (a whole list)."""
        return lambda since, until: read_subscriptions(self.client, policy=self.policy, on_retry=on_retry)

    def refunds(self, on_retry: OnRetry = None) -> Reader:
        return lambda since, until: read_refunds(self.client, since, until, policy=self.policy, on_retry=on_retry)

    def payment_intents(self, on_retry: OnRetry = None) -> Reader:
        return lambda since, until: read_payment_intents(self.client, since, until, policy=self.policy,
                                                         on_retry=on_retry)


def open_stripe(settings: Any, options: Any, request: Any = None) -> StripeReaders:
    """The readers of STRIPE_API_KEY's account (at STRIPE_API_BASE when set); raises naming the variable to set
    when the key is missing or not a secret key. Nothing is asked of Stripe yet."""
    key = settings.stripe_api_key.get_secret_value().strip() if settings.stripe_api_key else ""
    if not key:
        raise NotConfigured("STRIPE_API_KEY is not set; set it to a secret or restricted key (Stripe Dashboard › "
                            "Developers › API keys), or run with --demo")
    return StripeReaders(make_client(key, settings.stripe_api_base), key=key,
                         account_id=(settings.stripe_account_id or "").strip(), page_size=options.page_size,
                         policy=source_policy(options.retry_minutes))


def demo_readers(outage: Any = None) -> dict[str, Reader]:
    """The demo shop's checkouts."""
    return {"checkout_sessions": demo.read_checkout_sessions}


def named_account(settings: Any) -> str | None:
    """STRIPE_ACCOUNT_ID when set (the web app's links need it; else the stored checkouts' account)."""
    return (settings.stripe_account_id or "").strip() or None


# the environment variables it reads (the flow reads them and hands the values over)
SETTINGS = (
    Setting("stripe_api_key", "secret", "a secret or restricted key"),
    Setting("stripe_api_base", doc="API base override"),
    Setting("stripe_account_id", doc="acct_…: only when the key may not read /v1/account"),
)
# each Stripe chunk reads one page at a time; 10 keeps far below its rate limit (100 requests a second). The
# account is the one the key belongs to: Stripe names it when the sync asks (`StripeReaders.account`).
SPEC = SourceSpec("stripe", settings=SETTINGS,
                  account=("STRIPE_API_KEY",), limit=("stripe-api", 10), open=open_stripe,
                  demo=demo_readers, web_account=named_account)
