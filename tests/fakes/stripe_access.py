"""Who may call what on the fake Stripe API: the secret key, restricted keys with their permissions, and endpoints
that are switched off.

Real behaviours reproduced:
- A restricted key (`rk_…`, made in the Dashboard with a permission per resource) is refused with a 403 on any
  endpoint whose permission it lacks; Stripe's message names the key (masked), the account and the permission
  that would allow the request. A "Write" permission includes reading, as the Dashboard grants it.
- A secret key (`sk_…`) may read everything.
- An endpoint that is not there (a proxy or gateway that does not route it, an API surface not available to the
  account) answers as Stripe answers any URL it does not know: 404 "Unrecognized request URL".
"""

from __future__ import annotations

import base64
import re
import secrets
import string
import threading
from collections.abc import Iterable

from tests.fakes.stripe_wire import NO_KEY, StripeError, fault_error, permission_denied, unrecognized

# Each resource the fake serves, with the restricted-key permission its read endpoints need (as Stripe names them).
PERMISSIONS = {
    "account": "rak_accounts_kyc_basic_read",
    "checkout_sessions": "rak_checkout_session_read",
    "events": "rak_event_read",
    "refunds": "rak_refund_read",
    "payment_intents": "rak_payment_intent_read",
    "subscriptions": "rak_subscription_read",
}
_SIMPLE = ("events", "payment_intents", "refunds", "subscriptions")  # /v1/<name> and /v1/<name>/<id>
_PERMISSION_RE = re.compile(r"rak_[a-z0-9_]+_(read|write)")
_KEY_CHARS = string.ascii_letters + string.digits
_KEY_LENGTH = 107  # as long as the restricted keys the Dashboard makes


def resource_of(route: list[str]) -> str | None:
    """The resource a /v1 route (the path after /v1, split on "/") belongs to; None when the fake has no such URL."""
    if route == ["account"]:
        return "account"
    if route[:2] == ["checkout", "sessions"] and (len(route) <= 3 or route[3:] == ["line_items"]):
        return "checkout_sessions"
    if route and route[0] in _SIMPLE and len(route) <= 2:
        return route[0]
    return None


def key_of(authorization: str | None) -> str:
    """The API key in an Authorization header: Bearer, or Basic with the key as user name; 401 when there is none."""
    scheme, _, credential = (authorization or "").partition(" ")
    key = credential.strip()
    if scheme.lower() == "basic":
        try:
            key = base64.b64decode(key).decode("utf-8").partition(":")[0]
        except (ValueError, UnicodeDecodeError):
            key = ""
    elif scheme.lower() != "bearer":
        key = authorization or ""
    if not key:
        raise StripeError(401, NO_KEY, headers={"WWW-Authenticate": 'Basic realm="Stripe"'})
    return key


def _granted(permissions: Iterable[str]) -> frozenset[str]:
    """The permissions a key holds: those given, plus the read permission each write one includes."""
    given = list(permissions)
    for name in given:
        if not _PERMISSION_RE.fullmatch(name):
            raise ValueError(f"not a Stripe restricted-key permission: {name!r} (e.g. 'rak_refund_read')")
    return frozenset(given) | {name.removesuffix("_write") + "_read" for name in given if name.endswith("_write")}


class Access:
    """The restricted keys the fake accepts and the resources switched off; thread-safe (a test changes them
    while the server answers)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._restricted: dict[str, frozenset[str]] = {}
        self._disabled: set[str] = set()

    def restricted_key(self, permissions: Iterable[str]) -> str:
        """A new restricted key (`rk_test_` and random characters) holding `permissions`."""
        granted = _granted(permissions)
        with self._lock:
            while True:
                key = "rk_test_" + "".join(secrets.choice(_KEY_CHARS) for _ in range(_KEY_LENGTH - 8))
                if key not in self._restricted:
                    self._restricted[key] = granted
                    return key

    def set_enabled(self, resource: str, enabled: bool) -> None:
        if resource not in PERMISSIONS:
            raise ValueError(f"resource must be one of {tuple(PERMISSIONS)}, not {resource!r}")
        with self._lock:
            if enabled:
                self._disabled.discard(resource)
            else:
                self._disabled.add(resource)

    def authenticate(self, authorization: str | None, secret_key: str) -> tuple[str, frozenset[str] | None]:
        """The request's key and its permissions (None: the secret key, which may do anything); 401 when the key
        is missing or unknown."""
        key = key_of(authorization)
        if key == secret_key:
            return key, None
        with self._lock:
            granted = self._restricted.get(key)
        if granted is None:
            raise fault_error(401, api_key=key)
        return key, granted

    def authorize(self, key: str, granted: frozenset[str] | None, account_id: str, method: str, path: str,
                  route: list[str]) -> None:
        """404 for a URL that is not there (unknown, or its resource switched off), then 403 for a restricted key
        without the resource's permission (Stripe routes before it checks permissions)."""
        resource = resource_of(route) if method == "GET" else None
        with self._lock:
            off = resource in self._disabled
        if resource is None or off:
            raise unrecognized(method, path)
        if granted is not None and PERMISSIONS[resource] not in granted:
            raise permission_denied(key, account_id, PERMISSIONS[resource])
