"""The fake GA4's HTTP layer: routing, faults, auth and quota per request, the request log, the threaded server."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.ga4_auth import AuthFailure
from tests.fakes.ga4_report import dumps
from tests.fakes.ga4_request import ApiError, parse_date, parse_report_request
from tests.fakes.ga4_schema import (
    DEFAULT_MESSAGES,
    MAX_BATCH,
    PERMISSION_MESSAGE,
    auth_error_details,
    error_body,
    metadata_body,
)
from tests.fakes.ga4_state import Plan
from tests.fakes.serving import LocalServer

if TYPE_CHECKING:
    from tests.fakes.ga4 import FakeGA4

_REPORT = re.compile(r"/v1beta/properties/([^/:]+):(runReport|batchRunReports)")
_METADATA = re.compile(r"/v1beta/properties/([^/:]+)/metadata")
_METHOD_NAMES = {"runReport": "RunReport", "batchRunReports": "BatchRunReports", "getMetadata": "GetMetadata"}


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One API request as the fake saw and answered it (`status` None: connection dropped, no answer)."""

    method: str
    path: str
    rpc: str | None  # runReport / batchRunReports / getMetadata; None for an unknown route
    property_id: str | None
    body: Any  # the parsed JSON body (None for GET or unparsable bodies)
    date_ranges: tuple[tuple[date, date], ...]  # every report's ranges, resolved; in order
    status: int | None
    headers: dict[str, str]


class RequestLog:
    """A thread-safe, append-only list of LoggedRequest."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[LoggedRequest] = []

    def append(self, item: LoggedRequest) -> None:
        with self._lock:
            self._items.append(item)

    def snapshot(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def statuses(self) -> list[int | None]:
        return [r.status for r in self.snapshot()]

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __getitem__(self, index: int) -> LoggedRequest:
        with self._lock:
            return self._items[index]


def _logged_ranges(body: Any, today: date) -> tuple[tuple[date, date], ...]:
    reports = body.get("requests", [body]) if isinstance(body, dict) else []
    out = []
    for report in reports:
        for item in report.get("dateRanges", []) if isinstance(report, dict) else []:
            try:
                out.append((parse_date(str(item.get("startDate")), today), parse_date(str(item.get("endDate")), today)))
            except (ApiError, AttributeError):
                continue
    return tuple(out)


def _route(method: str, path: str) -> tuple[str | None, str | None]:
    if method == "POST" and (m := _REPORT.fullmatch(path)):
        return m[2], m[1]
    if method == "GET" and (m := _METADATA.fullmatch(path)):
        return "getMetadata", m[1]
    return None, None


def answer(fake: FakeGA4, plan: Plan, rpc: str | None, prop: str | None, body: Any,
           authorization: str | None, enum_ints: bool) -> dict[str, Any]:
    """The success body of an API request, or ApiError; checks run in the real service's order."""
    if rpc is None or prop is None:
        raise ApiError(404, "Method not found.")
    if plan.fail_status is not None:
        if plan.fail_status >= 500:
            fake.state.server_error()
        retry = {"Retry-After": "1"} if plan.fail_status == 429 else {}
        raise ApiError(plan.fail_status, DEFAULT_MESSAGES[plan.fail_status], headers=retry)
    try:
        fake.auth.check_bearer(authorization)
    except AuthFailure as exc:
        raise ApiError(exc.status, exc.message, details=auth_error_details(exc.reason, _METHOD_NAMES[rpc])) from None
    if prop not in fake.allowed_properties and not (rpc == "getMetadata" and prop == "0"):
        raise ApiError(403, PERMISSION_MESSAGE)
    if rpc == "getMetadata":
        return metadata_body(prop, enum_ints)
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid JSON payload received. Expected a JSON object.")
    today = fake.engine.today  # read once: every report of the request resolves against the same day
    if rpc == "runReport":
        requests = [parse_report_request(body, today)]
    else:
        subs = body.get("requests", [])
        if not subs or len(subs) > MAX_BATCH:
            raise ApiError(400, f"A batch must hold 1 to {MAX_BATCH} requests; this one holds {len(subs)}.")
        for sub in subs:
            if isinstance(sub, dict) and sub.get("property", f"properties/{prop}") != f"properties/{prop}":
                raise ApiError(400, "The property of every request in a batch must be empty or the batch's.")
        requests = [parse_report_request(sub, today) for sub in subs]
    charge = fake.state.charge(len(requests))
    if charge.refused:
        raise ApiError(429, charge.refused)
    reports = []
    for req in requests:
        report = fake.engine.run(req, enum_ints, today)
        if req.return_property_quota:
            report["propertyQuota"] = charge.status
        reports.append(report)
    return reports[0] if rpc == "runReport" else {"reports": reports, "kind": "analyticsData#batchRunReports"}


class Handler(BaseHTTPRequestHandler):
    """Routes /token and /v1beta/...; HTTP/1.1 keep-alive like Google's front end."""

    protocol_version = "HTTP/1.1"
    timeout = 60  # an idle keep-alive connection is closed after this many seconds
    server: FakeServer

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        url = urlsplit(self.path)
        raw = self._read_body()
        if url.path == "/token" and self.command == "POST":
            try:
                self._send(200, self.server.fake.auth.issue(raw), {"Cache-Control": "no-store"})
            except AuthFailure as exc:
                self._send(exc.status, {"error": exc.reason, "error_description": exc.message})
            return
        self._api(url.path, parse_qs(url.query), raw)

    def _api(self, path: str, query: dict[str, list[str]], raw: bytes) -> None:
        fake = self.server.fake
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        rpc, prop = _route(self.command, path)
        log = {"method": self.command, "path": path, "rpc": rpc, "property_id": prop, "body": body,
               "date_ranges": _logged_ranges(body, fake.engine.today), "headers": dict(self.headers.items())}
        plan = fake.state.next_plan()
        if plan.delay:
            time.sleep(plan.delay)
        if plan.drop:
            fake.requests.append(LoggedRequest(**log, status=None))
            self.close_connection = True  # no status line at all: the client sees the socket close
            return
        enum_ints = "enum-encoding=int" in ";".join(query.get("$alt", []))
        status, headers = 200, {}
        try:
            payload = answer(fake, plan, rpc, prop, body, self.headers.get("Authorization"), enum_ints)
        except ApiError as exc:
            status, headers, payload = exc.status, exc.headers, error_body(exc.status, exc.message, exc.details)
        except Exception as exc:  # a bug in the fake: answer 500 so the test shows it
            status, payload = 500, error_body(500, f"fake GA4 failed: {exc!r}")
        fake.requests.append(LoggedRequest(**log, status=status))  # before answering: no race with the test
        self._send(status, payload, headers)


class FakeServer(LocalServer):
    """The GA4 fake's server."""

    fake: FakeGA4


def make_server(fake: FakeGA4) -> FakeServer:
    """A server bound to a free port on 127.0.0.1 (not yet serving)."""
    return FakeServer(fake, Handler)
