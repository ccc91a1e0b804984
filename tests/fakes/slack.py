"""A local HTTP server speaking the Slack Web API wire format, for tests that drive the official `slack_sdk`.

    with FakeSlack() as fake:
        client = WebClient(fake.token, base_url=fake.url)  # fake.url is "http://127.0.0.1:PORT/api/"
        answer = client.chat_postMessage(channel="#journey-alerts", text="Checkout drop-off rose 12%")
        client.files_upload_v2(channel=fake.channel_id, thread_ts=answer["ts"], content=b"a,b\\n", filename="x.csv")
        assert fake.replies(fake.channel_id, answer["ts"])[0]["files"][0]["name"] == "x.csv"

Methods (POST or GET; query string, form or JSON bodies): auth.test, chat.postMessage, chat.update,
conversations.history, conversations.replies, conversations.list, files.getUploadURLExternal,
files.completeUploadExternal, files.list, files.info; plus the upload URL the fake hands out (raw bytes, no auth)
(`url_private` links point at the fake but are not served).

Like Slack, errors are HTTP 200 with `{"ok": false, "error": ...}`; block violations come back as `invalid_blocks`
with one "<message> [json-pointer:/blocks/...]" per violation in `errors` and `response_metadata.messages`.
chat.* methods take a channel ID, name or #name; conversations.* and files.* take IDs only, as Slack's do.

How slack_sdk 3.x sends and receives, which the fake relies on rather than hides:
- Writes (chat.postMessage, chat.update) are JSON bodies (`blocks` a list, `metadata` an object, booleans JSON);
  everything else is form-encoded with booleans as "1"/"0" (`files.completeUploadExternal` sends `files` as a
  JSON string). A call without arguments (auth.test) is an empty body labelled application/json. Always POST.
- The token travels as `Authorization: Bearer`; a `token` argument is moved into that header by the SDK.
- Any non-200 answer becomes `SlackApiError` (`response.status_code` holds it); a non-JSON body (a 5xx here) gets
  `response["error"]` "Received a response in a non-JSON format: ...".
- `RateLimitErrorRetryHandler` sleeps int(Retry-After) + random() seconds, so Retry-After must be whole seconds.
- The default handlers retry a connection error once: a dropped answer to chat.postMessage is posted twice.
- The upload POST goes through bare urllib: a non-2xx answer there raises `urllib.error.HTTPError`, not
  `SlackApiError`, and is never retried.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import hmac
import itertools
import json
import mimetypes
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.serving import LocalHandler, LocalServer, Serving

__all__ = ["DEFAULT_CHANNEL", "DEFAULT_TOKEN", "UPLOAD", "FakeFile", "FakeSlack", "SlackRequest"]

DEFAULT_TOKEN = "xoxb-1000000001-2000000002-journeymapfaketoken"
DEFAULT_CHANNEL = ("C0JOURNEY1", "journey-alerts")
TEAM_ID, BOT_USER_ID, BOT_ID, APP_ID = "T0JOURNEY1", "U0JOURNEY1", "B0JOURNEY1", "A0JOURNEY1"
HUMAN_USER_ID = "U0HUMAN001"
UPLOAD = "upload"  # the method name of the upload POST in `requests`, fail_next and drop_next
MAX_TEXT, MAX_BLOCKS = 40_000, 50
MessageHook = Callable[[str, str, dict[str, Any]], None]  # (event, channel id, message as the API renders it)
_TS = re.compile(r"\d+\.\d+")
_EVENT_TYPE = re.compile(r"[A-Za-z0-9_]+")
_TEXT_TYPES = ("plain_text", "mrkdwn")


class SlackError(Exception):
    """An `{"ok": false}` answer: the error code and any extra fields."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error, self.extra = error, extra

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, **self.extra}


def _invalid_blocks(errors: list[str]) -> SlackError:
    return SlackError("invalid_blocks", errors=errors, response_metadata={"messages": [f"[ERROR] {e}" for e in errors]})


# --- Block Kit limits ---------------------------------------------------------------------------------------------
def _too_long(value: Any, limit: int, pointer: str) -> list[str]:
    if isinstance(value, str) and len(value) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{pointer}]"]
    return []


def _too_many(items: list[Any], limit: int, pointer: str) -> list[str]:
    return [f"no more than {limit} items allowed [json-pointer:{pointer}]"] if len(items) > limit else []


def _text_object(obj: Any, pointer: str, limit: int, types: tuple[str, ...] = _TEXT_TYPES) -> list[str]:
    if not isinstance(obj, dict):
        return [f"must provide an object [json-pointer:{pointer}]"]
    errors = [] if obj.get("type") in types else [f"must be a valid enum value [json-pointer:{pointer}/type]"]
    text = obj.get("text")
    if not isinstance(text, str):
        return [*errors, f"must provide a string [json-pointer:{pointer}/text]"]
    if not text:
        return [*errors, f"must be more than 0 characters [json-pointer:{pointer}/text]"]
    return errors + _too_long(text, limit, f"{pointer}/text")


