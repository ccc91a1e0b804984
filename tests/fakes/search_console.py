"""A local HTTP server speaking the Search Console API's searchAnalytics.query wire format, for tests that drive
the official `google-api-python-client` (pointed at it with `client_options={"api_endpoint": fake.url}`).

What it serves, as Google does: rows grouped by the requested dimensions and sorted by clicks, most first; paging
by `startRow` / `rowLimit` (1 to 25,000); no `rows` key at all when nothing matches; rare queries anonymised (they
count in every grouping but the ones by query); the last days partial until they settle, flagged by
`metadata.firstIncompleteDate` when `dataState` is "all" and left out when it is "final"; Google's JSON error
bodies (`error.code`, `message`, `status`, `errors[].reason`), with Retry-After when asked. Days are Pacific Time
days, as Search Console counts them.
"""

from __future__ import annotations

import json
import math
import random
import re
import shutil
import tempfile
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

from google.auth import jwt

from tests.fakes.clock import FakeClock
from tests.fakes.ga4_auth import SCOPE_MESSAGE, AuthFailure, TokenAuthority, key_identity, make_service_account
from tests.fakes.serving import LocalHandler, LocalServer, Serving

__all__ = ["DEFAULT_SETTLING", "FakeSearchConsole", "LoggedRequest", "make_service_account"]

SEARCH_CONSOLE_SCOPES = frozenset({"https://www.googleapis.com/auth/webmasters",
                                   "https://www.googleapis.com/auth/webmasters.readonly"})
PACIFIC = ZoneInfo("America/Los_Angeles")
MAX_ROW_LIMIT = 25_000
DEFAULT_ROW_LIMIT = 1_000
DIMENSIONS = ("date", "query", "page", "country", "device")
SEARCH_TYPES = ("web", "image", "video", "news", "discover", "googlenews")
DATA_STATES = ("final", "all")
# age in days (today − day) → share of its final numbers a day is served at; older days are final.
DEFAULT_SETTLING: dict[int, float] = {0: 0.4, 1: 0.75, 2: 0.95}

_QUERY = re.compile(r"/webmasters/v3/sites/([^/]+)/searchAnalytics/query")
_PAGES: dict[str, tuple[str, ...]] = {
    "": ("sourdough blog", "sourdough recipes", "bread baking site"),
    "recipes/sourdough-starter/": ("sourdough starter", "how to make a sourdough starter", "starter not rising"),
    "recipes/country-loaf/": ("country loaf recipe", "sourdough bread recipe", "open crumb sourdough"),
    "blog/hydration-explained/": ("dough hydration", "high hydration dough"),
    "courses/sourdough-masterclass/": ("sourdough course", "online bread baking class"),
    "tools/baker-percentages/": ("baker's percentage", "bakers math calculator"),
}
_DEVICES = ("DESKTOP", "MOBILE", "TABLET")
_COUNTRIES = ("gbr", "usa", "irl", "fra")
_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
           429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
_FAULTS: dict[int, tuple[str, str, str]] = {  # status → (message, errors[].domain, errors[].reason)
    429: ("Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service "
          "'searchconsole.googleapis.com'.", "global", "rateLimitExceeded"),
    500: ("Internal error encountered.", "global", "backendError"),
    503: ("The service is currently unavailable.", "global", "backendError"),
}
QUOTA_MESSAGE = "Search Analytics load quota exceeded. See https://developers.google.com/webmaster-tools/limits."
INVALID_CREDENTIALS = ("Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
                       "or other valid authentication credential.")


def permission_message(site_url: str) -> str:
    return (f"User does not have sufficient permission for site '{site_url}'. See also: "
            "https://support.google.com/webmasters/answer/2451999.")


class ApiError(Exception):
    """An error answer in Google's JSON API shape; `field` adds a BadRequest field violation (400)."""

    def __init__(self, status: int, message: str, reason: str, *, domain: str = "global",
                 headers: dict[str, str] | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.reason, self.domain = status, message, reason, domain
        self.headers = headers or {}
        self.field = field

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.status, "message": self.message,
                                 "errors": [{"message": self.message, "domain": self.domain, "reason": self.reason}],
                                 "status": _STATUS.get(self.status, "UNKNOWN")}
        if self.field is not None:
            error["details"] = [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                                 "fieldViolations": [{"field": self.field, "description": self.message}]}]
        return {"error": error}


def invalid(field: str, problem: str) -> ApiError:
    return ApiError(400, f"Invalid value at '{field}': {problem}", "invalid", field=field)


