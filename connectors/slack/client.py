"""Slack's Web API through the official `slack_sdk` client: post, thread, edit, upload, and find what was posted.

Retries: a 429 is retried by the SDK's own `RateLimitErrorRetryHandler`, which honours Retry-After (Slack did
not take the message). Nothing else that creates a message is retried here: after a dropped connection or a
5xx, Slack may have posted it, so the caller looks it up (`find_message`, `find_file`) before trying again.
Reads and edits, which are safe to repeat, also retry connection and server errors.
"""

from __future__ import annotations

import http.client
import re
import urllib.error
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from connectors.errors import ConnectorError, PermanentError, TransientError

T = TypeVar("T")
TIMEOUT = 30
RATE_LIMIT_RETRIES = 3
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")

# what Slack's error codes mean for us: the setup is wrong (stop delivering, fix it), or this message is (drop it)
SETUP_ERRORS = {
    "not_authed": "SLACK_BOT_TOKEN is missing from the request",
    "invalid_auth": "SLACK_BOT_TOKEN is not a valid token: copy the Bot User OAuth Token (xoxb-…) of the app",
    "token_revoked": "SLACK_BOT_TOKEN was revoked: reinstall the app and copy its new token",
    "token_expired": "SLACK_BOT_TOKEN expired: reinstall the app and copy its new token",
    "account_inactive": "the Slack app's account is inactive: reinstall the app",
    "missing_scope": "the Slack app lacks a scope: add chat:write, files:write, channels:history, channels:read "
                     "(and groups:* for a private channel) and reinstall it",
    "channel_not_found": "SLACK_CHANNEL (or a journey's slack_channel) names no channel this app can see: use the "
                         "channel ID (channel details › bottom) or invite the app",
    "not_in_channel": "the app is not in the channel: /invite @<app> in it",
    "is_archived": "the channel is archived: unarchive it or choose another",
    "restricted_action": "the workspace does not let this app post there",
}
MESSAGE_ERRORS = {"invalid_blocks", "invalid_blocks_format", "msg_too_long", "no_text", "invalid_metadata_format",
                  "invalid_metadata_schema", "metadata_too_large", "invalid_arguments", "message_not_found",
                  "cant_update_message", "thread_not_found", "invalid_thread_ts"}


class MessageRejected(PermanentError):
    """Slack refused this message itself (too long, bad blocks): sending it again cannot help."""


