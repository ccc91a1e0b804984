"""A local HTTP server speaking the Mailchimp Marketing API 3.0 wire format, for tests that drive the official client.

    with FakeMailchimp() as fake:
        fake.add_list("a1b2c3d4e5", "Newsletter")
        fake.add_campaign(FakeCampaign("c0ffee0001", "Welcome", "regular", "a1b2c3d4e5", send_time))
        fake.add_activity([FakeActivity("c0ffee0001", "ann@example.com", "sent", send_time), ...])
        client = mailchimp_marketing.Client()
        client.set_config({"api_key": fake.api_key, "server": fake.server})
        client.api_client.host = fake.url
        client.reports.get_email_activity_for_campaign("c0ffee0001", count=1000)

Read-only endpoints (GET) under /3.0: ping, lists (+ growth history), campaigns, automations (+ their emails),
reports (+ email-activity, sent-to, unsubscribed). Authentication is HTTP Basic with any user name and the API
key as the password. Every error is a problem-JSON body (`application/problem+json`) like Mailchimp's. `fields`
and `exclude_fields` (comma-separated dotted paths) select parts of any answer.

Activity rows are kept per campaign as numpy columns (recipient number, action code, epoch second), so a million
rows (`bulk`) load in well under a second and every answer is computed from them on the fly.

How the official client (3.0.80) behaves, which this fake reproduces rather than hides:
- HTTP errors raise `mailchimp_marketing.api_client.ApiClientError` with `.status_code` and `.text` only; `.text`
  is the raw problem-JSON string (its content type is not "application/json", so it is not parsed) and
  `str(exc)` is "". Transport failures raise the same class with `.status_code` None and the requests exception
  as `.text`. Response headers (Retry-After) are not exposed: wrap `client.api_client.request`, which returns
  the `requests.Response`.
- `fields` / `exclude_fields` must be lists: the client csv-joins them, so a plain string is split into
  characters. An empty JSON object (e.g. nothing selected) makes the client return the bare `requests.Response`.
- `count` above 1000 raises ValueError in the client before any request; `_request_timeout` is ignored (use
  `set_config({"timeout": ...})`, which also resets the key); the client never retries.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np
import numpy.typing as npt

from tests.fakes.serving import LocalHandler, LocalServer, Serving

__all__ = ["ACTIONS", "BULK_START", "ERROR_TYPE", "FakeActivity", "FakeCampaign", "FakeMailchimp", "LoggedRequest"]

ACTIONS = ("sent", "open", "click", "bounce", "unsub")
SENT, OPEN, CLICK, BOUNCE, UNSUB = range(len(ACTIONS))
_CODES = {name: code for code, name in enumerate(ACTIONS)}
BULK_START = datetime(2026, 9, 1, 8, tzinfo=UTC)
DEFAULT_KEY = "0123456789abcdef0123456789abcdef-us6"
ERROR_TYPE = "https://mailchimp.com/developer/marketing/docs/errors/"
MAX_COUNT = 1000
FROM_NAME, REPLY_TO = "Journeymap", "news@example.com"

# status → (title, detail) of Mailchimp's problem-JSON error bodies.
ERRORS: dict[int, tuple[str, str]] = {
    400: ("Invalid Resource",
          "The resource submitted could not be validated. For field-specific details, see the 'errors' array."),
    401: ("API Key Invalid", "Your API key may be invalid, or you've attempted to access the wrong datacenter."),
    403: ("Forbidden", "The API key provided is linked to a different datacenter or lacks permission."),
    404: ("Resource Not Found", "The requested resource could not be found."),
    405: ("Method Not Allowed", "The requested method and resource are not compatible. See the Allow header for "
                                "this resource's available methods."),
    429: ("Too Many Requests", "You have exceeded the limit of 10 simultaneous connections."),
    500: ("Internal Server Error",
          "An unexpected internal error has occurred. Please contact Support for more information."),
    503: ("Service Unavailable", "The service is temporarily unavailable. Please try again later."),
}
MISSING_KEY = ("API Key Missing", "Your request did not include an API key.")

IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
Int8Array = npt.NDArray[np.int8]


# --- public records --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FakeCampaign:
    """A campaign, or (type "automation") one email of an automation workflow at a 1-based position."""

    id: str
    title: str
    type: str  # "regular" | "automation"
    list_id: str
    send_time: datetime | None
    workflow_id: str = ""
    workflow_title: str = ""
    position: int = 0
    subject_line: str = ""


@dataclass(frozen=True)
class FakeActivity:
    """One action of one recipient on one campaign; `email` is the plain address."""

    campaign_id: str
    email: str
    action: str  # one of ACTIONS
    timestamp: datetime  # UTC (a naive value is taken as UTC)


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One request as the fake saw it (`status` None: the connection was dropped without an answer)."""

    method: str
    path: str  # e.g. "/3.0/reports/c0ffee0001/email-activity"
    query: dict[str, list[str]]
    status: int | None = None


# --- errors, query parameters, partial responses ---------------------------------------------------------------
class ApiError(Exception):
    """An error answer: status, problem-JSON title/detail, extra headers, field errors (400)."""

    def __init__(self, status: int, title: str | None = None, detail: str | None = None, *,
                 headers: dict[str, str] | None = None, errors: list[dict[str, str]] | None = None) -> None:
        default = ERRORS.get(status) or (_phrase(status), _phrase(status))
        super().__init__(f"{status} {title or default[0]}")
        self.status = status
        self.title = title or default[0]
        self.detail = detail or default[1]
        self.headers = headers or {}
        self.errors = errors

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": ERROR_TYPE, "title": self.title, "status": self.status,
                               "detail": self.detail, "instance": str(uuid.uuid4())}
        if self.errors is not None:
            out["errors"] = self.errors
        return out


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _invalid(name: str, message: str) -> ApiError:
    return ApiError(400, errors=[{"field": name, "message": message}])