Answer = tuple[int, dict[str, str], dict[str, Any], str | None]  # status, extra headers, JSON body, site


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One API request as the fake saw and answered it."""

    method: str
    path: str
    site_url: str | None  # the decoded {siteUrl} of the path
    body: Any  # the parsed JSON body (None if it was not JSON)
    status: int


@dataclass(frozen=True, slots=True)
class Fine:
    """One finest-grain cell of a day: a page, query (None: anonymised), device and country."""

    page: str
    query: str | None
    device: str
    country: str
    clicks: int
    impressions: int
    position: float


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed searchAnalytics.query body."""

    start: date
    end: date
    dimensions: tuple[str, ...]
    search_type: str
    data_state: str
    row_limit: int
    start_row: int


class SearchConsoleAuthority(TokenAuthority):
    """The GA4 fake's token authority (same key files and /token), accepting Search Console's scopes."""

    def __init__(self) -> None:
        super().__init__()
        self._granted: dict[str, tuple[str, frozenset[str]]] = {}  # token → (email, scopes)
        self._granted_lock = threading.Lock()

    def issue(self, form_body: bytes) -> dict[str, Any]:
        answer = super().issue(form_body)  # verifies the assertion
        assertion = parse_qs(form_body.decode("utf-8", "replace"))["assertion"][0]
        claims = jwt.decode(assertion, verify=False)
        with self._granted_lock:
            self._granted[answer["access_token"]] = (str(claims.get("sub") or claims["iss"]),
                                                     frozenset(str(claims.get("scope", "")).split()))
        return answer

    def check_bearer(self, authorization: str | None) -> str:
        try:
            super().check_bearer(authorization)  # missing, forged or expired tokens fail here
        except AuthFailure as exc:
            if exc.reason != "ACCESS_TOKEN_SCOPE_INSUFFICIENT":
                raise
        with self._granted_lock:
            email, scopes = self._granted.get((authorization or "").removeprefix("Bearer ").strip(), ("", frozenset()))
        if not scopes & SEARCH_CONSOLE_SCOPES:
            raise AuthFailure(403, "ACCESS_TOKEN_SCOPE_INSUFFICIENT", SCOPE_MESSAGE)
        return email


def generate_day(site_url: str, day: date, seed: int) -> list[Fine]:
    """A day's finest-grain cells, the same for the same site, day and seed."""
    rng = random.Random(f"{seed}|{site_url}|{day.isoformat()}")
    base = site_url if site_url.startswith("http") else f"https://{site_url.removeprefix('sc-domain:')}/"
    out = []
    for path, queries in _PAGES.items():
        ranks = {q: rng.uniform(1.0, 25.0) for q in (*queries, None)}
        for device in _DEVICES:
            for country in _COUNTRIES:
                if rng.random() < 0.15:
                    continue  # no impressions at all for this page on this device in this country
                for query, rank in ranks.items():
                    if rng.random() < 0.3:
                        continue
                    impressions = rng.randint(1, 80 if device == "MOBILE" else 40)
                    position = round(max(1.0, rank + rng.uniform(-1.0, 1.0)), 2)
                    clicks = sum(rng.random() < min(0.6, 0.35 / position) for _ in range(impressions))
                    out.append(Fine(base + path, query, device, country, clicks, impressions, position))
    return out


def settle(cells: list[Fine], share: float) -> list[Fine]:
    """The cells as counted so far: `share` of the final clicks and impressions, rounded down (so a day only
    grows), cells with no impression yet left out."""
    if share >= 1.0:
        return cells
    out = []
    for c in cells:
        impressions = int(c.impressions * share)
        if impressions:
            out.append(Fine(c.page, c.query, c.device, c.country, min(int(c.clicks * share), impressions),
                            impressions, c.position))
    return out


def _date(body: dict[str, Any], field: str) -> date:
    text = body.get(field)
    if text is None:
        raise invalid(field, "the field is required")
    if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise invalid(field, f"{text!r} is not a date in YYYY-MM-DD format")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise invalid(field, f"{text!r} is not a date") from None


def _integer(body: dict[str, Any], field: str, default: int, low: int, high: int) -> int:
    value = body.get(field, default)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)  # int32 fields are accepted as JSON strings too
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(field, f"{value!r} is not an integer")
    if not low <= value <= high:
        raise invalid(field, f"{value} must be between {low} and {high}")
    return value


