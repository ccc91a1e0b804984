"""The official GA4 Data API client: credentials, endpoint override, and what its errors mean."""

from __future__ import annotations

import json
from pathlib import Path
from typing import cast

import google.auth
import requests
from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.api_core import exceptions as gexc
from google.auth import exceptions as auth_exc
from google.oauth2 import service_account

from connectors.errors import ConnectorError, PermanentError, QuotaExhausted, TransientError
from connectors.ga4.settings import SCOPES


def make_client(credentials_file: Path | None, endpoint: str | None) -> BetaAnalyticsDataClient:
    """A Data API client: service-account key file if given, else Application Default Credentials.

    `endpoint` (e.g. http://127.0.0.1:8080) switches to the REST transport at that URL.

    Raises:
        PermanentError: the credentials cannot be loaded; the message says how to fix it.
    """
    credentials: google.auth.credentials.Credentials
    if credentials_file is not None:
        credentials = _service_account(credentials_file)
    else:
        try:
            credentials, _ = google.auth.default(scopes=list(SCOPES))
        except auth_exc.DefaultCredentialsError:
            raise PermanentError("no Google credentials found: set GA4_CREDENTIALS_FILE to a service-account "
                                 "JSON key, or configure Application Default Credentials "
                                 "(gcloud auth application-default login)") from None
    if endpoint:
        return BetaAnalyticsDataClient(credentials=credentials, transport="rest",
                                       client_options={"api_endpoint": endpoint})
    return BetaAnalyticsDataClient(credentials=credentials)


def _service_account(path: Path) -> service_account.Credentials:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PermanentError(f"GA4_CREDENTIALS_FILE {path} does not exist; point it at the service-account "
                             "JSON key downloaded from Google Cloud › IAM › Service accounts › Keys") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PermanentError(f"GA4_CREDENTIALS_FILE {path} is not a JSON key file ({exc}); download the "
                             "service account's key again as JSON") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise PermanentError(f"GA4_CREDENTIALS_FILE {path} is not a service-account key (its \"type\" is "
                             f"{info.get('type') if isinstance(info, dict) else None!r}); use a service "
                             "account's JSON key, or unset it to use Application Default Credentials")
    try:
        return cast(service_account.Credentials,
                    service_account.Credentials.from_service_account_info(info, scopes=list(SCOPES)))  # type: ignore[no-untyped-call]
    except (ValueError, KeyError) as exc:
        raise PermanentError(f"GA4_CREDENTIALS_FILE {path} is an incomplete service-account key ({exc}); "
                             "download the key again") from None


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
