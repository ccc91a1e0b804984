"""The Mailchimp Marketing API 3.0 wire format shared by the fake's modules: problem-JSON errors, query parameter
rules (paging, ISO 8601 times, choices, `since_*` / `before_*` windows), partial responses (`fields` /
`exclude_fields`) and Mailchimp's way of writing times and ids."""

from __future__ import annotations

import hashlib
import re
import time
import uuid
import zlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import numpy as np
import numpy.typing as npt

ERROR_TYPE = "https://mailchimp.com/developer/marketing/docs/errors/"
MAX_COUNT = 1000

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
BoolArray = npt.NDArray[np.bool_]


# --- errors, query parameters, partial responses -------------------------------------------------------------
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


def invalid(name: str, message: str) -> ApiError:
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
            raise invalid(name, f"Schema describes integer, {text!r} found instead") from None
        if value < 0 or (maximum is not None and value > maximum):
            bound = f"between 0 and {maximum}" if maximum is not None else "at least 0"
            raise invalid(name, f"{name} must be {bound}")
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
            raise invalid(name, f"{text!r} is not a valid ISO 8601 date-time") from None
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()

    def choice(self, name: str, allowed: Iterable[str], default: str | None = None) -> str | None:
        text = self.text(name)
        if text is None:
            return default
        options = {a.lower(): a for a in allowed}
        if text.lower() not in options:
            raise invalid(name, f"{text!r} is not one of {sorted(options.values())}")
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
def epoch(value: datetime) -> int:
    """Unix seconds of a datetime (a naive value is taken as UTC)."""
    return int((value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp())


def iso(seconds: float | None) -> str:
    """Mailchimp's timestamp format ("2026-09-01T08:00:00+00:00"); "" for None."""
    return "" if seconds is None else time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(seconds))


def hex_id(*parts: object) -> str:
    """A stable 10-hex-digit id, the shape of Mailchimp's list, campaign and unique-email ids."""
    return hashlib.md5(":".join(map(str, parts)).encode()).hexdigest()[:10]


def web_id(ident: str) -> int:
    """A stable 9-digit number, the shape of the `web_id` of Mailchimp's web app links."""
    return zlib.crc32(ident.encode()) % 900_000_000 + 100_000_000


def ip(number: int) -> str:
    """The (documentation-range) IP address a recipient opens, clicks and opts in from."""
    return f"198.51.100.{number % 250 + 1}"


def parse_iso(text: str) -> int | None:
    return epoch(datetime.fromisoformat(text)) if text else None


def between(items: list[Any], q: Query, name: str, key: Callable[[Any], int | None]) -> list[Any]:
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


def window(values: IntArray, q: Query, name: str) -> BoolArray:
    """`between` over a column of epoch seconds: the mask of values in [since_<name>, before_<name>)."""
    since, before = q.time(f"since_{name}"), q.time(f"before_{name}")
    mask = np.ones(len(values), bool)
    if since is not None:
        mask &= values >= since
    if before is not None:
        mask &= values < before
    return mask