class Query:
    """The query string of a request, with Mailchimp's parameter rules."""

    def __init__(self, raw: dict[str, list[str]]) -> None:
        self.raw = raw

    def text(self, name: str) -> str | None:
        values = [v for v in self.raw.get(name, []) if v.strip()]
        return values[-1].strip() if values else None

    def integer(self, name: str, default: int, maximum: int | None = None) -> int:
        text = self.text(name)
        if text is None:
            return default
        try:
            value = int(text)
        except ValueError:
            raise _invalid(name, f"Schema describes integer, {text!r} found instead") from None
        if value < 0 or (maximum is not None and value > maximum):
            bound = f"between 0 and {maximum}" if maximum is not None else "at least 0"
            raise _invalid(name, f"{name} must be {bound}")
        return value

    def paging(self) -> tuple[int, int]:
        """(count, offset): count defaults to 10 and may not exceed 1000."""
        return self.integer("count", 10, MAX_COUNT), self.integer("offset", 0)

    def time(self, name: str) -> float | None:
        """An ISO 8601 date-time as epoch seconds (naive: UTC); None if absent."""
        text = self.text(name)
        if text is None:
            return None
        # A raw "+" in a hand-built URL arrives as a space: "…T08:00:00 00:00".
        text = re.sub(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$", r"\1+\2", text)
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise _invalid(name, f"{text!r} is not a valid ISO 8601 date-time") from None
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()

    def choice(self, name: str, allowed: Iterable[str], default: str | None = None) -> str | None:
        text = self.text(name)
        if text is None:
            return default
        options = {a.lower(): a for a in allowed}
        if text.lower() not in options:
            raise _invalid(name, f"{text!r} is not one of {sorted(options.values())}")
        return options[text.lower()]

    def paths(self, name: str) -> list[str]:
        """The comma-separated dotted paths of `fields` / `exclude_fields` (repeated parameters add up)."""
        return [p.strip() for v in self.raw.get(name, []) for p in v.split(",") if p.strip()]


def _tree(paths: Iterable[str]) -> dict[str, Any]:
    """Dotted paths as a nested dict; a None leaf means "the whole value" (and wins over deeper paths)."""
    root: dict[str, Any] = {}
    for path in paths:
        node = root
        *parents, last = path.split(".")
        for part in parents:
            if part in node and node[part] is None:
                break
            node = node.setdefault(part, {})
        else:
            node[last] = None
    return root


def _include(value: Any, tree: dict[str, Any]) -> Any:
    if isinstance(value, list):
        return [_include(item, tree) for item in value]
    if not isinstance(value, dict):
        return value
    return {key: value[key] if sub is None else _include(value[key], sub) for key, sub in tree.items()
            if key in value}


def _exclude(value: Any, tree: dict[str, Any]) -> Any:
    if isinstance(value, list):
        return [_exclude(item, tree) for item in value]
    if not isinstance(value, dict):
        return value
    return {key: item if key not in tree else _exclude(item, tree[key]) for key, item in value.items()
            if key not in tree or tree[key] is not None}


def select(payload: dict[str, Any], fields: list[str], exclude_fields: list[str]) -> dict[str, Any]:
    """Mailchimp's partial response: keep `fields`, then drop `exclude_fields`; a path into a list applies to
    every item (`emails.email_id`); unknown paths are ignored."""
    out: dict[str, Any] = _include(payload, _tree(fields)) if fields else payload
    return _exclude(out, _tree(exclude_fields)) if exclude_fields else out


# --- time and small helpers ------------------------------------------------------------------------------------
def _epoch(value: datetime) -> int:
    return int((value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp())


def iso(seconds: float | None) -> str:
    """Mailchimp's timestamp format ("2026-09-01T08:00:00+00:00"); "" for None."""
    return "" if seconds is None else time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(seconds))


def _hex_id(*parts: object) -> str:
    return hashlib.md5(":".join(map(str, parts)).encode()).hexdigest()[:10]


def _web_id(ident: str) -> int:
    return zlib.crc32(ident.encode()) % 900_000_000 + 100_000_000


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0


def _distinct_sorted(values: IntArray) -> int:
    return 0 if not len(values) else 1 + int(np.count_nonzero(np.diff(values)))


def _groups(sorted_keys: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """(keys, starts, ends) of the runs of equal values in a sorted array."""
    if not len(sorted_keys):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    change = np.flatnonzero(np.diff(sorted_keys)) + 1
    starts = np.concatenate(([0], change)).astype(np.int64)
    ends = np.concatenate((change, [len(sorted_keys)])).astype(np.int64)
    return sorted_keys[starts], starts, ends


# --- activity storage ------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Stats:
    """One campaign's cumulative report numbers."""

    sent: int
    opens: int
    unique_opens: int
    clicks: int
    unique_clicks: int
    bounces: int
    unsubs: int
    last_open: int | None
    last_click: int | None

    @property
    def delivered(self) -> int:
        return max(0, self.sent - self.bounces)

    @property
    def open_rate(self) -> float:
        return _rate(self.unique_opens, self.delivered)

    @property
    def click_rate(self) -> float:
        return _rate(self.unique_clicks, self.delivered)


class CampaignIndex:
    """One campaign's rows sorted by (recipient, time, action) and grouped by recipient, with its report numbers."""

    def __init__(self, emails: IntArray, actions: Int8Array, times: IntArray) -> None:
        order = np.lexsort((actions, times, emails))
        self.e, self.a, self.t = emails[order], actions[order], times[order]
        self.recipients, self.starts, self.ends = _groups(self.e)
        self.is_event = (self.a == OPEN) | (self.a == CLICK) | (self.a == BOUNCE)
        counts = np.bincount(self.a, minlength=len(ACTIONS)) if len(self.a) else np.zeros(len(ACTIONS), np.int64)
        opens, clicks = self.a == OPEN, self.a == CLICK
        self.stats = Stats(
            sent=int(counts[SENT]), opens=int(counts[OPEN]), unique_opens=_distinct_sorted(self.e[opens]),
            clicks=int(counts[CLICK]), unique_clicks=_distinct_sorted(self.e[clicks]), bounces=int(counts[BOUNCE]),
            unsubs=int(counts[UNSUB]), last_open=int(self.t[opens].max()) if counts[OPEN] else None,
            last_click=int(self.t[clicks].max()) if counts[CLICK] else None)
        self.counts = counts


class CampaignActivity:
    """One campaign's activity rows as numpy columns, appended in chunks and merged (and indexed) on first read."""

    def __init__(self) -> None:
        self._chunks: list[tuple[IntArray, Int8Array, IntArray]] = []
        self._index: CampaignIndex | None = None

    def append(self, emails: IntArray, actions: Int8Array, times: IntArray) -> None:
        if len(emails):
            self._chunks.append((emails.astype(np.int64), actions.astype(np.int8), times.astype(np.int64)))
            self._index = None

    def __len__(self) -> int:
        return sum(len(chunk[0]) for chunk in self._chunks)

    def columns(self) -> tuple[IntArray, Int8Array, IntArray]:
        if len(self._chunks) > 1:
            self._chunks = [(np.concatenate([c[0] for c in self._chunks]),
                             np.concatenate([c[1] for c in self._chunks]),
                             np.concatenate([c[2] for c in self._chunks]))]
        if not self._chunks:
            return np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros(0, np.int64)
        return self._chunks[0]

    def index(self) -> CampaignIndex:
        if self._index is None:
            self._index = CampaignIndex(*self.columns())
        return self._index


@dataclass(slots=True)
class Plan:
    """What the fault schedule does to one request."""

    drop: bool = False
    delay: float = 0.0
    status: int | None = None
    retry_after: float | None = None


@dataclass(slots=True)
class _Faults:
    fail: deque[tuple[int, float | None]] = field(default_factory=deque)
    slow: deque[float] = field(default_factory=deque)
    drop: int = 0


# --- the fake --------------------------------------------------------------------------------------------------
Endpoint = Callable[..., dict[str, Any]]


class FakeMailchimp(Serving):
    """The fake Marketing API on 127.0.0.1 (a free port), in a background thread; use it as a context manager.

    Attributes:
        url: the base to assign to `client.api_client.host` ("http://127.0.0.1:PORT/3.0").
        api_key, server: the key the fake accepts (may be reassigned) and its datacenter suffix.
        requests: every request in arrival order (LoggedRequest).
        latency: seconds every request waits before it is answered (0 by default).
        concurrency_limit: answer 429 when more requests than this are in flight (Mailchimp allows 10); None: off.
    """

    def __init__(self, api_key: str = DEFAULT_KEY) -> None:
        self.api_key = api_key
        self.account_id = "8d3a3db4d97663a9074efcc16"
        self.server = api_key.rpartition("-")[2] if "-" in api_key else "us1"
        self.requests: list[LoggedRequest] = []
        self.latency = 0.0
        self.concurrency_limit: int | None = None
        self._lock = threading.RLock()
        self._flight_lock = threading.Lock()
        self._in_flight = 0
        self._max_concurrent = 0
        self._faults = _Faults()
        self._lists: dict[str, str] = {}
        self._campaigns: dict[str, FakeCampaign] = {}
        self._activity: dict[str, CampaignActivity] = {}
        self._emails: list[str] = []
        self._email_numbers: dict[str, int] = {}
        self._md5: dict[int, str] = {}
        self._version = 0
        self._growth: dict[str, tuple[int, list[dict[str, Any]]]] = {}
        self._routes: list[tuple[re.Pattern[str], Endpoint]] = [
            (re.compile(pattern), handler) for pattern, handler in (
                (r"", self._root),
                (r"/ping", self._ping),
                (r"/lists", self._get_lists),
                (r"/lists/([^/]+)", self._get_list),
                (r"/lists/([^/]+)/growth-history", self._get_growth_history),
                (r"/lists/([^/]+)/growth-history/([^/]+)", self._get_growth_month),
                (r"/campaigns", self._get_campaigns),
                (r"/campaigns/([^/]+)", self._get_campaign),
                (r"/automations", self._get_automations),
                (r"/automations/([^/]+)", self._get_automation),
                (r"/automations/([^/]+)/emails", self._get_automation_emails),
                (r"/automations/([^/]+)/emails/([^/]+)", self._get_automation_email),
                (r"/reports", self._get_reports),
                (r"/reports/([^/]+)", self._get_report),
                (r"/reports/([^/]+)/email-activity", self._get_email_activity),
                (r"/reports/([^/]+)/sent-to", self._get_sent_to),
                (r"/reports/([^/]+)/unsubscribed", self._get_unsubscribed),
            )]
        self._server = _Server(self, _Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/3.0"

    # --- data (call from the test thread at any time) ----------------------------------------------------------
    def add_list(self, list_id: str, name: str) -> None:
        """Add an audience (or rename one)."""
        with self._lock:
            self._lists[list_id] = name
            self._version += 1

    def add_campaign(self, campaign: FakeCampaign) -> None:
        """Add a campaign or automation email; an existing id gets the new details and keeps its activity.

        An unknown `list_id` is added as a list named after it.
        """
        if campaign.type not in ("regular", "automation"):
            raise ValueError(f"campaign type must be 'regular' or 'automation', not {campaign.type!r}")
        if campaign.type == "automation" and (not campaign.workflow_id or campaign.position < 1):
            raise ValueError("an automation email needs a workflow_id and a 1-based position")
        with self._lock:
            self._lists.setdefault(campaign.list_id, f"List {campaign.list_id}")
            self._campaigns[campaign.id] = campaign
            self._activity.setdefault(campaign.id, CampaignActivity())
            self._version += 1

    def add_activity(self, rows: Iterable[FakeActivity]) -> None:
        """Add activity rows (any order); their campaigns must have been added."""
        grouped: dict[str, tuple[list[int], list[int], list[int]]] = {}
        with self._lock:
            for row in rows:
                if row.campaign_id not in self._campaigns:
                    raise ValueError(f"activity for unknown campaign {row.campaign_id!r}: add_campaign it first")
                code = _CODES.get(row.action)
                if code is None:
                    raise ValueError(f"action must be one of {ACTIONS}, not {row.action!r}")
                cols = grouped.setdefault(row.campaign_id, ([], [], []))
                cols[0].append(self._email_number(row.email))
                cols[1].append(code)
                cols[2].append(_epoch(row.timestamp))
            for campaign_id, (emails, actions, times) in grouped.items():
                self._activity[campaign_id].append(np.array(emails, np.int64), np.array(actions, np.int8),
                                                   np.array(times, np.int64))
            self._version += 1

    def bulk(self, n_rows: int, campaigns: int = 20, start: datetime = BULK_START, days: int = 30,
             seed: int = 0) -> None:
        """Add a list, `campaigns` regular campaigns sent over `days` from `start`, and exactly `n_rows` activity
        rows: about 45% "sent" (one per recipient and campaign), the rest opens, clicks, bounces and unsubscribes
        of those recipients in the hours after the send. Deterministic for a seed; a million rows take well
        under a second. Ids are derived from the seed, so load each seed once."""
        if n_rows < 0 or campaigns < 1 or days < 1:
            raise ValueError("bulk needs n_rows >= 0, campaigns >= 1 and days >= 1")
        rng = np.random.default_rng(seed)
        list_id = _hex_id("bulk-list", seed)
        ids = [_hex_id("bulk", seed, i) for i in range(campaigns)]
        with self._lock:
            if any(i in self._campaigns for i in ids):
                raise ValueError(f"bulk(seed={seed}) is already loaded")
        window = days * 86_400
        base = _epoch(start)
        send = np.array([base + (i * window) // campaigns for i in range(campaigns)], np.int64)
        n_sent = min(n_rows, max(campaigns, int(n_rows * 0.45)))
        per = np.array([len(part) for part in np.array_split(np.arange(n_sent), campaigns)], np.int64)
        pool = max(1, 2 * int(per.max()))
        # Recipient numbers are 0-based in the pool here; the pool's first email number is added when it is stored.
        recipients = [rng.choice(pool, size=int(k), replace=False).astype(np.int64) for k in per]
        sent_times = [send[i] + rng.integers(0, 60, int(k)).astype(np.int64) for i, k in enumerate(per)]
        # The other rows: a campaign with recipients, one of its recipients, an action, a delay after the send.
        n_other = n_rows - n_sent
        owners = np.flatnonzero(per)
        camp = owners[rng.integers(0, len(owners), n_other)] if n_other else np.zeros(0, np.int64)
        pick = (rng.random(n_other) * per[camp]).astype(np.int64)
        offsets = np.concatenate(([0], np.cumsum(per)))
        other_emails = np.concatenate(recipients)[offsets[camp] + pick]
        other_actions = rng.choice(np.array([OPEN, CLICK, BOUNCE, UNSUB], np.int8), size=n_other,
                                   p=[0.66, 0.30, 0.025, 0.015])
        delay = np.minimum(rng.exponential(6 * 3600, n_other), window).astype(np.int64) + 60
        other_times = send[camp] + delay
        order = np.argsort(camp, kind="stable")
        bounds = np.searchsorted(camp[order], np.arange(campaigns + 1))
        names = [f"subscriber{i:07d}.{seed}@bulk.example.com" for i in range(pool)]
        with self._lock:
            self._lists[list_id] = f"Bulk audience {seed}"
            first = len(self._emails)
            for name in names:  # numbers stay aligned with the pool even if an address was seen before
                self._email_numbers.setdefault(name.lower(), len(self._emails))
                self._emails.append(name)
            for i, campaign_id in enumerate(ids):
                self._campaigns[campaign_id] = FakeCampaign(
                    campaign_id, f"Bulk campaign {i + 1}", "regular", list_id,
                    datetime.fromtimestamp(int(send[i]), UTC), subject_line=f"Bulk news {i + 1}")
                store = self._activity[campaign_id] = CampaignActivity()
                store.append(recipients[i] + first, np.full(len(recipients[i]), SENT, np.int8), sent_times[i])
                rows = order[bounds[i]:bounds[i + 1]]
                store.append(other_emails[rows] + first, other_actions[rows], other_times[rows])
            self._version += 1

    def totals(self) -> dict[tuple[str, str], int]:
        """(campaign_id, action) → number of rows, for every non-zero count."""
        with self._lock:
            out: dict[tuple[str, str], int] = {}
            for campaign_id, store in self._activity.items():
                _, actions, _ = store.columns()
                if len(actions):
                    for code, n in enumerate(np.bincount(actions, minlength=len(ACTIONS)).tolist()):
                        if n:
                            out[(campaign_id, ACTIONS[code])] = n
            return out

    # --- faults (call from the test thread at any time) ----------------------------------------------------------
    def fail_next(self, n: int, status: int, retry_after: float | None = None) -> None:
        """Answer the next `n` requests with `status` (400–599) and its problem JSON; `retry_after` (seconds) adds
        a Retry-After header."""
        if not 400 <= status <= 599:
            raise ValueError(f"fail_next needs an error status (400-599), not {status}")
        with self._lock:
            self._faults.fail.extend([(status, retry_after)] * n)

    def slow_next(self, n: int, seconds: float) -> None:
        """Delay the answers to the next `n` requests by `seconds` (on top of `latency`)."""
        with self._lock:
            self._faults.slow.extend([seconds] * n)

    def drop_next(self, n: int) -> None:
        """Close the connection of the next `n` requests without answering."""
        with self._lock:
            self._faults.drop += n

    @property
    def max_concurrent(self) -> int:
        """The highest number of requests in flight at once so far (assign 0 to reset)."""
        with self._flight_lock:
            return self._max_concurrent

    @max_concurrent.setter
    def max_concurrent(self, value: int) -> None:
        with self._flight_lock:
            self._max_concurrent = value

    # --- request handling (server threads) --------------------------------------------------------------------
    def next_plan(self) -> Plan:
        """Take this request's share of the fault schedule (each queue advances by one)."""
        with self._lock:
            faults = self._faults
            drop = faults.drop > 0
            faults.drop -= drop
            delay = (faults.slow.popleft() if faults.slow else 0.0) + self.latency
            status, retry_after = faults.fail.popleft() if faults.fail and not drop else (None, None)
            return Plan(drop, delay, status, retry_after)

    @contextlib.contextmanager
    def in_flight(self) -> Iterator[bool]:
        """Count a request while it is handled; yields whether it is over `concurrency_limit`."""
        with self._flight_lock:
            self._in_flight += 1
            self._max_concurrent = max(self._max_concurrent, self._in_flight)
            limit = self.concurrency_limit
            over = limit is not None and self._in_flight > limit
        try:
            yield over
        finally:
            with self._flight_lock:
                self._in_flight -= 1

    def respond(self, method: str, path: str, query: dict[str, list[str]], authorization: str | None,
                plan: Plan, over_limit: bool) -> tuple[int, dict[str, str], dict[str, Any]]:
        """(status, extra headers, JSON body) of one request; checks run in the order Mailchimp's do."""
        try:
            if plan.status is not None:
                headers = {} if plan.retry_after is None else {"Retry-After": f"{plan.retry_after:g}"}
                raise ApiError(plan.status, headers=headers)
            if over_limit:
                raise ApiError(429)
            self._check_key(authorization)
            handler, args = self._route(path)
            if method != "GET":
                raise ApiError(405, headers={"Allow": "GET"})
            q = Query(query)
            with self._lock:
                payload = handler(q, *args)
            return 200, {}, select(payload, q.paths("fields"), q.paths("exclude_fields"))
        except ApiError as exc:
            return exc.status, exc.headers, exc.body()
        except Exception as exc:  # a bug in the fake: answer 500 so the test shows it
            return 500, {}, ApiError(500, detail=f"fake Mailchimp failed: {exc!r}").body()

    def _check_key(self, authorization: str | None) -> None:
        if not authorization:
            raise ApiError(401, *MISSING_KEY)
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "basic":
            raise ApiError(401)
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise ApiError(401) from None
        _, colon, key = decoded.partition(":")
        if not colon or not hmac.compare_digest(key.encode(), self.api_key.encode()):
            raise ApiError(401)

    def _route(self, path: str) -> tuple[Endpoint, tuple[str, ...]]:
        if path.startswith("/3.0/") or path == "/3.0":
            rest = path[len("/3.0"):].rstrip("/")
            for pattern, handler in self._routes:
                if m := pattern.fullmatch(rest):
                    return handler, tuple(unquote(g) for g in m.groups())
        raise ApiError(404)

    # --- lookups (callers hold the lock) -------------------------------------------------------------------------
    def _email_number(self, email: str) -> int:
        key = email.strip().lower()
        number = self._email_numbers.get(key)
        if number is None:
            number = self._email_numbers[key] = len(self._emails)
            self._emails.append(email.strip())
        return number

    def _email_id(self, number: int) -> str:
        digest = self._md5.get(number)
        if digest is None:
            digest = self._md5[number] = hashlib.md5(self._emails[number].lower().encode()).hexdigest()
        return digest

    def _campaign(self, campaign_id: str) -> FakeCampaign:
        campaign = self._campaigns.get(campaign_id)
        if campaign is None:
            raise ApiError(404)
        return campaign

    def _index(self, campaign_id: str) -> CampaignIndex:
        return self._activity[campaign_id].index()

    def _create_time(self, campaign: FakeCampaign) -> int:
        if campaign.send_time is not None:
            return _epoch(campaign.send_time) - 86_400
        return _epoch(datetime(2020, 1, 1, tzinfo=UTC)) + 60 * list(self._campaigns).index(campaign.id)

    def _workflows(self) -> dict[str, list[FakeCampaign]]:
        """workflow id → its emails in position order (workflows in the order their first email was added)."""
        flows: dict[str, list[FakeCampaign]] = {}
        for campaign in self._campaigns.values():
            if campaign.type == "automation":
                flows.setdefault(campaign.workflow_id, []).append(campaign)
        return {wid: sorted(emails, key=lambda c: c.position) for wid, emails in flows.items()}

    # --- JSON objects --------------------------------------------------------------------------------------------
    def _recipients(self, campaign: FakeCampaign) -> dict[str, Any]:
        return {"list_id": campaign.list_id, "list_is_active": True, "list_name": self._lists[campaign.list_id],
                "segment_text": "", "recipient_count": self._index(campaign.id).stats.sent}

    def _settings(self, campaign: FakeCampaign) -> dict[str, Any]:
        return {"subject_line": campaign.subject_line, "preview_text": "", "title": campaign.title,
                "from_name": FROM_NAME, "reply_to": REPLY_TO, "use_conversation": False, "to_name": "",
                "folder_id": "", "authenticate": True, "auto_footer": False, "inline_css": False,
                "auto_tweet": False, "fb_comments": True, "timewarp": False, "template_id": 0, "drag_and_drop": True}

    @staticmethod
    def _summary(stats: Stats) -> dict[str, Any]:
        return {"opens": stats.opens, "unique_opens": stats.unique_opens, "open_rate": stats.open_rate,
                "clicks": stats.clicks, "subscriber_clicks": stats.unique_clicks, "click_rate": stats.click_rate,
                "ecommerce": {"total_orders": 0, "total_spent": 0, "total_revenue": 0}}

    def _campaign_json(self, campaign: FakeCampaign) -> dict[str, Any]:
        stats = self._index(campaign.id).stats
        sent = campaign.send_time is not None
        out: dict[str, Any] = {
            "id": campaign.id, "web_id": _web_id(campaign.id), "parent_campaign_id": "", "type": campaign.type,
            "create_time": iso(self._create_time(campaign)),
            "archive_url": f"https://eepurl.com/{campaign.id}", "long_archive_url": "",
            "status": "sent" if sent else "save", "emails_sent": stats.sent,
            "send_time": iso(_epoch(campaign.send_time)) if campaign.send_time else "",
            "content_type": "template", "needs_block_refresh": False, "resendable": False,
            "recipients": self._recipients(campaign), "settings": self._settings(campaign),
            "tracking": {"opens": True, "html_clicks": True, "text_clicks": False, "goal_tracking": False,
                         "ecomm360": False},
            "delivery_status": {"enabled": False},
        }
        if sent:
            out["report_summary"] = self._summary(stats)
        return out

    def _report_json(self, campaign: FakeCampaign) -> dict[str, Any]:
        s = self._index(campaign.id).stats
        return {
            "id": campaign.id, "campaign_title": campaign.title, "type": campaign.type,
            "list_id": campaign.list_id, "list_is_active": True, "list_name": self._lists[campaign.list_id],
            "subject_line": campaign.subject_line, "preview_text": "", "emails_sent": s.sent, "abuse_reports": 0,
            "unsubscribed": s.unsubs, "send_time": iso(_epoch(campaign.send_time)) if campaign.send_time else "",
            "bounces": {"hard_bounces": s.bounces, "soft_bounces": 0, "syntax_errors": 0},
            "forwards": {"forwards_count": 0, "forwards_opens": 0},
            "opens": {"opens_total": s.opens, "unique_opens": s.unique_opens, "open_rate": s.open_rate,
                      "last_open": iso(s.last_open)},
            "clicks": {"clicks_total": s.clicks, "unique_clicks": s.unique_clicks,
                       "unique_subscriber_clicks": s.unique_clicks, "click_rate": s.click_rate,
                       "last_click": iso(s.last_click)},
            "delivery_status": {"enabled": False},
        }

    def _automation_email_json(self, campaign: FakeCampaign) -> dict[str, Any]:
        stats = self._index(campaign.id).stats
        send = _epoch(campaign.send_time) if campaign.send_time else None
        return {
            "id": campaign.id, "web_id": _web_id(campaign.id), "workflow_id": campaign.workflow_id,
            "position": campaign.position,
            "delay": {"amount": 0 if campaign.position == 1 else 1, "type": "day", "direction": "after",
                      "action": "signup" if campaign.position == 1 else "previous_campaign_sent"},
            "create_time": iso(self._create_time(campaign)), "start_time": iso(send),
            "archive_url": f"https://eepurl.com/{campaign.id}", "status": "sending" if send else "save",
            "emails_sent": stats.sent, "send_time": iso(send), "content_type": "template",
            "needs_block_refresh": False, "has_logo_merge_tag": False,
            "recipients": self._recipients(campaign), "settings": self._settings(campaign),
            "tracking": {"opens": True, "html_clicks": True, "text_clicks": False},
            "report_summary": self._summary(stats),
        }

    def _automation_json(self, workflow_id: str, emails: list[FakeCampaign]) -> dict[str, Any]:
        head = emails[0]
        stats = [self._index(c.id).stats for c in emails]
        sent_times = [_epoch(c.send_time) for c in emails if c.send_time]
        created = min(self._create_time(c) for c in emails)
        opens, unique_opens, clicks, unique_clicks = (sum(getattr(s, name) for s in stats) for name in
                                                      ("opens", "unique_opens", "clicks", "unique_clicks"))
        delivered = sum(s.delivered for s in stats)
        return {
            "id": workflow_id, "create_time": iso(created), "start_time": iso(min(sent_times, default=None)),
            "status": "sending" if sent_times else "save", "emails_sent": sum(s.sent for s in stats),
            "recipients": {"list_id": head.list_id, "list_is_active": True, "list_name": self._lists[head.list_id]},
            "settings": {"title": head.workflow_title or workflow_id, "from_name": FROM_NAME, "reply_to": REPLY_TO,
                         "use_conversation": False, "to_name": "", "authenticate": True, "auto_footer": False,
                         "inline_css": False},
            "tracking": {"opens": True, "html_clicks": True, "text_clicks": False},
            "trigger_settings": {"workflow_type": "emailSeries", "workflow_title": head.workflow_title,
                                 "workflow_emails_count": len(emails)},
            "report_summary": {"opens": opens, "unique_opens": unique_opens,
                               "open_rate": _rate(unique_opens, delivered), "clicks": clicks,
                               "subscriber_clicks": unique_clicks, "click_rate": _rate(unique_clicks, delivered)},
        }

    # --- endpoints (callers hold the lock) -------------------------------------------------------------------------
    def _ping(self, q: Query) -> dict[str, Any]:
        return {"health_status": "Everything's Chimpy!"}

    def _root(self, q: Query) -> dict[str, Any]:
        """`GET /3.0/`: the account the key belongs to."""
        return {"account_id": self.account_id, "login_id": "1", "account_name": "Test bakery",
                "email": "owner@example.com", "role": "owner", "pricing_plan_type": "monthly",
                "account_timezone": "Europe/London", "total_subscribers": len(self._emails)}

    def _get_lists(self, q: Query) -> dict[str, Any]:
        count, offset = q.paging()
        lists = [self._list_json(list_id) for list_id in self._lists]
        return {"lists": lists[offset:offset + count], "total_items": len(lists),
                "constraints": {"may_create": True, "max_instances": 1_000_000, "current_total_instances": len(lists)}}

    def _get_list(self, q: Query, list_id: str) -> dict[str, Any]:
        if list_id not in self._lists:
            raise ApiError(404)
        return self._list_json(list_id)

    def _list_json(self, list_id: str) -> dict[str, Any]:
        history = self._growth_history(list_id)
        campaigns = [c for c in self._campaigns.values() if c.list_id == list_id]
        last_sent = max((_epoch(c.send_time) for c in campaigns if c.send_time), default=None)
        return {
            "id": list_id, "web_id": _web_id(list_id), "name": self._lists[list_id],
            "date_created": "2020-01-01T00:00:00+00:00", "list_rating": 0, "visibility": "prv",
            "email_type_option": False, "double_optin": False,
            "stats": {"member_count": history[-1]["subscribed"] if history else 0,
                      "unsubscribe_count": sum(h["unsubscribed"] for h in history),
                      "cleaned_count": sum(h["cleaned"] for h in history), "campaign_count": len(campaigns),
                      "campaign_last_sent": iso(last_sent)},
        }

    def _growth_history(self, list_id: str) -> list[dict[str, Any]]:
        """Monthly growth, oldest first, derived from the list's activity.

        A recipient joins in the month of their first row on any of the list's campaigns (`optins`) and leaves at
        their first unsubscribe (`unsubscribed`) or hard bounce (`cleaned`), whichever came first; `subscribed`
        is the count at the end of the month and `existing` the count at its start.
        """
        cached = self._growth.get(list_id)
        if cached is not None and cached[0] == self._version:
            return cached[1]
        cols = [self._activity[c.id].columns() for c in self._campaigns.values() if c.list_id == list_id]
        e = np.concatenate([c[0] for c in cols]) if cols else np.zeros(0, np.int64)
        history: list[dict[str, Any]] = []
        if len(e):
            a, t = np.concatenate([c[1] for c in cols]), np.concatenate([c[2] for c in cols])
            order = np.lexsort((t, e))
            e, a, t = e[order], a[order], t[order]
            people, starts, _ = _groups(e)
            never = np.iinfo(np.int64).max
            left = {}
            for code in (UNSUB, BOUNCE):
                first = np.full(len(people), never, np.int64)
                mask = a == code
                np.minimum.at(first, np.searchsorted(people, e[mask]), t[mask])
                left[code] = first
            unsub = (left[UNSUB] != never) & (left[UNSUB] <= left[BOUNCE])
            cleaned = (left[BOUNCE] != never) & (left[BOUNCE] < left[UNSUB])

            def months(seconds: IntArray) -> IntArray:
                return seconds.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)

            joined, unsub_m, cleaned_m = months(t[starts]), months(left[UNSUB][unsub]), months(left[BOUNCE][cleaned])
            lo = int(joined.min())
            hi = int(max(joined.max(), unsub_m.max(initial=lo), cleaned_m.max(initial=lo)))
            n = hi - lo + 1
            optins = np.bincount(joined - lo, minlength=n)
            unsubscribed = np.bincount(unsub_m - lo, minlength=n)
            cleaned_n = np.bincount(cleaned_m - lo, minlength=n)
            subscribed = np.cumsum(optins - unsubscribed - cleaned_n)
            for i in range(n):
                month = lo + i
                history.append({
                    "list_id": list_id, "month": f"{1970 + month // 12:04d}-{month % 12 + 1:02d}",
                    "existing": int(subscribed[i - 1]) if i else 0, "imports": 0, "optins": int(optins[i]),
                    "subscribed": int(subscribed[i]), "unsubscribed": int(unsubscribed[i]), "reconfirm": 0,
                    "cleaned": int(cleaned_n[i]), "pending": 0, "deleted": 0, "transactional": 0})
        self._growth[list_id] = (self._version, history)
        return history

    def _get_growth_history(self, q: Query, list_id: str) -> dict[str, Any]:
        """Months newest first unless sort_dir=ASC."""
        if list_id not in self._lists:
            raise ApiError(404)
        count, offset = q.paging()
        q.choice("sort_field", ["month"])
        history = list(self._growth_history(list_id))
        if q.choice("sort_dir", ["ASC", "DESC"], "DESC") == "DESC":
            history.reverse()
        return {"history": history[offset:offset + count], "list_id": list_id, "total_items": len(history)}

    def _get_growth_month(self, q: Query, list_id: str, month: str) -> dict[str, Any]:
        if list_id not in self._lists:
            raise ApiError(404)
        for item in self._growth_history(list_id):
            if item["month"] == month:
                return item
        raise ApiError(404)

    def _get_campaigns(self, q: Query) -> dict[str, Any]:
        """Regular campaigns (automation emails are listed under /automations), oldest created first by default."""
        count, offset = q.paging()
        kind = q.choice("type", ["regular", "plaintext", "absplit", "rss", "variate", "automation"])
        status = q.choice("status", ["save", "paused", "schedule", "sending", "sent"])
        list_id = q.text("list_id")
        items = [c for c in self._campaigns.values() if c.type == "regular" and kind in (None, "regular")
                 and (list_id is None or c.list_id == list_id)]
        if status is not None:
            items = [c for c in items if (status == "sent") == (c.send_time is not None) and status in ("sent", "save")]
        items = _between(items, q, "send_time", lambda c: _epoch(c.send_time) if c.send_time else None)
        items = _between(items, q, "create_time", self._create_time)
        sort_field = q.choice("sort_field", ["create_time", "send_time"], "create_time")
        descending = q.choice("sort_dir", ["ASC", "DESC"], "ASC") == "DESC"
        if sort_field == "send_time":
            unsent = [c for c in items if c.send_time is None]
            items = sorted((c for c in items if c.send_time), key=lambda c: _epoch(c.send_time or BULK_START),
                           reverse=descending) + unsent
        else:
            items.sort(key=self._create_time, reverse=descending)
        return {"campaigns": [self._campaign_json(c) for c in items[offset:offset + count]],
                "total_items": len(items)}

    def _get_campaign(self, q: Query, campaign_id: str) -> dict[str, Any]:
        return self._campaign_json(self._campaign(campaign_id))

    def _get_automations(self, q: Query) -> dict[str, Any]:
        count, offset = q.paging()
        status = q.choice("status", ["save", "paused", "sending"])
        items = [self._automation_json(wid, emails) for wid, emails in self._workflows().items()]
        if status is not None:
            items = [a for a in items if a["status"] == status]
        items = _between(items, q, "create_time", lambda a: _parse_iso(a["create_time"]))
        items = _between(items, q, "start_time", lambda a: _parse_iso(a["start_time"]))
        return {"automations": items[offset:offset + count], "total_items": len(items)}

    def _get_automation(self, q: Query, workflow_id: str) -> dict[str, Any]:
        emails = self._workflows().get(workflow_id)
        if not emails:
            raise ApiError(404)
        return self._automation_json(workflow_id, emails)

    def _get_automation_emails(self, q: Query, workflow_id: str) -> dict[str, Any]:
        """Every email of the workflow in position order (the endpoint has no paging)."""
        emails = self._workflows().get(workflow_id)
        if not emails:
            raise ApiError(404)
        return {"emails": [self._automation_email_json(c) for c in emails], "total_items": len(emails)}

    def _get_automation_email(self, q: Query, workflow_id: str, email_id: str) -> dict[str, Any]:
        for campaign in self._workflows().get(workflow_id, []):
            if campaign.id == email_id:
                return self._automation_email_json(campaign)
        raise ApiError(404)

    def _get_reports(self, q: Query) -> dict[str, Any]:
        """Reports of every sent campaign and automation email, in the order they were added."""
        count, offset = q.paging()
        kind = q.choice("type", ["regular", "plaintext", "absplit", "rss", "variate", "automation"])
        items = [c for c in self._campaigns.values() if c.send_time and kind in (None, c.type)]
        items = _between(items, q, "send_time", lambda c: _epoch(c.send_time) if c.send_time else None)
        return {"reports": [self._report_json(c) for c in items[offset:offset + count]], "total_items": len(items)}

    def _get_report(self, q: Query, campaign_id: str) -> dict[str, Any]:
        return self._report_json(self._campaign(campaign_id))

    def _get_email_activity(self, q: Query, campaign_id: str) -> dict[str, Any]:
        """One entry per recipient (in the order addresses were first seen), with their opens, clicks and bounces
        in time order; with `since`, only the events after it and only recipients that have such events."""
        campaign = self._campaign(campaign_id)
        count, offset = q.paging()
        since = q.time("since")
        idx = self._index(campaign_id)
        if since is None:
            e, a, t, keep = idx.e, idx.a, idx.t, idx.is_event
            people, starts, ends = idx.recipients, idx.starts, idx.ends
        else:
            mask = idx.is_event & (idx.t > since)
            e, a, t = idx.e[mask], idx.a[mask], idx.t[mask]
            keep = np.ones(len(e), bool)
            people, starts, ends = _groups(e)
        url = f"https://example.com/offers/{campaign_id}"
        page_people = people[offset:offset + count].tolist()
        page_starts, page_ends = starts[offset:offset + count], ends[offset:offset + count]
        first = int(page_starts[0]) if page_people else 0
        last = int(page_ends[-1]) if page_people else 0
        codes, times, shown = a[first:last].tolist(), t[first:last].tolist(), keep[first:last].tolist()
        emails = []
        for number, lo, hi in zip(page_people, (page_starts - first).tolist(), (page_ends - first).tolist(),
                                  strict=True):
            ip = f"198.51.100.{number % 250 + 1}"
            activity: list[dict[str, Any]] = []
            for row in range(lo, hi):
                if not shown[row]:
                    continue
                code = codes[row]
                item: dict[str, Any] = {"action": ACTIONS[code], "timestamp": iso(times[row]), "ip": ip}
                if code == CLICK:
                    item["url"] = url
                elif code == BOUNCE:
                    item["type"] = "hard"
                activity.append(item)
            emails.append({"campaign_id": campaign_id, "list_id": campaign.list_id, "list_is_active": True,
                           "email_id": self._email_id(number), "email_address": self._emails[number],
                           "activity": activity})
        return {"emails": emails, "campaign_id": campaign_id, "total_items": len(people)}

    def _get_sent_to(self, q: Query, campaign_id: str) -> dict[str, Any]:
        """Recipients with a "sent" row, in the order addresses were first seen."""
        campaign = self._campaign(campaign_id)
        count, offset = q.paging()
        idx = self._index(campaign_id)
        sent = np.unique(idx.e[idx.a == SENT])
        page = sent[offset:offset + count]
        positions = np.searchsorted(idx.recipients, page)
        out = []
        for number, pos in zip(page.tolist(), positions.tolist(), strict=True):
            lo, hi = int(idx.starts[pos]), int(idx.ends[pos])
            actions, times = idx.a[lo:hi], idx.t[lo:hi]
            opens = times[actions == OPEN]
            out.append({"email_id": self._email_id(number), "email_address": self._emails[number],
                        "merge_fields": {}, "vip": False,
                        "status": "hard" if bool((actions == BOUNCE).any()) else "sent",
                        "open_count": len(opens), "last_open": iso(int(opens.max())) if len(opens) else "",
                        "absplit_group": "", "gmt_offset": 0, "campaign_id": campaign_id,
                        "list_id": campaign.list_id, "list_is_active": True})
        return {"sent_to": out, "campaign_id": campaign_id, "total_items": len(sent)}

    def _get_unsubscribed(self, q: Query, campaign_id: str) -> dict[str, Any]:
        """One entry per "unsub" row, by recipient then time."""
        campaign = self._campaign(campaign_id)
        count, offset = q.paging()
        idx = self._index(campaign_id)
        rows = np.flatnonzero(idx.a == UNSUB)
        out = [{"email_id": self._email_id(number), "email_address": self._emails[number], "merge_fields": {},
                "vip": False, "timestamp": iso(ts), "reason": "", "campaign_id": campaign_id,
                "list_id": campaign.list_id, "list_is_active": True}
               for number, ts in zip(idx.e[rows[offset:offset + count]].tolist(),
                                     idx.t[rows[offset:offset + count]].tolist(), strict=True)]
        return {"unsubscribes": out, "campaign_id": campaign_id, "total_items": len(rows)}


def _parse_iso(text: str) -> int | None:
    return _epoch(datetime.fromisoformat(text)) if text else None


def _between(items: list[Any], q: Query, name: str, key: Callable[[Any], int | None]) -> list[Any]:
    """Mailchimp's `since_<name>` (inclusive) and `before_<name>` (exclusive) filters; items without the time are
    dropped when either is given."""
    since, before = q.time(f"since_{name}"), q.time(f"before_{name}")
    if since is None and before is None:
        return items
    out = []
    for item in items:
        value = key(item)
        if value is not None and (since is None or value >= since) and (before is None or value < before):
            out.append(item)
    return out


# --- HTTP ------------------------------------------------------------------------------------------------------
class _Handler(LocalHandler):
    """Every method goes through FakeMailchimp.respond (only GET is served)."""

    server: _Server

    def _handle(self) -> None:
        fake = self.server.fake
        self._skip_body()
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        with fake.in_flight() as over_limit:
            plan = fake.next_plan()
            if plan.delay:
                time.sleep(plan.delay)
            if plan.drop:
                fake.requests.append(LoggedRequest(self.command, url.path, query, None))
                self.close_connection = True  # no status line at all: the client sees the socket close
                return
            status, headers, payload = fake.respond(self.command, url.path, query, self.headers.get("Authorization"),
                                                    plan, over_limit)
            fake.requests.append(LoggedRequest(self.command, url.path, query, status))  # before answering
            data = json.dumps(payload, separators=(",", ":")).encode("utf-8")
            self.send_response(status)
            kind = "application/json" if status < 400 else "application/problem+json"
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)


class _Server(LocalServer):
    fake: FakeMailchimp