def _listed(block: dict[str, Any], key: str, p: str, limit: int, check: Callable[[Any, str], list[str]]) -> list[str]:
    """At most `limit` items under `key`, each passing `check`."""
    items = block.get(key)
    if not isinstance(items, list):
        return [f"must provide an array [json-pointer:{p}/{key}]"]
    errors = _too_many(items, limit, f"{p}/{key}")
    for i, item in enumerate(items):
        errors += check(item, f"{p}/{key}/{i}")
    return errors


def _element(element: Any, pointer: str) -> list[str]:
    """An interactive element: any element's action_id, a button's text, url and value."""
    if not isinstance(element, dict):
        return [f"must provide an object [json-pointer:{pointer}]"]
    errors = _too_long(element.get("action_id"), 255, f"{pointer}/action_id")
    if element.get("type") == "button":
        errors += _text_object(element.get("text"), f"{pointer}/text", 75, ("plain_text",))
        errors += _too_long(element.get("url"), 3000, f"{pointer}/url") + _too_long(element.get("value"), 2000,
                                                                                       f"{pointer}/value")
    return errors


def _context_element(element: Any, pointer: str) -> list[str]:
    is_text = isinstance(element, dict) and element.get("type") in _TEXT_TYPES
    return _text_object(element, pointer, 3000) if is_text else []


def _section(block: dict[str, Any], p: str) -> list[str]:
    if "text" not in block and "fields" not in block:
        return [f"must define either `text` or `fields` [json-pointer:{p}/type]"]
    errors = _text_object(block["text"], f"{p}/text", 3000) if "text" in block else []
    if "fields" in block:
        errors += _listed(block, "fields", p, 10, lambda item, q: _text_object(item, q, 2000))
    return errors + (_element(block["accessory"], f"{p}/accessory") if "accessory" in block else [])


_BLOCK_CHECKS: dict[str, Callable[[dict[str, Any], str], list[str]]] = {
    "section": _section,
    "header": lambda block, p: _text_object(block.get("text"), f"{p}/text", 150, ("plain_text",)),
    "context": lambda block, p: _listed(block, "elements", p, 10, _context_element),
    "actions": lambda block, p: _listed(block, "elements", p, 25, _element),
    **dict.fromkeys(("divider", "image", "rich_text", "markdown", "file", "video", "input"), lambda block, p: []),
}


def block_errors(blocks: list[Any]) -> list[str]:
    """Every violation of Slack's message block limits, each as "<message> [json-pointer:<where>]"."""
    errors = _too_many(blocks, MAX_BLOCKS, "/blocks")
    for i, block in enumerate(blocks):
        pointer = f"/blocks/{i}"
        if not isinstance(block, dict):
            errors.append(f"must provide an object [json-pointer:{pointer}]")
            continue
        check = _BLOCK_CHECKS.get(str(block.get("type")))
        if check is None:
            errors.append(f"unsupported type: {block.get('type')} [json-pointer:{pointer}/type]")
            continue
        errors += _too_long(block.get("block_id"), 255, f"{pointer}/block_id") + check(block, pointer)
    return errors


