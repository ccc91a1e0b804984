"""The official Google API client for Search Console: credentials, endpoint override, and what its errors mean."""

from __future__ import annotations

import http.client
import json
import re
from pathlib import Path
from typing import Any

import httplib2
from google.auth import exceptions as auth_exc
from googleapiclient.discovery import Resource, build
from googleapiclient.errors import HttpError

from connectors.errors import AccessDenied, ConnectorError, PermanentError, QuotaExhausted, TransientError
from connectors.google_auth import load_credentials
from connectors.search_console.settings import API_NAME, API_VERSION, SCOPES

USERS_HELP = "Search Console › Settings › Users and permissions"


def make_client(credentials_file: Path | None, endpoint: str | None) -> Resource:
    """A Search Console API client: the GA4 service-account key file if given, else Application Default
    Credentials (see `connectors.google_auth.load_credentials`). The API's description ships with the client
    library, so nothing is downloaded to build it.

    `endpoint` (e.g. http://127.0.0.1:8080) replaces Google's root URL.

    Raises:
        PermanentError: the credentials cannot be loaded; the message says how to fix it.
    """
    credentials = load_credentials(credentials_file, SCOPES)
    options = {"api_endpoint": endpoint} if endpoint else None
    return build(API_NAME, API_VERSION, credentials=credentials, static_discovery=True, cache_discovery=False,
                 client_options=options)


NETWORK = (ConnectionError, TimeoutError, http.client.HTTPException, httplib2.ServerNotFoundError,
           auth_exc.TransportError)
# Search Console's short-term quota ("Search Analytics load quota exceeded", queries per minute per site or user)
# comes as a 403 or a 429 with one of these reasons, and passes within minutes.
SHORT_TERM_QUOTA = frozenset({"quotaExceeded", "rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"})
SCOPE_REASONS = frozenset({"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"})


def classify(exc: Exception, site_url: str | None = None) -> ConnectorError:
    """Map a client or network exception onto the connector errors; anything unknown is re-raised."""
    site = f"Search Console property {site_url}" if site_url else "Search Console"
    if isinstance(exc, auth_exc.RefreshError):
        if exc.retryable:
            return TransientError(f"Google's token endpoint failed for {site} ({exc}); retrying")
        return PermanentError(f"{site} rejected the credentials ({exc}); check GA4_CREDENTIALS_FILE or the "
                              "Application Default Credentials")
    if isinstance(exc, NETWORK):
        return TransientError(f"{site} connection problem: {type(exc).__name__}: {exc}")
    if not isinstance(exc, HttpError):
        raise exc
    status = int(exc.status_code)
    error = _error(exc)
    message = str(error.get("message") or exc.reason or "")
    reasons = _reasons(error)
    if status == 429 or (status == 403 and reasons & SHORT_TERM_QUOTA):
        return TransientError(f"{site}: short-term quota exceeded ({status}: {message})", _retry_after(exc))
    if status >= 500:
        return TransientError(f"{site} server error ({status}: {message})", _retry_after(exc))
    if status == 403 and "dailyLimitExceeded" in reasons:
        return QuotaExhausted(f"{site}: the project's daily quota is spent ({message}); the next run reads only "
                              "the days still missing")
    if status == 401:
        return PermanentError(f"{site} rejected the credentials (401: {message}); check GA4_CREDENTIALS_FILE or "
                              "the Application Default Credentials")
    if status == 403 and reasons & SCOPE_REASONS:
        return PermanentError(f"{site}: the credentials lack the scope {SCOPES[0]} (403: {message}); use a "
                              "service-account key or Application Default Credentials that may ask for it")
    if status == 403:
        return AccessDenied(f"{site}: permission denied (403: {message}); add the service account's email as a "
                            f"user of the property in {USERS_HELP}, and check that the site URL is the "
                            "property's exactly ('https://www.example.com/' or 'sc-domain:example.com')",
                            account=site_url)
    if status == 404:
        return AccessDenied(f"{site} was not found (404: {message}); check the site URL", account=site_url,
                            status=404)
    field = _field(error, message)
    where = f" (field {field})" if field else ""
    return PermanentError(f"{site} refused the request{where}: {status}: {message}")


def _error(exc: HttpError) -> dict[str, Any]:
    """The `error` object of Google's JSON error body ({} when the body is something else)."""
    try:
        body = json.loads(exc.content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _items(error: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = error.get(key)
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _reasons(error: dict[str, Any]) -> set[str]:
    """Every reason the body names: the JSON API's `errors[].reason` and the ErrorInfo `details[].reason`."""
    return {str(i["reason"]) for key in ("errors", "details") for i in _items(error, key) if i.get("reason")}


def _field(error: dict[str, Any], message: str) -> str | None:
    """The request field a 400 is about: a BadRequest field violation, an error's location, or the message's
    "Invalid value at 'field'"."""
    for detail in _items(error, "details"):
        for violation in detail.get("fieldViolations") or []:
            if isinstance(violation, dict) and violation.get("field"):
                return str(violation["field"])
    located = next((str(i["location"]) for i in _items(error, "errors") if i.get("location")), None)
    if located:
        return located
    match = re.search(r"at '([^']+)'", message)
    return match[1] if match else None


def _retry_after(exc: HttpError) -> float | None:
    value = exc.resp.get("retry-after") if exc.resp is not None else None  # httplib2 lower-cases header names
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