def parse_query(body: Any) -> Query:
    """The request body, checked as the API checks it (names are case-insensitive)."""
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid JSON payload received. Expected an object.", "parseError")
    start, end = _date(body, "startDate"), _date(body, "endDate")
    if start > end:
        raise invalid("startDate", "the start date must not be after the end date")
    dims = body.get("dimensions") or []
    if not isinstance(dims, list):
        raise invalid("dimensions", "must be a list")
    names = []
    for i, name in enumerate(dims):
        if not isinstance(name, str) or name.lower() not in DIMENSIONS:
            raise invalid(f"dimensions[{i}]", f"{name!r} is not one of {', '.join(DIMENSIONS)} here")
        names.append(name.lower())
    if len(set(names)) != len(names):
        raise invalid("dimensions", "a dimension may be named once only")
    if body.get("dimensionFilterGroups"):
        raise invalid("dimensionFilterGroups", "filters are not served by this fake")
    kind = str(body.get("type") or body.get("searchType") or "web").lower()
    if kind not in SEARCH_TYPES:
        raise invalid("type", f"{kind!r} is not one of {', '.join(SEARCH_TYPES)}")
    state = str(body.get("dataState") or "final").lower()
    if state not in DATA_STATES:
        raise invalid("dataState", f"{state!r} is not one of {', '.join(DATA_STATES)}")
    return Query(start, end, tuple(names), kind, state, _integer(body, "rowLimit", DEFAULT_ROW_LIMIT, 1, MAX_ROW_LIMIT),
                 _integer(body, "startRow", 0, 0, 2**31 - 1))