def _classify(exc: Exception) -> ConnectorError:
    """What a failed call means; the token never appears in a message."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = int(response.status_code)
        code = str(response.get("error") or "") if isinstance(response.data, dict) else ""
        if status == 429 or code == "ratelimited":
            after = response.headers.get("Retry-After") or response.headers.get("retry-after")
            return TransientError("Slack is rate limiting this app", float(after) if after else None)
        if code in SETUP_ERRORS:
            return PermanentError(f"Slack said {code}: {SETUP_ERRORS[code]}")
        if code in MESSAGE_ERRORS:
            details = "; ".join(str(e) for e in (response.get("errors") or [])[:3])
            return MessageRejected(f"Slack refused the message: {code}" + (f" ({details})" if details else ""))
        return TransientError(f"Slack answered HTTP {status}" + (f" ({code})" if code else ""))
    if isinstance(exc, urllib.error.URLError | http.client.HTTPException | OSError | SlackClientError):
        return TransientError(f"no answer from Slack: {type(exc).__name__}: {exc}")
    raise exc


def _call(call: Callable[[], T]) -> T:
    try:
        return call()
    except ConnectorError:
        raise
    except Exception as exc:  # _classify re-raises what it does not know
        raise _classify(exc) from exc


class SlackClient:
    """The calls delivery needs, on two `WebClient`s: one that only retries rate limits (anything that creates
    a message), one that also retries connection and server errors (reads and edits)."""

    def __init__(self, token: str, base_url: str | None = None, timeout: int = TIMEOUT,
                 rate_limit_retries: int = RATE_LIMIT_RETRIES) -> None:
        if not token.startswith("xoxb-"):
            raise PermanentError("SLACK_BOT_TOKEN is not a bot token (it starts with xoxb-): copy the Bot User "
                                 "OAuth Token from the app's OAuth & Permissions page")
        base = base_url or WebClient.BASE_URL
        base = base if base.endswith("/") else base + "/"  # the SDK joins method names onto it with urljoin
        limited = RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries)
        self._writes = WebClient(token, base_url=base, timeout=timeout, retry_handlers=[limited])
        self._reads = WebClient(token, base_url=base, timeout=timeout, retry_handlers=[
            limited, ConnectionErrorRetryHandler(max_retry_count=2), ServerErrorRetryHandler(max_retry_count=2)])
        self._channels: dict[str, str] = {}

    def channel_id(self, channel: str) -> str:
        """The ID of a channel given by ID, name or #name (names need channels:read)."""
        name = channel.lstrip("#")
        if CHANNEL_ID.match(name):
            return name
        if name not in self._channels:
            for page in _pages(lambda cursor: self._reads.conversations_list(
                    types="public_channel,private_channel", exclude_archived=True, limit=200, cursor=cursor)):
                for c in page.get("channels", []):
                    self._channels[str(c["name"])] = str(c["id"])
            if name not in self._channels:
                raise PermanentError(f"Slack said channel_not_found: {SETUP_ERRORS['channel_not_found']} "
                                     f"(looked for #{name})")
        return self._channels[name]

    def post(self, channel: str, message: Mapping[str, Any], thread_ts: str | None = None) -> str:
        """Post a message (a reply when `thread_ts`); returns its ts."""
        answer = _call(lambda: self._writes.chat_postMessage(channel=channel, thread_ts=thread_ts,
                                                             unfurl_links=False, unfurl_media=False, **message))
        return str(answer["ts"])

    def update(self, channel: str, ts: str, message: Mapping[str, Any]) -> None:
        """Edit a posted message in place (repeating an edit changes nothing, so it is retried freely)."""
        _call(lambda: self._reads.chat_update(channel=channel, ts=ts, **message))

    def upload(self, channel: str, content: bytes, filename: str, title: str, comment: str,
               thread_ts: str | None = None) -> str:
        """Upload a file into the channel (a thread when `thread_ts`) with Slack's external upload; its id."""
        answer = _call(lambda: self._writes.files_upload_v2(channel=channel, file=content, filename=filename,
                                                            title=title, initial_comment=comment,
                                                            thread_ts=thread_ts))
        shared = answer.get("file") or (answer.get("files") or [{}])[0]
        return str(shared.get("id", ""))

    def find_message(self, channel: str, key: str, oldest: float, thread_ts: str | None = None) -> str | None:
        """The ts of a message posted since `oldest` (epoch seconds) whose metadata carries `key`, if any."""
        def page(cursor: str | None) -> Any:
            if thread_ts:
                return self._reads.conversations_replies(channel=channel, ts=thread_ts, oldest=f"{oldest:.6f}",
                                                         include_all_metadata=True, limit=200, cursor=cursor)
            return self._reads.conversations_history(channel=channel, oldest=f"{oldest:.6f}",
                                                     include_all_metadata=True, limit=200, cursor=cursor)
        for answer in _pages(page):
            for m in answer.get("messages", []):
                if ((m.get("metadata") or {}).get("event_payload") or {}).get("message_key") == key:
                    return str(m["ts"])
        return None

    def find_file(self, channel: str, filename: str, oldest: float) -> str | None:
        """The id of a file named `filename` shared into the channel since `oldest`, if any."""
        for answer in _pages(lambda cursor: self._reads.files_list(channel=channel, ts_from=str(int(oldest)),
                                                                   count=100, cursor=cursor)):
            for f in answer.get("files", []):
                if f.get("name") == filename:
                    return str(f["id"])
        return None


def _pages(fetch: Callable[[str | None], Any]) -> Iterator[Any]:
    """Every page of a cursor-paged read; a cursor that comes back twice is an error, not a loop."""
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        answer = _call(lambda at=cursor: fetch(at))  # type: ignore[misc]
        yield answer
        cursor = ((answer.get("response_metadata") or {}).get("next_cursor") or "") or None
        if not cursor:
            return
        if cursor in seen:
            raise TransientError("Slack returned the same page cursor twice")
        seen.add(cursor)