# --- request arguments and time -----------------------------------------------------------------------------------
class Params:
    """A call's arguments: form values are strings, JSON values keep their types."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        return None if value is None or value == "" else str(value)

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        return value is True or str(value).lower() in ("1", "true")

    def integer(self, name: str, default: int) -> int:
        value = self.text(name)
        try:
            return default if value is None else int(value)
        except ValueError:
            raise SlackError("invalid_arguments") from None

    def structured(self, name: str, error: str) -> Any:
        """A JSON argument, given as JSON or as a JSON-encoded string (form bodies); None if absent."""
        value = self.values.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value) if value.strip() else None
            except ValueError:
                raise SlackError(error) from None
        return value


def parse_params(query: str, content_type: str, body: bytes) -> dict[str, Any]:
    """The arguments of a call from its query string and body (form or JSON)."""
    params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    if not body.strip():
        return params
    if content_type == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError:
            raise SlackError("invalid_json") from None
        if not isinstance(decoded, dict):
            raise SlackError("json_not_object")
        return params | decoded
    try:
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        raise SlackError("invalid_form_data") from None
    return params | {k: v[-1] for k, v in form.items()}


def ts_micros(ts: str) -> int:
    """A message ts ("1763856000.000100") as integer microseconds."""
    seconds, _, fraction = ts.partition(".")
    return int(seconds) * 1_000_000 + int((fraction + "000000")[:6])


def _bound(params: Params, name: str, error: str | None = None) -> int | None:
    """`oldest` / `latest` / `ts_from` / `ts_to` (epoch seconds, any precision) as microseconds."""
    value = params.text(name)
    try:
        return None if value is None else int(Decimal(value) * 1_000_000)
    except InvalidOperation:
        raise SlackError(error or f"invalid_ts_{name}") from None


def _cursor(micros: int) -> str:
    return base64.b64encode(f"next_ts:{micros}".encode()).decode()


def _from_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        kind, _, micros = base64.b64decode(cursor, validate=True).decode().partition(":")
        if kind != "next_ts":
            raise ValueError(kind)
        return int(micros)
    except ValueError:
        raise SlackError("invalid_cursor") from None


def _page(items: list[Any], key: Callable[[Any], int], params: Params, default: int, most: int,
          descending: bool) -> tuple[list[Any], dict[str, Any]]:
    """A cursor page of `items` (sorted by `key`); the cursor names the first item of the next page."""
    start = _from_cursor(params.text("cursor"))
    if start is not None:
        items = [i for i in items if (key(i) <= start if descending else key(i) >= start)]
    limit = params.integer("limit", default)
    limit = default if limit < 1 else min(limit, most)
    page, rest = items[:limit], items[limit:]
    more: dict[str, Any] = {"response_metadata": {"next_cursor": _cursor(key(rest[0]))}} if rest else {}
    return page, {"has_more": bool(rest), **more}


# --- records ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SlackRequest:
    """One request as the fake saw it: `params` without the token; `status` None when the answer was dropped."""

    method: str
    params: dict[str, Any]
    status: int | None
    error: str | None = None


@dataclass(slots=True)
class FakeFile:
    """A file from files.getUploadURLExternal on; `data` None until uploaded, shares as (channel, ts, thread)."""

    id: str
    name: str
    title: str
    length: int
    created: int
    data: bytes | None = None
    completed: bool = False
    shares: list[tuple[str, str, str | None]] = field(default_factory=list)
    key: str = ""

    @property
    def channel(self) -> str | None:
        return self.shares[0][0] if self.shares else None

    @property
    def thread_ts(self) -> str | None:
        return self.shares[0][2] if self.shares else None


@dataclass(slots=True)
class _Message:
    channel: str
    ts: str
    user: str
    text: str = ""
    blocks: list[Any] = field(default_factory=list)
    metadata: dict[str, Any] | None = None
    thread_ts: str | None = None  # a reply's parent
    replies: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    edited: str | None = None


@dataclass(frozen=True, slots=True)
class _Fault:
    status: int | None  # None: process the request, then drop the connection without answering
    retry_after: int | None = None


@dataclass(slots=True)
class _Answer:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def _json(status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> _Answer:
    return _Answer(status, json.dumps(payload).encode(), headers=headers or {})


def _metadata(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not (isinstance(value, dict) and isinstance(value.get("event_type"), str)
            and _EVENT_TYPE.fullmatch(value["event_type"]) and isinstance(value.get("event_payload"), dict)):
        raise SlackError("invalid_metadata_format")
    return {"event_type": value["event_type"], "event_payload": copy.deepcopy(value["event_payload"])}


def _with_block_ids(blocks: list[Any], seed: str) -> list[Any]:
    """A copy of the blocks; each without a block_id gets one, as Slack assigns them."""
    out = copy.deepcopy(blocks)
    for i, block in enumerate(out):
        if isinstance(block, dict) and not block.get("block_id"):
            block["block_id"] = base64.b64encode(hashlib.sha1(f"{seed}/{i}".encode()).digest()).decode()[:5]
    return out


# --- the fake -----------------------------------------------------------------------------------------------------
class FakeSlack(Serving):
    """The fake Web API on 127.0.0.1 (a free port unless `port`), serving from a background thread.

    Attributes:
        url: the `base_url` for `WebClient` ("http://127.0.0.1:PORT/api/").
        token: the bot token it accepts; channel_id: the default channel's ID.
        requests: every request in arrival order (SlackRequest), logged before the answer is sent.
        on_message: called as (event, channel id, message) when a message is "posted", "updated" or "shared".
    """

    def __init__(self, token: str = DEFAULT_TOKEN, *, port: int = 0, clock: Callable[[], float] = time.time) -> None:
        self.token = token
        self.channel_id = DEFAULT_CHANNEL[0]
        self.requests: list[SlackRequest] = []
        self.on_message: MessageHook | None = None
        self._clock = clock
        self._lock = threading.RLock()
        self._last_ts = 0
        self._posts = 0
        self._ids = itertools.count(1)
        self._faults: dict[str, deque[_Fault]] = {}
        self._channels: dict[str, tuple[str, bool]] = {}  # id → (name, bot is a member)
        self._messages: dict[str, dict[str, _Message]] = {}  # channel id → ts → message
        self._files: dict[str, FakeFile] = {}
        self._endpoints: dict[str, Callable[[Params], dict[str, Any]]] = {
            "auth.test": self._auth_test, "chat.postMessage": self._post_message, "chat.update": self._update,
            "conversations.history": self._history, "conversations.replies": self._replies,
            "conversations.list": self._list_channels, "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload, "files.list": self._files_list,
            "files.info": self._files_info}
        self.add_channel(*DEFAULT_CHANNEL)
        self._server = _Server(self, _Handler, port)
        self.root = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.url = f"{self.root}/api/"

    # --- setup and faults (call from the test thread at any time) ---------------------------------------------------
    def add_channel(self, channel_id: str, name: str, *, member: bool = True) -> None:
        """Add (or rename) a channel; with `member` False the bot gets `not_in_channel` there."""
        with self._lock:
            self._channels[channel_id] = (name.lstrip("#"), member)
            self._messages.setdefault(channel_id, {})

    def add_message(self, channel: str, text: str, *, user: str = HUMAN_USER_ID, thread_ts: str | None = None,
                    metadata: dict[str, Any] | None = None) -> str:
        """Seed a message now (by default a person's, which the bot cannot update); returns its ts."""
        with self._lock:
            channel_id = self._channel(channel, names=True, membership=False)
            parent = self._parent(channel_id, thread_ts) if thread_ts else None
            return self._store(channel_id, user, text=text, thread_ts=parent, metadata=_metadata(metadata)).ts

    def fail_next(self, method: str, status: int = 429, retry_after: int | None = 1, times: int = 1) -> None:
        """Answer the next `times` calls of `method` ("*": any; UPLOAD: the upload POST) with `status`, unprocessed.

        429 is Slack's rate limit (`{"ok": false, "error": "ratelimited"}` and `Retry-After: retry_after`); other
        statuses get a plain-text body (and Retry-After too on a 503). Queues behind earlier faults for `method`.
        """
        whole = retry_after is None or (isinstance(retry_after, int) and retry_after >= 0)
        if not 400 <= status <= 599 or not whole:
            raise ValueError("fail_next needs a 4xx/5xx status and whole, non-negative Retry-After seconds")
        with self._lock:
            self._faults.setdefault(method, deque()).extend([_Fault(status, retry_after)] * times)

    def clear_faults(self) -> None:
        """Forget every queued failure and drop: Slack is healthy again."""
        with self._lock:
            self._faults.clear()

    def drop_next(self, method: str, times: int = 1) -> None:
        """Process the next `times` calls of `method` fully (a post is stored), then close without answering."""
        with self._lock:
            self._faults.setdefault(method, deque()).extend([_Fault(None)] * times)

    # --- inspection ---------------------------------------------------------------------------------------------------
    @property
    def channels(self) -> dict[str, str]:
        """Channel id → name."""
        with self._lock:
            return {cid: name for cid, (name, _) in self._channels.items()}

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """A channel's top-level messages (not replies), oldest first, as the API renders them with metadata."""
        with self._lock:
            channel_id = self._channel(channel or self.channel_id, names=True, membership=False)
            return [self._render(m, metadata=True) for m in self._sorted(channel_id) if m.thread_ts is None]

    def replies(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The replies to a message (without it), oldest first."""
        with self._lock:
            channel_id = self._channel(channel, names=True, membership=False)
            parent = self._messages[channel_id][ts]
            return [self._render(self._messages[channel_id][r], metadata=True) for r in parent.replies]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """Any message (a reply too) by ts, or None."""
        with self._lock:
            found = self._messages.get(self._channel(channel, names=True, membership=False), {}).get(ts)
            return None if found is None else self._render(found, metadata=True)

    @property
    def files(self) -> dict[str, FakeFile]:
        """File id → a copy of the file (uploaded bytes in `data`)."""
        with self._lock:
            return {fid: copy.deepcopy(f) for fid, f in self._files.items()}

    @property
    def posts(self) -> int:
        """How many messages chat.postMessage has stored (a dropped answer's message counts)."""
        with self._lock:
            return self._posts

    def calls(self, method: str) -> list[SlackRequest]:
        """The logged requests of one method."""
        with self._lock:
            return [r for r in self.requests if r.method == method]

    # --- request handling (server threads) ----------------------------------------------------------------------------
    def take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            for key in (method, "*"):
                if self._faults.get(key):
                    return self._faults[key].popleft()
            return None

    def answer(self, method: str, query: str, content_type: str, body: bytes, authorization: str | None,
               fault: _Fault | None) -> _Answer:
        """The answer to one request (logged before it is sent)."""
        params: dict[str, Any] = {"path": query, "length": len(body)} if method == UPLOAD else {}
        try:
            params = params or parse_params(query, content_type, body)
            if fault is not None and fault.status is not None:
                answer = _failure(fault)
            elif method == UPLOAD:
                answer = self._upload(query, body)
            else:
                answer = self._call(method, params, authorization)
        except SlackError as exc:
            answer = _json(200, exc.body())
        except Exception as exc:  # a bug in the fake: answer 500 so that the test shows it
            answer = _Answer(500, f"fake Slack failed: {exc!r}".encode(), "text/plain")
        error = json.loads(answer.body).get("error") if answer.content_type.startswith("application/json") else None
        logged = {k: v for k, v in params.items() if k != "token"}
        with self._lock:
            dropped = fault is not None and fault.status is None
            self.requests.append(SlackRequest(method, logged, None if dropped else answer.status, error))
        return answer

    def _call(self, method: str, params: dict[str, Any], authorization: str | None) -> _Answer:
        endpoint = self._endpoints.get(method)
        if endpoint is None:
            return _json(404, {"ok": False, "error": "unknown_method", "req_method": method})
        scheme, _, credential = (authorization or "").partition(" ")
        token = credential.strip() if scheme.lower() == "bearer" else params.get("token")
        if not token:
            raise SlackError("not_authed")
        if not hmac.compare_digest(str(token).encode(), self.token.encode()):
            raise SlackError("invalid_auth")
        with self._lock:
            return _json(200, {"ok": True, **endpoint(Params(params))}, {"X-Slack-Req-Id": f"{next(self._ids):x}"})

    # --- lookups and storage (callers hold the lock) ------------------------------------------------------------------
    def _channel(self, value: str | None, *, names: bool, membership: bool = True) -> str:
        """A channel ID from an ID (or, with `names`, a name or #name)."""
        found = value if value in self._channels else None
        if found is None and names and value:
            found = next((cid for cid, (name, _) in self._channels.items() if name == value.lstrip("#")), None)
        if found is None:
            raise SlackError("channel_not_found")
        if membership and not self._channels[found][1]:
            raise SlackError("not_in_channel")
        return found

    def _parent(self, channel_id: str, thread_ts: str) -> str:
        """The ts of the thread a reply with `thread_ts` joins (a reply's ts means its parent's thread)."""
        if not _TS.fullmatch(thread_ts):
            raise SlackError("invalid_thread_ts")
        found = self._messages[channel_id].get(thread_ts)
        if found is None:
            raise SlackError("thread_not_found")
        return found.thread_ts or found.ts

    def _next_ts(self) -> str:
        micros = self._last_ts = max(int(self._clock() * 1_000_000), self._last_ts + 1)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _store(self, channel_id: str, user: str, *, event: str | None = None, **fields: Any) -> _Message:
        ts = self._next_ts()
        fields["blocks"] = _with_block_ids(fields.get("blocks") or [], ts)
        msg = self._messages[channel_id][ts] = _Message(channel_id, ts, user, **fields)
        if msg.thread_ts:
            self._messages[channel_id][msg.thread_ts].replies.append(ts)
        if event is not None:
            self._notify(event, msg)
        return msg

    def _notify(self, event: str, msg: _Message) -> None:
        if self.on_message is not None:
            self.on_message(event, msg.channel, self._render(msg, metadata=True))

    def _sorted(self, channel_id: str, *, descending: bool = False) -> list[_Message]:
        return sorted(self._messages[channel_id].values(), key=lambda m: ts_micros(m.ts), reverse=descending)

    def _render(self, msg: _Message, *, metadata: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "message", "text": msg.text, "user": msg.user, "ts": msg.ts, "team": TEAM_ID}
        if msg.user == BOT_USER_ID:
            out |= {"bot_id": BOT_ID, "app_id": APP_ID}
        if msg.blocks:
            out["blocks"] = copy.deepcopy(msg.blocks)
        if msg.files:
            out |= {"files": [self._file_json(self._files[f]) for f in msg.files], "upload": True,
                    "display_as_bot": False}
        if msg.edited:
            out["edited"] = {"user": msg.user, "ts": msg.edited}
        if metadata and msg.metadata:
            out["metadata"] = copy.deepcopy(msg.metadata)
        if msg.thread_ts:
            out |= {"thread_ts": msg.thread_ts, "parent_user_id": self._messages[msg.channel][msg.thread_ts].user}
        elif msg.replies:
            users = sorted({self._messages[msg.channel][r].user for r in msg.replies})
            out |= {"thread_ts": msg.ts, "reply_count": len(msg.replies), "reply_users_count": len(users),
                    "reply_users": users, "latest_reply": msg.replies[-1], "is_locked": False, "subscribed": False}
        return out

    def _file_json(self, f: FakeFile) -> dict[str, Any]:
        mimetype = mimetypes.guess_type(f.name)[0] or "application/octet-stream"
        filetype = f.name.rpartition(".")[2].lower() if "." in f.name else "binary"
        filetype = "text" if filetype == "txt" else filetype
        shares: dict[str, list[dict[str, Any]]] = {}
        for channel_id, ts, thread_ts in f.shares:
            share = {"ts": ts, "channel_name": self._channels[channel_id][0], "team_id": TEAM_ID,
                     "share_user_id": BOT_USER_ID, "reply_users": [], "reply_users_count": 0, "reply_count": 0}
            shares.setdefault(channel_id, []).append(share | ({"thread_ts": thread_ts} if thread_ts else {}))
        private = f"{self.root}/files-pri/{TEAM_ID}-{f.id}"
        return {"id": f.id, "created": f.created, "timestamp": f.created, "name": f.name, "title": f.title,
                "mimetype": mimetype, "filetype": filetype, "pretty_type": filetype.upper(), "user": BOT_USER_ID,
                "user_team": TEAM_ID, "size": len(f.data or b""), "mode": "hosted", "is_external": False,
                "is_public": bool(shares), "url_private": f"{private}/{f.name}",
                "url_private_download": f"{private}/download/{f.name}",
                "permalink": f"https://journeymap.slack.com/files/{BOT_USER_ID}/{f.id}/{f.name}",
                "channels": list(shares), "groups": [], "ims": [], "shares": {"public": shares} if shares else {}}

    # --- messages ---------------------------------------------------------------------------------------------------
    def _content(self, p: Params, *, require: bool = True) -> dict[str, Any]:
        """text / blocks / metadata of chat.postMessage or chat.update, checked against Slack's limits."""
        text = p.text("text") or ""
        blocks = p.structured("blocks", "invalid_blocks_format")
        if blocks is not None and not isinstance(blocks, list):
            raise SlackError("invalid_blocks_format")
        if require and not text and not blocks and not p.values.get("attachments"):
            raise SlackError("no_text")
        if len(text) > MAX_TEXT:
            raise SlackError("msg_too_long")
        if errors := block_errors(blocks or []):
            raise _invalid_blocks(errors)
        return {"text": text, "blocks": blocks or [],
                "metadata": _metadata(p.structured("metadata", "invalid_metadata_format"))}

    def _auth_test(self, p: Params) -> dict[str, Any]:
        return {"url": "https://journeymap.slack.com/", "team": "Journeymap", "user": "journeymap",
                "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False}

    def _post_message(self, p: Params) -> dict[str, Any]:
        channel_id = self._channel(p.text("channel"), names=True)
        content = self._content(p)
        thread_ts = p.text("thread_ts")
        parent = self._parent(channel_id, thread_ts) if thread_ts else None
        msg = self._store(channel_id, BOT_USER_ID, thread_ts=parent, event="posted", **content)
        self._posts += 1
        return {"channel": channel_id, "ts": msg.ts, "message": self._render(msg, metadata=True)}

    def _update(self, p: Params) -> dict[str, Any]:
        channel_id = self._channel(p.text("channel"), names=True)
        msg = self._messages[channel_id].get(p.text("ts") or "")
        if msg is None:
            raise SlackError("message_not_found")
        if msg.user != BOT_USER_ID:
            raise SlackError("cant_update_message")
        content = self._content(p, require=not msg.files)
        msg.text, msg.edited = content["text"], self._next_ts()
        msg.blocks = _with_block_ids(content["blocks"], msg.edited)
        msg.metadata = content["metadata"] or msg.metadata
        self._notify("updated", msg)
        return {"channel": channel_id, "ts": msg.ts, "text": msg.text, "message": self._render(msg, metadata=True)}

    def _window(self, p: Params, messages: Iterable[_Message]) -> list[_Message]:
        """The messages between `oldest` and `latest` (exclusive unless `inclusive`)."""
        low, high, edge = _bound(p, "oldest"), _bound(p, "latest"), int(not p.flag("inclusive"))
        return [m for m in messages if (low is None or ts_micros(m.ts) >= low + edge)
                and (high is None or ts_micros(m.ts) <= high - edge)]

    def _history(self, p: Params) -> dict[str, Any]:
        """Top-level messages (thread parents, not replies), newest first; metadata only with include_all_metadata."""
        channel_id = self._channel(p.text("channel"), names=False)
        visible = [m for m in self._sorted(channel_id, descending=True) if m.thread_ts is None]
        page, more = _page(self._window(p, visible), lambda m: ts_micros(m.ts), p, 100, 999, descending=True)
        return {"messages": [self._render(m, metadata=p.flag("include_all_metadata")) for m in page], **more,
                "pin_count": 0, "channel_actions_ts": None, "channel_actions_count": 0}

    def _replies(self, p: Params) -> dict[str, Any]:
        """The parent (first, on the first page, whatever the window), then its replies oldest first."""
        channel_id = self._channel(p.text("channel"), names=False)
        ts = p.text("ts")
        if ts is None:
            raise SlackError("invalid_arguments")
        msg = self._messages[channel_id].get(ts)
        if msg is None:
            raise SlackError("thread_not_found")
        if msg.thread_ts:  # a reply's ts: Slack answers with just that reply
            return {"messages": [self._render(msg, metadata=p.flag("include_all_metadata"))], "has_more": False}
        replies = self._window(p, (self._messages[channel_id][r] for r in msg.replies))
        if p.text("cursor") is None:
            replies = [msg, *replies]
        page, more = _page(replies, lambda m: ts_micros(m.ts), p, 1000, 1000, descending=False)
        return {"messages": [self._render(m, metadata=p.flag("include_all_metadata")) for m in page], **more}

    def _list_channels(self, p: Params) -> dict[str, Any]:
        """Public channels by ID (the page cursor is an offset); next_cursor "" on the last page."""
        items = sorted(self._channels.items())
        offset = _from_cursor(p.text("cursor")) or 0
        limit = min(max(p.integer("limit", 100), 1), 1000)
        page = items[offset:offset + limit]
        channels = [{"id": cid, "name": name, "is_channel": True, "is_private": False, "is_archived": False,
                     "is_member": member} for cid, (name, member) in page]
        following = _cursor(offset + limit) if offset + limit < len(items) else ""
        return {"channels": channels, "response_metadata": {"next_cursor": following}}

    # --- files --------------------------------------------------------------------------------------------------------
    def _upload_url(self, p: Params) -> dict[str, Any]:
        filename, length = p.text("filename"), p.integer("length", 0)
        if filename is None or length <= 0:
            raise SlackError("invalid_arguments" if filename is None else "missing_argument")
        n = next(self._ids)
        f = FakeFile(f"F0J{n:08d}", filename, filename, length, int(self._clock()),
                     key=hashlib.sha1(f"{self.root}/{n}".encode()).hexdigest())
        self._files[f.id] = f
        return {"upload_url": f"{self.root}/upload/v1/{f.key}", "file_id": f.id}

    def _upload(self, path: str, body: bytes) -> _Answer:
        with self._lock:
            f = next((f for f in self._files.values() if path == f"/upload/v1/{f.key}"), None)
            if f is None:
                return _Answer(404, b"Not Found", "text/plain")
            if len(body) != f.length:
                return _Answer(400, f"length mismatch: expected {f.length} bytes, got {len(body)}".encode(),
                               "text/plain")
            f.data = body
            return _Answer(200, f"OK - {len(body)}".encode(), "text/plain")

    def _complete_upload(self, p: Params) -> dict[str, Any]:
        """Completes uploaded files and shares them (one message per channel) with initial_comment as its text."""
        items = p.structured("files", "invalid_arguments")
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) and i.get("id") for i in items):
            raise SlackError("invalid_arguments")
        files = [self._files.get(str(item["id"])) for item in items]
        if any(f is None or f.data is None for f in files):
            raise SlackError("file_not_found")
        ready = [f for f in files if f is not None]
        wanted = [p.text("channel_id"), *(p.text("channels") or "").split(",")]
        targets = list(dict.fromkeys(self._channel(c, names=False) for c in wanted if c))
        thread_ts = p.text("thread_ts")
        if thread_ts and len(targets) != 1:
            raise SlackError("invalid_arguments")
        parent = self._parent(targets[0], thread_ts) if thread_ts else None
        comment = p.text("initial_comment")
        blocks = None if comment else p.structured("blocks", "invalid_blocks_format")
        if blocks is not None and not isinstance(blocks, list):
            raise SlackError("invalid_blocks_format")
        if errors := block_errors(blocks or []):
            raise _invalid_blocks(errors)
        for f, item in zip(ready, items, strict=True):
            f.title, f.completed = str(item.get("title") or f.title), True
        for channel_id in targets:
            msg = self._store(channel_id, BOT_USER_ID, text=comment or "", blocks=blocks, thread_ts=parent,
                              files=[f.id for f in ready])
            for f in ready:
                f.shares.append((channel_id, msg.ts, parent))
            self._notify("shared", msg)
        return {"files": [self._file_json(f) for f in ready]}

    def _files_list(self, p: Params) -> dict[str, Any]:
        """Completed files, newest first; `count`/`page` paging, or `limit`/`cursor` paging when either is given."""
        channel = p.text("channel")
        channel_id = self._channel(channel, names=False) if channel else None
        since = _bound(p, "ts_from", "invalid_arguments") or 0
        until = _bound(p, "ts_to", "invalid_arguments") or 2**63
        types = set((p.text("types") or "all").split(","))
        items = [f for f in self._files.values() if f.completed and since <= f.created * 1_000_000 <= until
                 and (channel_id is None or any(s[0] == channel_id for s in f.shares)) and _of_types(f, types)]
        items.sort(key=lambda f: int(f.id[3:]), reverse=True)  # ids count up as files are created
        if p.text("cursor") or p.text("limit"):
            page, more = _page(items, lambda f: int(f.id[3:]), p, 100, 1000, descending=True)
            return {"files": [self._file_json(f) for f in page], **more}
        count, number = max(p.integer("count", 100), 1), max(p.integer("page", 1), 1)
        chunk = items[(number - 1) * count:number * count]
        return {"files": [self._file_json(f) for f in chunk],
                "paging": {"count": count, "total": len(items), "page": number, "pages": -(-len(items) // count)}}

    def _files_info(self, p: Params) -> dict[str, Any]:
        f = self._files.get(p.text("file") or "")
        if f is None or not f.completed:
            raise SlackError("file_not_found")
        return {"file": self._file_json(f), "comments": [], "response_metadata": {"next_cursor": ""}}


def _of_types(f: FakeFile, types: set[str]) -> bool:
    mimetype = mimetypes.guess_type(f.name)[0] or ""
    kinds = {"all", "images" if mimetype.startswith("image/") else "", "pdfs" if f.name.endswith(".pdf") else "",
             "zips" if f.name.endswith(".zip") else "", "snippets" if mimetype.startswith("text/") else ""}
    return bool(types & kinds)


def _failure(fault: _Fault) -> _Answer:
    status = fault.status or 500
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None and status in (429, 503) else {}
    if status == 429:
        return _json(429, {"ok": False, "error": "ratelimited"}, headers)
    phrase = next((known.phrase for known in HTTPStatus if known == status), "Error")
    return _Answer(status, f"{status} {phrase}".encode(), "text/plain", headers)


# --- HTTP ---------------------------------------------------------------------------------------------------------
class _Handler(LocalHandler):
    """/api/<method> and the upload URLs; a dropped request gets no status line at all."""

    server: _Server

    def _handle(self) -> None:
        fake = self.server.fake
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urlsplit(self.path)
        if url.path.startswith("/api/"):
            method, query = url.path.removeprefix("/api/"), url.query
        elif url.path.startswith("/upload/v1/"):
            method, query = UPLOAD, url.path
        else:
            self.send_error(404)
            return
        fault = fake.take_fault(method)
        answer = fake.answer(method, query, self.headers.get_content_type(), body, self.headers.get("Authorization"),
                             fault)
        if fault is not None and fault.status is None:
            self.close_connection = True
            return
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)


class _Server(LocalServer):
    fake: FakeSlack

    def __init__(self, fake: FakeSlack, handler: type[_Handler], port: int) -> None:
        self._port = port
        super().__init__(fake, handler)

    def server_bind(self) -> None:
        self.server_address = ("127.0.0.1", self._port)
        super().server_bind()


# --- standalone ---------------------------------------------------------------------------------------------------
def describe(event: str, channel: str, message: dict[str, Any], name: str = "") -> str:
    """One received message for a person watching: where, which thread, how many blocks, then its text."""
    thread = message.get("thread_ts") if message.get("thread_ts") != message["ts"] else None
    files = ", ".join(f["name"] for f in message.get("files", []))
    head = (f"{time.strftime('%H:%M:%S')} {event} #{name or channel} ({channel}) ts={message['ts']}"
            f" thread={thread or '-'} blocks={len(message.get('blocks', []))}" + (f" files={files}" if files else ""))
    text = message.get("text", "")
    return head + "".join(f"\n    {line}" for line in (text[:2000] + ("…" if len(text) > 2000 else "")).splitlines())


def main(argv: list[str] | None = None) -> None:
    """Serve in the foreground and print every message the product posts, updates or shares."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.slack", description=main.__doc__)
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the bot token to accept")
    parser.add_argument("--channel", action="append", default=[], metavar="ID=NAME", help="another channel")
    args = parser.parse_args(argv)
    fake = FakeSlack(args.token, port=args.port)
    for spec in args.channel:
        channel_id, _, name = spec.partition("=")
        fake.add_channel(channel_id, name or channel_id)
    names = fake.channels
    fake.on_message = lambda event, channel, message: print(describe(event, channel, message, names.get(channel, "")),
                                                            flush=True)
    print(f"SLACK_BOT_TOKEN={fake.token}\nSLACK_API_URL={fake.url}", flush=True)
    print("channels: " + ", ".join(f"#{n} ({cid})" for cid, n in names.items()) + "\n(Ctrl-C stops)", flush=True)
    fake.start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