class FakeSearchConsole(Serving):
    """The fake Search Console API on 127.0.0.1 (a free port), in a background thread; use it as a context manager.

    Args:
        sites: the properties that exist; the service account may read them all (see `allowed_sites`).
        seed: the generated data's seed (a few pages × queries × devices × countries a day).
        today: the Pacific Time day that counts as today; defaults to the real one. Not with `clock`.
        clock: a shared FakeClock; today is then its moment's Pacific Time day at each request.
        tmp_dir: where to write the service-account key; a temporary folder (removed on stop) if None.

    Knobs, callable from the test at any time: `fail_next` (429 with Retry-After, 5xx), `exceed_quota_next`
    (403 quotaExceeded), `clear_faults`, `allowed_sites` (the others answer 403 permission denied), `ignore_start_row`,
    `settling` (how far the last days are counted), `inject_rows` (raw rows served verbatim), `empty_day` (a day
    answered with no rows, for good or until a later day), `clear_empty_days`.
    """

    def __init__(self, sites: Iterable[str] = ("https://www.example.com/",), *, seed: int = 7,
                 today: date | None = None, clock: FakeClock | None = None, tmp_dir: Path | str | None = None) -> None:
        if today is not None and clock is not None:
            raise ValueError("give FakeSearchConsole either today= or clock=, not both")
        self.sites = tuple(sites)
        self.seed = seed
        self.clock = clock
        self.requests: list[LoggedRequest] = []
        self.auth = SearchConsoleAuthority()
        self.ignore_start_row = False  # answer every page as if startRow were 0 (a broken server or proxy)
        self._today = today or date.today()
        self._lock = threading.Lock()
        self._allowed = frozenset(self.sites)
        self._faults: deque[ApiError] = deque()
        self._settling = dict(DEFAULT_SETTLING)
        self._injected: dict[tuple[date, tuple[str, ...]], list[dict[str, Any]]] = {}
        self._empty: dict[tuple[str | None, date], date | None] = {}  # (site, day) → first today it is served
        self._cells: dict[tuple[str, date], list[Fine]] = {}
        self._own_dir = tmp_dir is None
        self._dir = Path(tmp_dir) if tmp_dir is not None else Path(tempfile.mkdtemp(prefix="fake-search-console-"))
        self._server = _Server(self, _Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.token_uri = f"{self.url}/token"
        self.credentials_file, self.public_pem = make_service_account(self._dir, self.token_uri)
        self.key_id, self.service_account_email = key_identity(self.credentials_file)
        self.auth.trust(self.key_id, self.service_account_email, self.public_pem)

    def _on_stop(self) -> None:
        if self._own_dir:
            shutil.rmtree(self._dir, ignore_errors=True)

    @property
    def today(self) -> date:
        """The Pacific Time day the next request is answered on."""
        return self.clock.now().astimezone(PACIFIC).date() if self.clock is not None else self._today

    @property
    def first_incomplete_date(self) -> date | None:
        """The first day still being counted today (None when the settling profile is off)."""
        with self._lock:
            ages = [age for age, share in self._settling.items() if share < 1.0]
        return self.today - timedelta(days=max(ages)) if ages else None

    def share_key_with(self, other: TokenAuthority) -> None:
        """Let another fake's token authority (the fake GA4's `auth`) trust this fake's service-account key, so
        that one key file serves both, as GA4_CREDENTIALS_FILE does: the GA4 SDK signs its own JWTs with the key
        (it never asks /token), the Search Console client gets its token from this fake's /token."""
        other.trust(self.key_id, self.service_account_email, self.public_pem)

    # --- knobs ----------------------------------------------------------------------------------------------
    @property
    def allowed_sites(self) -> frozenset[str]:
        with self._lock:
            return self._allowed

    @allowed_sites.setter
    def allowed_sites(self, sites: Iterable[str]) -> None:
        with self._lock:
            self._allowed = frozenset(sites)

    def fail_next(self, n: int, status: int, retry_after: float | None = None) -> None:
        """Answer the next `n` API requests with 429 (the per-minute quota), 500 or 503; `retry_after` (seconds)
        adds a Retry-After header."""
        if status not in _FAULTS:
            raise ValueError(f"fail_next supports {', '.join(map(str, _FAULTS))}, not {status}")
        message, domain, reason = _FAULTS[status]
        self._queue(n, ApiError(status, message, reason, domain=domain, headers=_retry_header(retry_after)))

    def exceed_quota_next(self, n: int, reason: str = "quotaExceeded", retry_after: float | None = None) -> None:
        """Answer the next `n` API requests with Search Console's short-term load quota error: a 403 whose
        `errors[].reason` is `reason` (quotaExceeded or rateLimitExceeded)."""
        self._queue(n, ApiError(403, QUOTA_MESSAGE, reason, domain="usageLimits", headers=_retry_header(retry_after)))

    def _queue(self, n: int, error: ApiError) -> None:
        with self._lock:
            self._faults.extend([error] * n)

    def clear_faults(self) -> None:
        """Forget every queued failure (the API is back)."""
        with self._lock:
            self._faults.clear()

    def settling(self, profile: Mapping[int, float]) -> None:
        """Serve each day at `profile[age]` of its final clicks and impressions, age being (today − day).days, and
        flag the oldest such day as `firstIncompleteDate`; `{}` makes every day final. See DEFAULT_SETTLING."""
        ages = {int(age): float(share) for age, share in profile.items()}
        if any(age < 0 or not 0.0 <= share <= 1.0 for age, share in ages.items()):
            raise ValueError(f"settling needs ages ≥ 0 and shares in 0..1, got {dict(profile)}")
        with self._lock:
            self._settling = ages

    def inject_rows(self, day: date, dimensions: Sequence[str], rows: list[dict[str, Any]]) -> None:
        """Serve these rows verbatim, after the real ones, to requests grouped by exactly `dimensions` whose range
        holds `day`."""
        with self._lock:
            self._injected.setdefault((day, tuple(d.lower() for d in dimensions)), []).extend(rows)

    def empty_day(self, day: date, until: date | None = None, *, site_url: str | None = None) -> None:
        """Answer `day` with no rows at all while today (Pacific Time) is before `until`, for good if `until` is
        None; of `site_url` only, else of every site. `until` ≤ today serves the day again.

        Search Console answers a day it lost or has not processed yet like a day without a single impression:
        no `rows` key; the other days of the property are served as usual. Injected rows of the day are held back
        too.
        """
        with self._lock:
            self._empty[(site_url, day)] = until

    def clear_empty_days(self) -> None:
        """Serve every day `empty_day` emptied again."""
        with self._lock:
            self._empty.clear()

    def is_empty(self, site_url: str, day: date) -> bool:
        """Whether `day` of `site_url` is answered with no rows today (see `empty_day`)."""
        today = self.today
        with self._lock:
            spans = [self._empty[key] for key in ((site_url, day), (None, day)) if key in self._empty]
        return any(until is None or today < until for until in spans)

    # --- the data -------------------------------------------------------------------------------------------
    def cells(self, site_url: str, day: date, data_state: str = "all") -> list[Fine]:
        """The day's finest-grain cells as served today (partial days scaled down, future days and days emptied by
        `empty_day` empty)."""
        today = self.today
        age = (today - day).days
        if age < 0 or self.is_empty(site_url, day):
            return []
        with self._lock:
            share = self._settling.get(age, 1.0)
            cells = self._cells.get((site_url, day))
        if share < 1.0 and data_state == "final":
            return []
        if cells is None:
            cells = generate_day(site_url, day, self.seed)
            with self._lock:
                self._cells[(site_url, day)] = cells
        return settle(cells, share)

    def rows(self, site_url: str, query: Query) -> list[dict[str, Any]]:
        """Every row of the answer, before paging: grouped, clicks first (then impressions, then keys)."""
        groups: dict[tuple[str, ...], list[float]] = {}
        days = (query.end - query.start).days + 1 if query.search_type == "web" else 0  # only web search has data
        for day in (query.start + timedelta(days=n) for n in range(days)):
            for c in self.cells(site_url, day, query.data_state):
                if c.query is None and "query" in query.dimensions:
                    continue  # anonymised queries are left out of every grouping by query
                values = {"date": day.isoformat(), "page": c.page, "query": c.query or "", "device": c.device,
                          "country": c.country}
                total = groups.setdefault(tuple(values[d] for d in query.dimensions), [0, 0, 0.0])
                total[0] += c.clicks
                total[1] += c.impressions
                total[2] += c.position * c.impressions
        ordered = sorted(groups.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
        out: list[dict[str, Any]] = [{"keys": list(keys), "clicks": int(clicks), "impressions": int(impressions),
                                      "ctr": clicks / impressions, "position": weighted / impressions}
                                     for keys, (clicks, impressions, weighted) in ordered]
        with self._lock:
            injected = list(self._injected.items())
        for (when, dims), rows in injected:
            if dims == query.dimensions and query.start <= when <= query.end and not self.is_empty(site_url, when):
                out += rows
        return out

    def answer(self, site_url: str, body: Any) -> dict[str, Any]:
        """The success body of a searchAnalytics.query request, or ApiError."""
        query = parse_query(body)
        rows = self.rows(site_url, query)
        start = 0 if self.ignore_start_row else query.start_row
        out: dict[str, Any] = {}
        page = rows[start:start + query.row_limit]
        if page:
            out["rows"] = page
        out["responseAggregationType"] = "byPage" if "page" in query.dimensions else "byProperty"
        first = self.first_incomplete_date
        if query.data_state == "all" and "date" in query.dimensions and first is not None and query.end >= first:
            out["metadata"] = {"firstIncompleteDate": max(first, query.start).isoformat()}
        return out

    def respond(self, method: str, path: str, authorization: str | None, body: Any) -> Answer:
        """(status, extra headers, JSON body, site) of one API request; checks run in the service's order."""
        match = _QUERY.fullmatch(path)
        site = unquote(match[1]) if match else None
        try:
            if site is None or method != "POST":
                raise ApiError(404, f"Method not found: {method} {path}", "notFound")
            try:
                self.auth.check_bearer(authorization)
            except AuthFailure as exc:
                message = INVALID_CREDENTIALS if exc.status == 401 else exc.message
                raise ApiError(exc.status, message, "authError" if exc.status == 401 else "insufficientPermissions"
                               ) from None
            with self._lock:  # faults are for requests that got past authentication
                fault = self._faults.popleft() if self._faults else None
            if fault is not None:
                raise fault
            if site not in self.allowed_sites:
                raise ApiError(403, permission_message(site), "forbidden")
            return 200, {}, self.answer(site, body), site
        except ApiError as exc:
            return exc.status, exc.headers, exc.body(), site
        except Exception as exc:  # a bug in the fake: answer 500 so the test shows it
            return 500, {}, ApiError(500, f"fake Search Console failed: {exc!r}", "backendError").body(), site


def _retry_header(seconds: float | None) -> dict[str, str]:
    if seconds is None:
        return {}
    if seconds < 0 or math.isnan(seconds):
        raise ValueError(f"retry_after must be ≥ 0 seconds, got {seconds}")
    return {"Retry-After": f"{seconds:g}"}


class _Handler(LocalHandler):
    """/token (the service account's OAuth2 grant) and the searchAnalytics.query route."""

    server: _Server
    disable_nagle_algorithm = True  # headers and body go out in two writes: do not hold the body for an ACK

    def _handle(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        if path == "/token" and self.command == "POST":
            try:
                self._send(200, fake.auth.issue(raw), {"Cache-Control": "no-store"})
            except AuthFailure as exc:
                self._send(exc.status, {"error": exc.reason, "error_description": exc.message})
            return
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        status, headers, payload, site = fake.respond(self.command, path, self.headers.get("Authorization"), body)
        fake.requests.append(LoggedRequest(self.command, path, site, body, status))  # before answering: no race
        self._send(status, payload, headers)

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class _Server(LocalServer):
    fake: FakeSearchConsole
