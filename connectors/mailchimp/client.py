"""The official Mailchimp Marketing client, and what its errors mean.

The client raises `ApiClientError` with only `.status_code` and `.text` (the problem-JSON body as a string) and
never exposes response headers; `_HeaderClient` keeps the last response's headers per thread so that a 429's
`Retry-After` can be honoured. `fields` / `exclude_fields` must be lists: a string is split into characters.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

import mailchimp_marketing
import requests
from mailchimp_marketing.api_client import ApiClient, ApiClientError

from connectors.errors import AccessDenied, ConnectorError, NotConfigured, PermanentError, TransientError
from connectors.mailchimp.settings import REQUEST_TIMEOUT

KEY = re.compile(r"^[0-9a-f]{32}-(?P<dc>[a-z]+[0-9]+)$")


class _HeaderClient(ApiClient):  # type: ignore[misc]
    """The SDK's own client, remembering each thread's last response headers (Retry-After)."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.last = threading.local()

    def request(self, method: str, url: str, query_params: Any = None, headers: Any = None,
                body: Any = None) -> requests.Response:
        response: requests.Response = super().request(method, url, query_params, headers=headers, body=body)
        self.last.headers = dict(response.headers)
        return response

    def retry_after(self) -> float | None:
        headers = getattr(self.last, "headers", {}) or {}
        value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


def make_client(api_key: str, api_url: str | None = None) -> mailchimp_marketing.Client:
    """A Marketing API client for `api_key` (with its -dc suffix), at `api_url` (ending in /3.0) when set.

    Raises:
        NotConfigured: the key has no data-centre suffix.
    """
    key = api_key.strip()
    match = KEY.match(key)
    if match is None:
        raise NotConfigured("MAILCHIMP_API_KEY does not look like a Mailchimp key (32 hex characters, a dash and "
                            "the data centre, e.g. …-us6); copy it again from Mailchimp › Account › Extras › "
                            "API keys")
    config = {"api_key": key, "server": match.group("dc"), "timeout": REQUEST_TIMEOUT}
    client = mailchimp_marketing.Client(config)
    client.api_client = _HeaderClient(config)
    for api in vars(client).values():  # every API object holds the client it was made with
        if hasattr(api, "api_client"):
            api.api_client = client.api_client
    if api_url:
        client.api_client.host = api_url.rstrip("/")
    return client


def _detail(exc: ApiClientError) -> str:
    try:
        body = json.loads(exc.text) if isinstance(exc.text, str) else exc.text
    except ValueError:
        return str(exc.text)[:200]
    if isinstance(body, dict):
        return f"{body.get('title', '')}: {body.get('detail', '')}".strip(": ")
    return str(body)[:200]


def classify(exc: Exception, client: mailchimp_marketing.Client | None = None) -> ConnectorError:
    """Map a client exception onto the connector errors; anything unknown is re-raised."""
    if not isinstance(exc, ApiClientError):
        raise exc
    status = exc.status_code
    retry_after = client.api_client.retry_after() if client is not None and \
        isinstance(client.api_client, _HeaderClient) else None
    if status is None:  # the request never got an answer (connection refused, reset, timeout)
        return TransientError(f"Mailchimp unreachable: {exc.text}")
    if status == 429:
        return TransientError(f"Mailchimp rate limit (429): {_detail(exc)}", retry_after)
    if status >= 500:
        return TransientError(f"Mailchimp server error ({status}): {_detail(exc)}", retry_after)
    if status == 401:
        return PermanentError("Mailchimp rejected MAILCHIMP_API_KEY (401: " + _detail(exc) + "); check the key and "
                              "its data-centre suffix in Mailchimp › Account › Extras › API keys")
    if status == 403:
        return AccessDenied(f"the Mailchimp key may not read this (403: {_detail(exc)}); use a key of a user "
                            "with Manager access or above")
    if status == 404:
        return AccessDenied(f"Mailchimp has no such resource (404: {_detail(exc)})", status=404)
    return PermanentError(f"Mailchimp refused the request ({status}: {_detail(exc)})")
