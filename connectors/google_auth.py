"""Google credentials for the Google connectors (GA4, Search Console): the service-account key file named by
GA4_CREDENTIALS_FILE, else Application Default Credentials, with the scopes the connector asks for."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import google.auth
from google.auth import exceptions as auth_exc
from google.auth.credentials import Credentials
from google.oauth2 import service_account

from connectors.errors import PermanentError

SETTING = "GA4_CREDENTIALS_FILE"  # the one key file every Google source reads
KEY_HELP = "Google Cloud › IAM › Service accounts › Keys"
KEY_BLOCK = "ga4-credentials"  # the Secret block that may hold the key file itself


def load_credentials(credentials_file: Path | None, scopes: Sequence[str]) -> Credentials:
    """The service account of `credentials_file` (a JSON key) if given, else Application Default Credentials,
    both asking for `scopes`. Nothing is asked of Google yet: a key Google does not trust fails at the first
    request (as a refresh error).

    Raises:
        PermanentError: the credentials cannot be loaded; the message names GA4_CREDENTIALS_FILE and the fix.
    """
    if not scopes:
        raise ValueError("load_credentials needs the scopes to ask for")
    if credentials_file is not None:
        return _service_account(credentials_file, scopes)
    try:
        credentials, _ = google.auth.default(scopes=list(scopes))
    except auth_exc.DefaultCredentialsError:
        raise PermanentError(f"no Google credentials found: set {SETTING} to a service-account JSON key "
                             f"(downloaded from {KEY_HELP}), or configure Application Default Credentials "
                             "(gcloud auth application-default login)") from None
    return credentials


PROJECT_SLOTS = 10  # requests in flight per Google Cloud project, across its properties and sites


def project_limit(settings: object) -> tuple[str, int] | None:
    """The global concurrency limit of the Google Cloud project whose service account the settings name
    (`google-project-<id>`): the quotas every property and site read with it share. None without a key file
    (Application Default Credentials name no project here) or when it names none."""
    path = getattr(settings, "ga4_credentials_file", None)
    if path is None:
        return None
    try:
        project = json.loads(Path(path).read_text(encoding="utf-8")).get("project_id")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return None  # the connector itself says what is wrong with the file
    return (f"google-project-{project}", PROJECT_SLOTS) if isinstance(project, str) and project else None


def _service_account(path: Path, scopes: Sequence[str]) -> service_account.Credentials:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PermanentError(f"{SETTING} {path} does not exist; point it at the service-account JSON key "
                             f"downloaded from {KEY_HELP}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PermanentError(f"{SETTING} {path} is not a JSON key file ({exc}); download the service account's "
                             "key again as JSON") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise PermanentError(f"{SETTING} {path} is not a service-account key (its \"type\" is "
                             f"{info.get('type') if isinstance(info, dict) else None!r}); use a service "
                             "account's JSON key, or unset it to use Application Default Credentials")
    try:
        return cast(service_account.Credentials,
                    service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                        info, scopes=list(scopes)))
    except (ValueError, KeyError) as exc:
        raise PermanentError(f"{SETTING} {path} is an incomplete service-account key ({exc}); download the key "
                             f"again from {KEY_HELP}") from None
