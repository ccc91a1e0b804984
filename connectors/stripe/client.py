"""The official Stripe client (a `StripeClient` instance, never module globals) and what its errors mean."""

from __future__ import annotations

import re

import stripe

from connectors.errors import AccessDenied, ConnectorError, PermanentError, TransientError
from connectors.stripe.settings import API_VERSION, REQUEST_TIMEOUT


def make_client(api_key: str, api_base: str | None = None) -> stripe.StripeClient:
    """A client for the secret (or restricted) key, at `api_base` when set (proxies, tests).

    The library's own retries are off (`max_network_retries=0`): it does not retry 429s at all, so every
    retry — 429, 5xx, dropped connections — goes through `connectors.errors.with_retries`, which honours
    Retry-After.

    Raises:
        PermanentError: the key is not a Stripe secret or restricted key.
    """
    key = api_key.strip()
    if not key.startswith(("sk_", "rk_")):
        raise PermanentError("STRIPE_API_KEY is not a secret key (it must start with sk_ or rk_; a publishable "
                             "pk_ key cannot read sessions); create a restricted key with read access to "
                             "Checkout Sessions, Products and Events in the Stripe Dashboard › Developers › API keys")
    http = stripe.RequestsClient(timeout=REQUEST_TIMEOUT)
    if api_base:
        return stripe.StripeClient(key, stripe_version=API_VERSION, base_addresses={"api": api_base.rstrip("/")},
                                   max_network_retries=0, http_client=http)
    return stripe.StripeClient(key, stripe_version=API_VERSION, max_network_retries=0, http_client=http)


# Stripe's 403 for a restricted key: "The provided key 'rk_live_…' does not have the required permissions for this
# endpoint on account 'acct_…'. Having the 'rak_refund_read' permission would allow this request to continue."
_PERMISSION = re.compile(r"Having the '([a-z0-9_]+)' permission")
_ACCOUNT = re.compile(r"on account '(acct_[A-Za-z0-9]+)'")


def _retry_after(exc: stripe.StripeError) -> float | None:
    headers = exc.headers or {}
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def classify(exc: Exception) -> ConnectorError:
    """Map a Stripe library exception onto the connector errors; anything unknown is re-raised."""
    if isinstance(exc, stripe.RateLimitError):
        return TransientError(f"Stripe rate limit (429): {exc.user_message or exc}", _retry_after(exc))
    if isinstance(exc, stripe.APIConnectionError):
        return TransientError(f"Stripe unreachable: {exc.user_message or exc}")
    if isinstance(exc, stripe.AuthenticationError):
        return PermanentError("Stripe rejected STRIPE_API_KEY (401); check the key in the Stripe Dashboard › "
                              "Developers › API keys (test keys only see test data), then set it again")
    if isinstance(exc, stripe.PermissionError):
        text = str(exc.user_message or exc)
        permission = _PERMISSION.search(text)
        account = _ACCOUNT.search(text)
        needed = f"the '{permission.group(1)}' permission" if permission else "read access to this resource"
        return AccessDenied(f"the Stripe key may not read this (403: it lacks {needed}); give the restricted key "
                            "that permission in the Stripe Dashboard › Developers › API keys",
                            permission=permission.group(1) if permission else None,
                            account=account.group(1) if account else None)
    if isinstance(exc, stripe.InvalidRequestError) and exc.http_status == 404 and "Unrecognized request URL" in str(
            exc.user_message or exc):
        return AccessDenied(f"Stripe has no such endpoint for this account (404: {exc.user_message or exc})",
                            status=404)
    if isinstance(exc, stripe.StripeError) and (exc.http_status or 0) >= 500:
        return TransientError(f"Stripe server error ({exc.http_status}): {exc.user_message or exc}",
                              _retry_after(exc))
    if isinstance(exc, stripe.InvalidRequestError):
        return PermanentError(f"Stripe refused the request ({exc.http_status}): {exc.user_message or exc}")
    raise exc
