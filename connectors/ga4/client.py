"""The official GA4 Data API client: credentials, endpoint override, and what its errors mean."""

from __future__ import annotations

from pathlib import Path

import requests
from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.api_core import exceptions as gexc
from google.auth import exceptions as auth_exc

from connectors.errors import ConnectorError, PermanentError, QuotaExhausted, TransientError
from connectors.ga4.settings import SCOPES
from connectors.google_auth import load_credentials


def make_client(credentials_file: Path | None, endpoint: str | None) -> BetaAnalyticsDataClient:
    """A Data API client: service-account key file if given, else Application Default Credentials (see
    `connectors.google_auth.load_credentials`).

    `endpoint` (e.g. http://127.0.0.1:8080) switches to the REST transport at that URL.

    Raises:
        PermanentError: the credentials cannot be loaded; the message says how to fix it.
    """
    credentials = load_credentials(credentials_file, SCOPES)
    if endpoint:
        return BetaAnalyticsDataClient(credentials=credentials, transport="rest",
                                       client_options={"api_endpoint": endpoint})
    return BetaAnalyticsDataClient(credentials=credentials)


TRANSIENT = (gexc.TooManyRequests, gexc.ResourceExhausted, gexc.ServiceUnavailable, gexc.InternalServerError,
             gexc.GatewayTimeout, gexc.DeadlineExceeded, gexc.BadGateway, gexc.Aborted)
NETWORK = (requests.exceptions.ConnectionError, requests.exceptions.Timeout, auth_exc.TransportError)


def classify(exc: Exception, property_id: str) -> ConnectorError:
    """Map an SDK or network exception onto the connector errors; anything unknown is re-raised.

    Over REST the client names errors by HTTP status: a 429 is TooManyRequests, a 400
    BadRequest, a 403 Forbidden. A daily quota spent for good is QuotaExhausted.
    """
    message = getattr(exc, "message", None) or str(exc)
    spent = _spent_quota(message) if isinstance(exc, gexc.TooManyRequests | gexc.ResourceExhausted) else None
    if spent is not None:
        return QuotaExhausted(f"GA4 property {property_id}: its {spent} quota is spent ({message.strip()}); the "
                              "next run reads only the days still missing")
    if isinstance(exc, TRANSIENT):
        return TransientError(f"GA4 {type(exc).__name__}: {message}", _retry_after(exc))
    if isinstance(exc, NETWORK):
        return TransientError(f"GA4 connection problem: {type(exc).__name__}: {exc}")
    if isinstance(exc, gexc.Unauthorized | gexc.Unauthenticated | auth_exc.RefreshError):
        return PermanentError(f"GA4 rejected the credentials ({message}); check GA4_CREDENTIALS_FILE or "
                              "the Application Default Credentials")
    if isinstance(exc, gexc.Forbidden | gexc.PermissionDenied):
        return PermanentError(f"GA4 property {property_id}: permission denied ({message}); add the service "
                              "account's email as a Viewer in GA4 Admin › Property access management, "
                              "and check GA4_PROPERTY_ID")
    if isinstance(exc, gexc.NotFound):
        return PermanentError(f"GA4 property {property_id} was not found ({message}); check GA4_PROPERTY_ID")
    if isinstance(exc, gexc.BadRequest | gexc.InvalidArgument):
        return PermanentError(f"GA4 refused the request for property {property_id}: {message}")
    raise exc


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


# GA4 names the budget a 429 ran out of ("Exhausted property tokens per hour…", "…tokens per project per hour…",
# "…potentially thresholded requests per hour…"). A token or thresholded-request budget refills only with the next
# hour or day: waiting it out inside one run would hold the run for up to a day, so the sync stops cleanly instead.
# "Exhausted concurrent requests" passes in seconds, and is retried.
_QUOTAS = (("tokens per day", "daily token"), ("tokens per project per hour", "hourly per-project token"),
           ("tokens per hour", "hourly token"), ("thresholded requests per hour", "hourly thresholded-request"))


def _spent_quota(message: str) -> str | None:
    text = message.lower()
    if "exhausted" not in text:
        return None
    return next((name for phrase, name in _QUOTAS if phrase in text), None)
