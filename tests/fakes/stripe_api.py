"""A local HTTP server speaking the Stripe REST API (v1, read endpoints), for tests that drive the official SDK.

Point the real library at it with `stripe.StripeClient(fake.api_key, base_addresses={"api": fake.url})`.

What it serves (GET only, Bearer or Basic auth with `api_key`):

- `/v1/account` (the key's account, `account_id`)
- `/v1/checkout/sessions`, `/v1/checkout/sessions/{id}`, `/v1/checkout/sessions/{id}/line_items`
- `/v1/events`, `/v1/events/{id}`
- `/v1/payment_intents`, `/v1/payment_intents/{id}`
- `/v1/refunds`, `/v1/refunds/{id}`
- `/v1/subscriptions`, `/v1/subscriptions/{id}`

It behaves like Stripe where a client can tell: lists are newest first (`created` desc, then id desc) with
`limit` 1–100 (default 10), `starting_after` / `ending_before` cursors and `has_more`; `created[gt|gte|lt|lte]`
filters; unknown parameters are refused (400 `parameter_unknown`); `expand[]` / `expand[N]` work on the
expandable paths below and a path deeper than 4 levels is refused, as Stripe refuses it (on a list the leading
`data.` counts, so `data.line_items.data.price.product` is a 400 while `line_items.data.price.product` on a
single session is fine); error bodies, `Request-Id` and `Stripe-Version` headers have Stripe's shapes.

Expandable: `line_items` on a session (then `line_items.data.price.product`), `data.price.product` on its line
items, `items.data.price.product` on a subscription; nothing on a payment intent. A real expandable field the fake
does not model (e.g. a session's `customer`, a payment intent's `latest_charge`) is refused with a message that says
so.

API versions: the `Stripe-Version` request header (the library always sends its pinned version), else the
account default `api_version`. From 2025-03-31 (basil) on, a subscription's `current_period_start/end` live on
its items only, as in Stripe; before that they are on the subscription too.

Events: Stripe has no `checkout.session.created` event; a session added as complete records
`checkout.session.completed` at its `created` time, one added as expired records `checkout.session.expired`
at its `expires_at`, and `set_status` records the transition (`data.object` is the session as it was then).
A payment intent records `payment_intent.created` (as it was then: requires_payment_method, no attempt yet), then
`payment_intent.payment_failed` when it has a failure, `payment_intent.succeeded` when it succeeded and
`payment_intent.canceled` at `canceled_at` when canceled.

Payment intents: a complete payment-mode session renders `pi_test_<seq>` (an id, nothing stored behind it) unless
`add_payment_intent(session_id=...)` attached a stored one. Stored intents default to `pi_test_<n>`, n from the same
counter that numbers sessions, so the two can never collide.
"""

from __future__ import annotations

import base64
import calendar
import itertools
import json
import random
import re
import threading
import time
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import parse_qs, urlsplit

from tests.fakes.serving import LocalHandler, LocalServer, Serving

__all__ = ["DEFAULT_API_VERSION", "FakeStripe", "LoggedRequest", "StripeError"]

DEFAULT_API_VERSION = "2026-02-25.clover"  # the version stripe-python 14.4 pins (stripe._api_version)
_BASIL = "2025-03-31"  # from this version on, current_period_start/end moved from subscriptions to their items
MAX_LIMIT = 100
MAX_EXPAND_DEPTH = 4
_DAY = 86_400
_VERSION_RE = re.compile(r"\d{4}-\d{2}-\d{2}(\.[a-z_]+)?")
_KEY_RE = re.compile(r"([A-Za-z0-9_]+)((?:\[[^\[\]]*\])*)")
_SUB_RE = re.compile(r"\[([^\[\]]*)\]")
_DOCS = "https://stripe.com/docs/error-codes/"
_NO_KEY = ("You did not provide an API key. You need to provide your API key in the Authorization header, using "
           "Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication "
           "for details, or we can help at https://support.stripe.com/.")
_RATE_LIMITED = ("Request rate limit exceeded. Learn more about rate limits here "
                 "https://stripe.com/docs/rate-limits.")
SESSION_STATUSES = ("open", "complete", "expired")
PAYMENT_STATUSES = ("paid", "unpaid", "no_payment_required")
SUBSCRIPTION_STATUSES = ("active", "canceled", "incomplete", "incomplete_expired", "past_due", "paused",
                         "trialing", "unpaid")
REFUND_STATUSES = ("pending", "requires_action", "succeeded", "failed", "canceled")
PAYMENT_INTENT_STATUSES = ("requires_payment_method", "requires_confirmation", "requires_action", "processing",
                           "requires_capture", "canceled", "succeeded")
CANCELLATION_REASONS = ("abandoned", "automatic", "duplicate", "expired", "failed_invoice", "fraudulent",
                        "requested_by_customer", "void_invoice")
_ATTEMPTED = ("succeeded", "processing", "requires_capture")  # a charge exists for the latest attempt
_ERROR_SHOWN = ("requires_payment_method", "canceled")  # Stripe clears last_payment_error on the next confirmation
_DECLINE_MESSAGES = {
    "insufficient_funds": "Your card has insufficient funds.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "incorrect_number": "Your card number is incorrect.",
    "processing_error": "An error occurred while processing your card. Try again in a little bit.",
    "authentication_required": "Your card was declined. This transaction requires authentication.",
    "card_velocity_exceeded": "Your card was declined for making repeated attempts too frequently or exceeding "
                              "its amount limit.",
}


# --- errors -----------------------------------------------------------------------------------------------------
class StripeError(Exception):
    """An error answer: HTTP status, the `error` object of Stripe's body, extra response headers."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error", code: str | None = None,
                 param: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error: dict[str, Any] = {"message": message, "type": type}
        if code is not None:
            self.error["code"] = code
            self.error["doc_url"] = _DOCS + code.replace("_", "-")
        if param is not None:
            self.error["param"] = param
        self.headers = headers or {}


def _missing(kind: str, object_id: str, param: str = "id", status: int = 404) -> StripeError:
    return StripeError(status, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


def _masked(key: str) -> str:
    """A key as Stripe echoes it: the prefix and the last four characters, the rest starred."""
    prefix = key[:8] if key.startswith(("sk_", "rk_", "pk_")) else key[:3]
    if len(key) <= len(prefix) + 4:
        return prefix + "*" * max(0, len(key) - len(prefix))
    return prefix + "*" * (len(key) - len(prefix) - 4) + key[-4:]


def fault_error(status: int, retry_after: float | None = None, api_key: str = "sk_test_fake") -> StripeError:
    """The error Stripe answers with `status` (429 rate limit, 5xx api_error, ...), plus Retry-After if given."""
    headers = {"Retry-After": _retry_after_value(retry_after)} if retry_after is not None else {}
    if status == 429:
        return StripeError(429, _RATE_LIMITED, code="rate_limit", headers=headers)
    if status >= 500:
        return StripeError(status, "An unknown error occurred", type="api_error", headers=headers)
    if status == 401:
        return StripeError(401, f"Invalid API Key provided: {_masked(api_key)}",
                           headers={"WWW-Authenticate": 'Basic realm="Stripe"', **headers})
    if status == 402:
        return StripeError(402, "Your card was declined.", type="card_error", code="card_declined", headers=headers)
    if status == 403:
        return StripeError(403, f"The provided key '{_masked(api_key)}' does not have the required permissions for "
                                "this endpoint.", headers=headers)
    if status == 404:
        return StripeError(404, "The requested resource does not exist.", code="resource_missing", headers=headers)
    if status == 409:
        return StripeError(409, "This object cannot be accessed right now because another API request or Stripe "
                                "process is currently accessing it.", code="lock_timeout", headers=headers)
    return StripeError(status, "The request could not be processed.", headers=headers)


def _retry_after_value(seconds: float) -> str:
    """HTTP delta-seconds are whole: 1 → "1", 1.5 → "2" (stripe-python reads the header with int())."""
    whole = int(seconds)
    return str(whole if whole == seconds else whole + 1)


# --- records ------------------------------------------------------------------------------------------------------
class _Record(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def created(self) -> int: ...


R = TypeVar("R", bound=_Record)


@dataclass(slots=True, eq=False)
class _Session:
    id: str
    created: int
    expires_at: int
    status: str
    payment_status: str
    mode: str
    amount_total: int | None
    currency: str
    email: str | None
    product_id: str
    product_name: str
    price_id: str
    seq: int  # names the session's derived objects: li_<seq>, pi_<seq>, cus_<seq>, sub_<seq>
    payment_intent: str | None = None  # a stored intent attached by add_payment_intent(session_id=...)


def _session_intent(s: _Session) -> str | None:
    """The session's `payment_intent`: the attached one, else pi_test_<seq> once complete in payment mode."""
    if s.payment_intent is not None:
        return s.payment_intent
    return f"pi_test_{s.seq}" if s.status == "complete" and s.mode == "payment" else None


@dataclass(slots=True, eq=False)
class _Refund:
    id: str
    created: int
    amount: int
    currency: str
    charge: str | None
    payment_intent: str | None
    status: str
    reason: str | None


@dataclass(slots=True, eq=False)
class _PaymentIntent:
    id: str
    created: int
    amount: int
    currency: str
    status: str
    customer: str | None
    failure_code: str | None
    decline_code: str | None
    canceled_at: int | None
    cancellation_reason: str | None
    charge: str  # the charge of the latest attempt (rendered when status is in _ATTEMPTED)
    failed_charge: str | None  # the declined attempt's charge (when failure_code is set)
    payment_method: str


@dataclass(slots=True, eq=False)
class _Subscription:
    id: str
    created: int
    status: str
    customer: str
    product_id: str
    product_name: str
    price_id: str
    unit_amount: int
    currency: str
    interval: str
    quantity: int
    current_period_start: int
    current_period_end: int
    canceled_at: int | None
    seq: int


@dataclass(slots=True, eq=False)
class _Event:
    id: str
    created: int
    type: str
    obj: _Session | _Refund | _Subscription | _PaymentIntent
    status: str | None = None  # the object's status (and payment status) when the event happened
    payment_status: str | None = None


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One request as the fake saw and answered it; header names are lower-case."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    status: int

    @property
    def stripe_version(self) -> str | None:
        return self.headers.get("stripe-version")

    @property
    def params(self) -> dict[str, str]:
        """The query with single values (the last one when a key repeats)."""
        return {k: v[-1] for k, v in self.query.items()}


class _Sorted(Generic[R]):
    """Records kept in (created, id) order, found by id; pages are cut newest first, as Stripe cuts them."""

    def __init__(self, kind: str) -> None:
        self.kind = kind  # the object name used in "No such <kind>" errors
        self._items: list[R] = []
        self._by_id: dict[str, R] = {}
        self._sorted = True

    def __len__(self) -> int:
        return len(self._items)

    def add(self, item: R) -> None:
        if item.id in self._by_id:
            raise ValueError(f"duplicate {self.kind} id {item.id!r}")
        if self._items and _key(item) < _key(self._items[-1]):
            self._sorted = False
        self._items.append(item)
        self._by_id[item.id] = item

    def extend(self, items: list[R]) -> None:
        """Add many records at once (fastest when `items` is already in (created, id) order)."""
        by_id = {item.id: item for item in items}
        if len(by_id) != len(items) or not by_id.keys().isdisjoint(self._by_id):
            raise ValueError(f"duplicate {self.kind} ids")
        if items and self._items and _key(items[0]) < _key(self._items[-1]):
            self._sorted = False
        self._sorted = self._sorted and all(a.created < b.created or (a.created == b.created and a.id <= b.id)
                                            for a, b in itertools.pairwise(items))
        self._items.extend(items)
        self._by_id.update(by_id)

    def get(self, object_id: str) -> R | None:
        return self._by_id.get(object_id)

    def _ordered(self) -> list[R]:
        if not self._sorted:
            self._items.sort(key=_key)
            self._sorted = True
        return self._items

    def page(self, lo: int, hi: int, limit: int, *, after: str | None = None, before: str | None = None,
             match: Callable[[R], bool] | None = None) -> tuple[list[R], bool]:
        """Up to `limit` records with lo <= created <= hi, newest first, and whether more lie beyond them.

        `after` (starting_after): only records older than that one; `before` (ending_before): only newer ones,
        the `limit` closest to it (still listed newest first).
        """
        items = self._ordered()
        lo_i = bisect_left(items, lo, key=_created)
        hi_i = bisect_right(items, hi, key=_created)
        out: list[R] = []
        if before is not None:
            i = max(lo_i, bisect_right(items, _key(self._cursor(before, "ending_before")), key=_key))
            while i < hi_i and len(out) <= limit:
                if match is None or match(items[i]):
                    out.append(items[i])
                i += 1
            more = len(out) > limit
            out = out[:limit]
            out.reverse()
            return out, more
        i = hi_i - 1
        if after is not None:
            i = min(i, bisect_left(items, _key(self._cursor(after, "starting_after")), key=_key) - 1)
        while i >= lo_i and len(out) <= limit:
            if match is None or match(items[i]):
                out.append(items[i])
            i -= 1
        return out[:limit], len(out) > limit

    def _cursor(self, object_id: str, param: str) -> R:
        item = self._by_id.get(object_id)
        if item is None:
            raise _missing(self.kind, object_id, param=param, status=400)
        return item


def _key(item: _Record) -> tuple[int, str]:
    return item.created, item.id


def _created(item: _Record) -> int:
    return item.created


def unix(moment: datetime) -> int:
    """Seconds since the epoch; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return calendar.timegm(moment.utctimetuple())


def _add_interval(start: int, interval: str, count: int = 1) -> int:
    """`start` plus `count` billing intervals (calendar months and years, as Stripe bills them)."""
    if interval == "day":
        return start + count * _DAY
    if interval == "week":
        return start + count * 7 * _DAY
    moment = datetime.fromtimestamp(start, UTC)
    months = count * (12 if interval == "year" else 1)
    year, month = divmod(moment.month - 1 + months, 12)
    year += moment.year
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return unix(moment.replace(year=year, month=month + 1, day=day))


# --- query parameters ---------------------------------------------------------------------------------------------
_RANGE_OPS = ("gt", "gte", "lt", "lte")


class _Params:
    """A request's form-encoded query, checked against what the endpoint accepts (Stripe refuses the rest).

    `spec` maps each accepted name to its kind: "str", "int", "bool", "range" (`x=1` or `x[gte]=1`),
    "array" (`x[]=a` or `x[0]=a`), "unsupported" (real Stripe accepts it; the fake does not model it).
    """

    def __init__(self, query: dict[str, list[str]], spec: dict[str, str]) -> None:
        self.values: dict[str, Any] = {}
        arrays: dict[str, list[tuple[int, int, str]]] = {}
        order = itertools.count()
        for raw_key, values in query.items():
            m = _KEY_RE.fullmatch(raw_key)
            name = m[1] if m else raw_key
            kind = spec.get(name)
            if m is None or kind is None:
                raise StripeError(400, f"Received unknown parameter: {raw_key}", code="parameter_unknown",
                                  param=raw_key)
            if kind == "unsupported":
                raise StripeError(400, f"The fake Stripe API does not implement the `{name}` parameter.",
                                  param=name)
            subs = _SUB_RE.findall(m[2])
            if kind == "array":
                if len(subs) != 1 or (subs[0] and not subs[0].isdigit()):
                    raise StripeError(400, f"Invalid array: {raw_key}", param=name)
                index = int(subs[0]) if subs[0] else -1
                arrays.setdefault(name, []).extend((index, next(order), v) for v in values)
            elif kind == "range":
                bounds = self.values.setdefault(name, {})
                if not subs:
                    bounds["eq"] = _int(values[-1], name)
                elif len(subs) == 1 and subs[0] in _RANGE_OPS:
                    bounds[subs[0]] = _int(values[-1], raw_key)
                else:
                    raise StripeError(400, f"Received unknown parameter: {raw_key}", code="parameter_unknown",
                                      param=raw_key)
            elif kind == "email":  # a hash with one key, `x[email]`
                if subs != ["email"]:
                    raise StripeError(400, f"Received unknown parameter: {raw_key}", code="parameter_unknown",
                                      param=raw_key)
                self.values[name] = values[-1]
            elif subs:
                raise StripeError(400, f"Invalid value for {name}: expected a single value, not a hash", param=name)
            elif kind == "int":
                self.values[name] = _int(values[-1], name)
            elif kind == "bool":
                if values[-1] not in ("true", "false"):
                    raise StripeError(400, f"Invalid boolean: {values[-1]}", code="parameter_invalid_boolean",
                                      param=name)
                self.values[name] = values[-1] == "true"
            else:
                self.values[name] = values[-1]
        for name, entries in arrays.items():
            self.values[name] = [v for _, _, v in sorted(entries)]

    def get(self, name: str) -> Any:
        return self.values.get(name)

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        return value if isinstance(value, str) and value != "" else None

    def window(self, name: str = "created") -> tuple[int, int]:
        """The inclusive [lo, hi] range of `name[...]`; everything when absent."""
        lo, hi = -(2**63), 2**63
        for op, value in (self.values.get(name) or {}).items():
            if op in ("gte", "eq"):
                lo = max(lo, value)
            if op == "gt":
                lo = max(lo, value + 1)
            if op in ("lte", "eq"):
                hi = min(hi, value)
            if op == "lt":
                hi = min(hi, value - 1)
        return lo, hi

    def limit(self) -> int:
        limit = self.values.get("limit", 10)
        if not 1 <= limit <= MAX_LIMIT:
            bound = "greater than or equal to 1" if limit < 1 else f"less than or equal to {MAX_LIMIT}"
            raise StripeError(400, f"This value must be {bound}.", code="parameter_invalid_integer", param="limit")
        return int(limit)

    def cursors(self) -> tuple[str | None, str | None]:
        after, before = self.text("starting_after"), self.text("ending_before")
        if after is not None and before is not None:
            raise StripeError(400, "You may only specify one of these parameters: ending_before, starting_after.")
        return after, before

    def enum(self, name: str, allowed: Iterable[str]) -> str | None:
        value = self.values.get(name)
        choices = tuple(allowed)
        if value is not None and value not in choices:
            listed = ", ".join(choices[:-1]) + f", or {choices[-1]}"
            raise StripeError(400, f"Invalid {name}: must be one of {listed}", code="parameter_invalid_string",
                              param=name)
        return value if isinstance(value, str) else None


def _int(value: str, param: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise StripeError(400, f"Invalid integer: {value}", code="parameter_invalid_integer", param=param) from None


_LIST_PARAMS = {"ending_before": "str", "expand": "array", "limit": "int", "starting_after": "str"}
_SESSION_LIST = {**_LIST_PARAMS, "created": "range", "customer": "str", "customer_details": "email",
                 "payment_intent": "str", "payment_link": "str", "status": "str", "subscription": "str",
                 "customer_account": "unsupported"}
_EVENT_LIST = {**_LIST_PARAMS, "created": "range", "delivery_success": "bool", "type": "str", "types": "array"}
_REFUND_LIST = {**_LIST_PARAMS, "charge": "str", "created": "range", "payment_intent": "str"}
_PAYMENT_INTENT_LIST = {**_LIST_PARAMS, "created": "range", "customer": "str", "customer_account": "unsupported"}
_SUBSCRIPTION_LIST = {**_LIST_PARAMS, "collection_method": "str", "created": "range", "current_period_end": "range",
                      "current_period_start": "range", "customer": "str", "plan": "str", "price": "str",
                      "status": "str", "automatic_tax": "unsupported", "customer_account": "unsupported",
                      "test_clock": "unsupported"}
_RETRIEVE = {"expand": "array"}
_PAYMENT_INTENT_RETRIEVE = {**_RETRIEVE, "client_secret": "unsupported"}

# --- expansion ----------------------------------------------------------------------------------------------------
# Each object type's expandable (or walkable) fields and what they hold; "list:x" is a list object of x.
_EXPANDABLE: dict[str, dict[str, str]] = {
    "checkout.session": {"line_items": "list:item"},
    "item": {"price": "price"},
    "price": {"product": "product"},
    "subscription": {"items": "list:subscription_item"},
    "subscription_item": {"price": "price"},
}
# Fields Stripe can expand that the fake does not model: refused with a message that says so.
_NOT_MODELLED: dict[str, frozenset[str]] = {
    "checkout.session": frozenset({"customer", "invoice", "payment_intent", "payment_link", "setup_intent",
                                   "subscription", "discounts"}),
    "payment_intent": frozenset({"application", "customer", "invoice", "latest_charge", "on_behalf_of",
                                 "payment_method", "review", "source"}),
    "refund": frozenset({"balance_transaction", "charge", "failure_balance_transaction", "payment_intent",
                         "source_transfer_reversal", "transfer_reversal"}),
    "subscription": frozenset({"customer", "default_payment_method", "default_source", "latest_invoice",
                               "pending_setup_intent", "schedule", "test_clock", "discounts"}),
}


def check_expand(paths: list[str], root: str) -> None:
    """Refuse what Stripe refuses: paths deeper than 4 levels (a list's `data.` counts) and unexpandable fields."""
    for path in paths:
        segments = path.split(".")
        if len(segments) > MAX_EXPAND_DEPTH:
            raise StripeError(400, f"You cannot expand more than {MAX_EXPAND_DEPTH} levels of a property. "
                                   f"Property: {path}")
        kind = root
        for seg in segments:
            if kind.startswith("list:") and seg == "data":
                kind = kind[5:]
            elif seg in _EXPANDABLE.get(kind, {}):
                kind = _EXPANDABLE[kind][seg]
            elif seg in _NOT_MODELLED.get(kind, ()):
                raise StripeError(400, f"The fake Stripe API does not expand `{seg}` on {kind} (Stripe does).",
                                  param="expand")
            else:
                raise StripeError(400, f"This property cannot be expanded ({seg}).", param="expand")


# --- the fake -----------------------------------------------------------------------------------------------------
_CATALOGUE: tuple[tuple[str, str, str, str, dict[str, int], float], ...] = (
    # product, name, price, mode, amount per currency, share of sessions
    ("prod_course", "Sourdough Masterclass", "price_course", "payment", {"gbp": 4900, "eur": 5700, "usd": 6200}, .45),
    ("prod_workshop", "Bread Basics Workshop", "price_workshop", "payment", {"gbp": 2500, "eur": 2900, "usd": 3200},
     .25),
    ("prod_book", "The Sourdough Book", "price_book", "payment", {"gbp": 1800, "eur": 2100, "usd": 2300}, .20),
    ("prod_club", "Bakers' Club Membership", "price_club_monthly", "subscription",
     {"gbp": 900, "eur": 1000, "usd": 1100}, .10),
)


@dataclass
class _Fault:
    status: int
    retry_after: float | None


@dataclass
class _Counters:
    in_flight: int = 0
    max_concurrent: int = 0
    request_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))


class FakeStripe(Serving):
    """The fake Stripe API on 127.0.0.1 (a free port), in a background thread; use it as a context manager.

    Args:
        api_key: the only secret key accepted (Bearer, or Basic with the key as user name).
        api_version: the account's default API version, used for requests without `Stripe-Version` and for
            rendering events; defaults to the version the installed stripe-python pins.

    Attributes:
        url: the base address for `base_addresses={"api": url}` (no trailing slash).
        requests: every request, in arrival order (appended before the answer is sent).
        max_concurrent: the most requests ever in flight at once.
        latency: seconds added to every answer (to make concurrency observable).
        event_retention_days: when set (Stripe keeps 30), `/v1/events` hides events older than that.
    """

    def __init__(self, api_key: str = "sk_test_fake", *, api_version: str | None = None) -> None:
        self.api_key = api_key
        self.account_id = "acct_1TestBakery000"
        self.api_version = api_version or DEFAULT_API_VERSION
        self.latency = 0.0
        self.event_retention_days: int | None = None
        self.requests: list[LoggedRequest] = []
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._faults: deque[_Fault] = deque()
        self._counters = _Counters()
        self._sessions: _Sorted[_Session] = _Sorted("checkout.session")
        self._events: _Sorted[_Event] = _Sorted("event")
        self._refunds: _Sorted[_Refund] = _Sorted("refund")
        self._payment_intents: _Sorted[_PaymentIntent] = _Sorted("payment_intent")
        self._subscriptions: _Sorted[_Subscription] = _Sorted("subscription")
        self._products: dict[str, tuple[str, int]] = {}  # id → (name, created)
        self._server = _FakeServer(self, _Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def max_concurrent(self) -> int:
        with self._lock:
            return self._counters.max_concurrent

    # --- data (call from the test thread at any time) -------------------------------------------------------------
    def add_session(self, *, created: datetime, status: str = "complete", payment_status: str | None = None,
                    mode: str = "payment", amount_total: int | None = 4900, currency: str = "gbp",
                    customer_email: str | None = "buyer@example.com", product_id: str = "prod_course",
                    product_name: str = "Sourdough Masterclass", price_id: str = "price_course",
                    expires_at: datetime | None = None, session_id: str | None = None) -> dict[str, Any]:
        """Store a Checkout Session and return it as the API renders it (a copy).

        `payment_status` defaults to "paid" when complete, else "unpaid"; `expires_at` to created + 24 h;
        `session_id` to "cs_test_<n>". A complete session records `checkout.session.completed` (at `created`),
        an expired one `checkout.session.expired` (at `expires_at`). Only complete sessions carry
        `customer_details` (the buyer typed them at checkout); `customer_email` is set whatever the status.
        """
        if status not in SESSION_STATUSES:
            raise ValueError(f"status must be one of {SESSION_STATUSES}, not {status!r}")
        if payment_status is not None and payment_status not in PAYMENT_STATUSES:
            raise ValueError(f"payment_status must be one of {PAYMENT_STATUSES}, not {payment_status!r}")
        start = unix(created)
        with self._lock:
            n = next(self._ids)
            session = _Session(
                id=session_id or f"cs_test_{n}", created=start,
                expires_at=unix(expires_at) if expires_at is not None else start + _DAY, status=status,
                payment_status=payment_status or ("paid" if status == "complete" else "unpaid"), mode=mode,
                amount_total=amount_total, currency=currency.lower(), email=customer_email, product_id=product_id,
                product_name=product_name, price_id=price_id, seq=n)
            self._sessions.add(session)
            self._name_product(product_id, product_name, start)
            if status == "complete":
                self._session_event(session, "checkout.session.completed", start)
            elif status == "expired":
                self._session_event(session, "checkout.session.expired", session.expires_at)
            return self._render_session(session)

    def set_status(self, session_id: str, status: str, payment_status: str | None = None, *,
                   at: datetime | None = None) -> None:
        """Move a session to `status` and record the event Stripe would send.

        open → expired: `checkout.session.expired`; open → complete: `checkout.session.completed`; complete and
        unpaid → paid: `checkout.session.async_payment_succeeded`. The event happens `at`, by default now, but
        never after the session's expiry nor before its creation.
        """
        if status not in SESSION_STATUSES:
            raise ValueError(f"status must be one of {SESSION_STATUSES}, not {status!r}")
        if payment_status is not None and payment_status not in PAYMENT_STATUSES:
            raise ValueError(f"payment_status must be one of {PAYMENT_STATUSES}, not {payment_status!r}")
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                raise KeyError(session_id)
            old_status, old_payment = session.status, session.payment_status
            session.status = status
            session.payment_status = payment_status or (
                old_payment if status == old_status else "paid" if status == "complete" else "unpaid")
            when = unix(at) if at is not None else max(session.created, min(int(time.time()), session.expires_at))
            if status == "expired" and old_status != "expired":
                self._session_event(session, "checkout.session.expired", when)
            elif status == "complete" and old_status != "complete":
                self._session_event(session, "checkout.session.completed", when)
            elif status == "complete" and old_payment == "unpaid" and session.payment_status == "paid":
                self._session_event(session, "checkout.session.async_payment_succeeded", when)

    def add_sessions_bulk(self, n: int, start: datetime, days: int, seed: int = 0) -> None:
        """`n` sessions spread over `days` days from `start`; deterministic per seed.

        Mix: four products (a subscription among them), mostly gbp (≈85 %, then eur, usd), ≈62 % complete
        (a few of them still unpaid), the rest expired; sessions from the last day may still be open. Repeat
        buyers share an e-mail address; ≈10 % have none. Completed / expired events are recorded too.
        """
        rng = random.Random(seed)
        t0 = unix(start)
        span = max(1, days * _DAY)
        end = t0 + span
        shares = list(itertools.accumulate(entry[5] for entry in _CATALOGUE))
        last = len(_CATALOGUE) - 1
        buyers = max(1, n // 3)
        sessions: list[_Session] = []
        events: list[_Event] = []
        with self._lock:
            first = next(self._ids)
            self._ids = itertools.count(first + n)
            moments = sorted(t0 + int(rng.random() * span) for _ in range(n))
            for i, created in enumerate(moments):
                seq = first + i
                pick = rng.random() * shares[-1]
                product_id, name, price_id, mode, amounts, _ = _CATALOGUE[min(bisect_right(shares, pick), last)]
                c = rng.random()
                currency = "gbp" if c < 0.85 else "eur" if c < 0.95 else "usd"
                s = rng.random()
                expires = created + _DAY
                if s < 0.62:
                    status, paid = "complete", "paid" if rng.random() < 0.97 else "unpaid"
                else:
                    status, paid = ("open" if expires > end and s > 0.9 else "expired"), "unpaid"
                email = f"customer{int(rng.random() * buyers)}@example.com" if rng.random() < 0.9 else None
                session = _Session(f"cs_test_{seq}", created, expires, status, paid, mode, amounts[currency],
                                   currency, email, product_id, name,
                                   price_id if currency == "gbp" else f"{price_id}_{currency}", seq)
                sessions.append(session)
                if status == "complete":
                    events.append(_Event(f"evt_{seq}", created, "checkout.session.completed", session, status, paid))
                elif status == "expired":
                    events.append(_Event(f"evt_{seq}", expires, "checkout.session.expired", session, status, paid))
            self._sessions.extend(sessions)
            self._events.extend(events)
            for product_id, name, *_ in _CATALOGUE:
                self._products.setdefault(product_id, (name, t0))

    def add_refund(self, *, created: datetime, amount: int = 4900, currency: str = "gbp",
                   payment_intent: str | None = None, charge: str | None = None, status: str = "succeeded",
                   reason: str | None = "requested_by_customer", refund_id: str | None = None) -> dict[str, Any]:
        """Store a refund (and its `refund.created` event); return it as the API renders it.

        Link it to a session with `payment_intent=session["payment_intent"]` (complete payment-mode sessions
        have one); `charge` defaults to "ch_<n>".
        """
        if status not in REFUND_STATUSES:
            raise ValueError(f"status must be one of {REFUND_STATUSES}, not {status!r}")
        with self._lock:
            n = next(self._ids)
            refund = _Refund(refund_id or f"re_test_{n}", unix(created), amount, currency.lower(),
                             charge or f"ch_test_{n}", payment_intent, status, reason)
            self._refunds.add(refund)
            self._events.add(_Event(f"evt_{next(self._ids)}", refund.created, "refund.created", refund, status))
            return self._render_refund(refund)

    def add_payment_intent(self, *, created: datetime, amount: int = 4900, currency: str = "gbp",
                           status: str = "succeeded", customer: str | None = None,
                           failure_code: str | None = None, decline_code: str | None = None,
                           session_id: str | None = None, payment_intent_id: str | None = None,
                           canceled_at: datetime | None = None,
                           cancellation_reason: str | None = None) -> dict[str, Any]:
        """Store a payment intent (and its events); return it as the API renders it.

        `payment_intent_id` defaults to "pi_test_<n>" (n from the counter that numbers sessions, so it never equals
        a session's own pi_test_<seq>). `failure_code` (e.g. "card_declined", with an optional `decline_code`)
        records a declined attempt: `last_payment_error` shows it while the intent is requires_payment_method or
        canceled; once it succeeded (or moved on to another attempt) Stripe has cleared it, and only the
        `payment_intent.payment_failed` event tells. A canceled intent is canceled at `canceled_at` (default
        `created`). `session_id` (an existing session) makes that session render this intent as its
        `payment_intent`, whatever its status.
        """
        if status not in PAYMENT_INTENT_STATUSES:
            raise ValueError(f"status must be one of {PAYMENT_INTENT_STATUSES}, not {status!r}")
        if decline_code is not None and failure_code is None:
            raise ValueError("decline_code needs a failure_code (e.g. 'card_declined')")
        if status != "canceled" and (canceled_at is not None or cancellation_reason is not None):
            raise ValueError("canceled_at and cancellation_reason belong to a canceled payment intent")
        if cancellation_reason is not None and cancellation_reason not in CANCELLATION_REASONS:
            raise ValueError(f"cancellation_reason must be one of {CANCELLATION_REASONS}, not {cancellation_reason!r}")
        start = unix(created)
        cancel = (unix(canceled_at) if canceled_at is not None else start) if status == "canceled" else None
        if cancel is not None and cancel < start:
            raise ValueError("canceled_at is before created")
        with self._lock:
            session = None
            if session_id is not None:
                session = self._sessions.get(session_id)
                if session is None:
                    raise ValueError(f"no checkout session {session_id!r}")
            n = next(self._ids)
            failed_charge = None
            if failure_code is not None:
                failed_charge = f"ch_test_{n}" if status not in _ATTEMPTED else f"ch_test_{next(self._ids)}"
            intent = _PaymentIntent(payment_intent_id or f"pi_test_{n}", start, amount, currency.lower(), status,
                                    customer, failure_code, decline_code, cancel, cancellation_reason, f"ch_test_{n}",
                                    failed_charge, f"pm_test_{n}")
            self._payment_intents.add(intent)
            if session is not None:
                session.payment_intent = intent.id
            self._events.add(_Event(f"evt_{next(self._ids)}", start, "payment_intent.created", intent,
                                    "requires_payment_method"))
            if failure_code is not None:
                self._events.add(_Event(f"evt_{next(self._ids)}", start, "payment_intent.payment_failed", intent,
                                        "requires_payment_method"))
            if status == "succeeded":
                self._events.add(_Event(f"evt_{next(self._ids)}", start, "payment_intent.succeeded", intent, status))
            elif cancel is not None:
                self._events.add(_Event(f"evt_{next(self._ids)}", cancel, "payment_intent.canceled", intent, status))
            return self._render_payment_intent(intent)

    def add_subscription(self, *, created: datetime, status: str = "active", customer: str = "cus_test_buyer",
                         product_id: str = "prod_club", product_name: str = "Bakers' Club Membership",
                         price_id: str = "price_club_monthly", unit_amount: int = 900, currency: str = "gbp",
                         interval: str = "month", quantity: int = 1, current_period_start: datetime | None = None,
                         current_period_end: datetime | None = None, canceled_at: datetime | None = None,
                         subscription_id: str | None = None) -> dict[str, Any]:
        """Store a subscription and return it as the API renders it (at the account's API version).

        The period defaults to one `interval` from `created`. Records `customer.subscription.created` (at
        `created`, status active) and, when `canceled_at` is given, `customer.subscription.deleted` then.
        """
        if status not in SUBSCRIPTION_STATUSES:
            raise ValueError(f"status must be one of {SUBSCRIPTION_STATUSES}, not {status!r}")
        if interval not in ("day", "week", "month", "year"):
            raise ValueError(f"interval must be day, week, month or year, not {interval!r}")
        start = unix(created)
        with self._lock:
            n = next(self._ids)
            period_start = unix(current_period_start) if current_period_start is not None else start
            period_end = (unix(current_period_end) if current_period_end is not None
                          else _add_interval(period_start, interval))
            sub = _Subscription(subscription_id or f"sub_test_{n}", start, status, customer, product_id, product_name,
                                price_id, unit_amount, currency.lower(), interval, quantity, period_start, period_end,
                                unix(canceled_at) if canceled_at is not None else None, n)
            self._subscriptions.add(sub)
            self._name_product(product_id, product_name, start)
            first = "active" if status == "canceled" else status
            self._events.add(_Event(f"evt_{next(self._ids)}", start, "customer.subscription.created", sub, first))
            if sub.canceled_at is not None:
                self._events.add(_Event(f"evt_{next(self._ids)}", sub.canceled_at, "customer.subscription.deleted",
                                        sub, "canceled"))
            return self._render_subscription(sub, self.api_version)

    # --- faults -------------------------------------------------------------------------------------------------
    def fail_next(self, n: int, status: int, retry_after: float | None = None) -> None:
        """Answer the next `n` API requests with `status` and Stripe's error body for it.

        429 is a rate-limit error (type invalid_request_error, code rate_limit), 5xx an api_error; `retry_after`
        adds a `Retry-After` header (whole seconds, rounded up). Calls queue up behind earlier ones.
        """
        with self._lock:
            self._faults.extend(_Fault(status, retry_after) for _ in range(n))

    def clear_faults(self) -> None:
        """Forget pending `fail_next` faults."""
        with self._lock:
            self._faults.clear()

    # --- counts (for assertions) ----------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """How many sessions, events, refunds, subscriptions and payment intents the fake holds."""
        with self._lock:
            return {"sessions": len(self._sessions), "events": len(self._events), "refunds": len(self._refunds),
                    "subscriptions": len(self._subscriptions), "payment_intents": len(self._payment_intents)}

    # --- rendering ---------------------------------------------------------------------------------------------------
    def _name_product(self, product_id: str, name: str, created: int) -> None:
        """The product's current name is the latest one given (line items keep the name they were sold under)."""
        self._products[product_id] = (name, self._products.get(product_id, (name, created))[1])

    def _session_event(self, session: _Session, type: str, when: int) -> None:
        self._events.add(_Event(f"evt_{next(self._ids)}", when, type, session, session.status,
                                session.payment_status))

    def _price(self, price_id: str, product_id: str, unit_amount: int | None, currency: str,
               interval: str | None) -> dict[str, Any]:
        _, created = self._products.get(product_id, ("", 0))
        return {
            "id": price_id, "object": "price", "active": True, "billing_scheme": "per_unit", "created": created,
            "currency": currency, "custom_unit_amount": None, "livemode": False, "lookup_key": None, "metadata": {},
            "nickname": None, "product": product_id,
            "recurring": None if interval is None else {"interval": interval, "interval_count": 1, "meter": None,
                                                        "usage_type": "licensed"},
            "tax_behavior": "unspecified", "tiers_mode": None, "transform_quantity": None,
            "type": "one_time" if interval is None else "recurring", "unit_amount": unit_amount,
            "unit_amount_decimal": None if unit_amount is None else str(unit_amount),
        }

    def _product(self, product_id: str) -> dict[str, Any]:
        name, created = self._products.get(product_id, (product_id, 0))
        return {"id": product_id, "object": "product", "active": True, "created": created, "default_price": None,
                "description": None, "images": [], "livemode": False, "marketing_features": [], "metadata": {},
                "name": name, "package_dimensions": None, "shippable": None, "statement_descriptor": None,
                "tax_code": None, "type": "service", "unit_label": None, "updated": created, "url": None}

    def _line_items(self, session: _Session) -> list[dict[str, Any]]:
        if session.mode == "setup" or session.amount_total is None:
            return []
        interval = "month" if session.mode == "subscription" else None
        amount = session.amount_total
        return [{
            "id": f"li_test_{session.seq}", "object": "item", "amount_discount": 0, "amount_subtotal": amount,
            "amount_tax": 0, "amount_total": amount, "currency": session.currency,
            "description": session.product_name, "metadata": {},
            "price": self._price(session.price_id, session.product_id, amount, session.currency, interval),
            "quantity": 1,
        }]

    def _render_session(self, s: _Session, status: str | None = None,
                        payment_status: str | None = None) -> dict[str, Any]:
        status = status or s.status
        payment_status = payment_status or s.payment_status
        complete = status == "complete"
        customer = f"cus_test_{s.seq}" if complete and s.mode == "subscription" else None
        details: dict[str, Any] | None = None if not complete else {
            "address": None, "business_name": None, "email": s.email, "individual_name": None, "name": None,
            "phone": None, "tax_exempt": "none", "tax_ids": []}
        amount = s.amount_total
        return {
            "id": s.id, "object": "checkout.session", "adaptive_pricing": None, "after_expiration": None,
            "allow_promotion_codes": None, "amount_subtotal": amount, "amount_total": amount,
            "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
            "billing_address_collection": None, "cancel_url": None, "client_reference_id": None,
            "client_secret": None, "consent": None, "consent_collection": None, "created": s.created,
            "currency": s.currency, "currency_conversion": None, "custom_fields": [],
            "custom_text": {"after_submit": None, "shipping_address": None, "submit": None,
                            "terms_of_service_acceptance": None},
            "customer": customer, "customer_creation": "if_required" if s.mode == "payment" else "always",
            "customer_details": details, "customer_email": s.email, "discounts": [], "expires_at": s.expires_at,
            "invoice": None, "invoice_creation": None, "livemode": False, "locale": None, "metadata": {},
            "mode": s.mode,
            "payment_intent": s.payment_intent or (f"pi_test_{s.seq}" if complete and s.mode == "payment" else None),
            "payment_link": None, "payment_method_collection": "if_required",
            "payment_method_types": ["card"], "payment_status": payment_status,
            "phone_number_collection": {"enabled": False}, "recovered_from": None, "saved_payment_method_options": None,
            "setup_intent": None, "shipping_address_collection": None, "shipping_cost": None, "shipping_options": [],
            "status": status, "submit_type": None,
            "subscription": f"sub_test_{s.seq}" if complete and s.mode == "subscription" else None,
            "success_url": "https://example.com/thanks", "total_details": {
                "amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": "hosted", "url": f"https://checkout.stripe.com/c/pay/{s.id}" if status == "open" else None,
        }

    def _render_refund(self, r: _Refund, status: str | None = None) -> dict[str, Any]:
        return {"id": r.id, "object": "refund", "amount": r.amount, "balance_transaction": None, "charge": r.charge,
                "created": r.created, "currency": r.currency, "destination_details": None, "metadata": {},
                "payment_intent": r.payment_intent, "reason": r.reason, "receipt_number": None,
                "source_transfer_reversal": None, "status": status or r.status, "transfer_reversal": None}

    def _render_payment_intent(self, p: _PaymentIntent, status: str | None = None, *,
                               attempted: bool = True) -> dict[str, Any]:
        """The intent as it is (or was, in `status`); `attempted=False` renders it before any payment attempt."""
        status = status or p.status
        charge = None
        if attempted:
            charge = p.charge if status in _ATTEMPTED else p.failed_charge
        error = None
        if attempted and p.failure_code is not None and status in _ERROR_SHOWN:
            code = p.failure_code
            message = _DECLINE_MESSAGES.get(p.decline_code or "") or _DECLINE_MESSAGES.get(code,
                                                                                           "Your card was declined.")
            error = {"type": "card_error", "code": code, "decline_code": p.decline_code, "message": message,
                     "doc_url": _DOCS + code.replace("_", "-"), "charge": p.failed_charge,
                     "payment_method": {
                         "id": p.payment_method, "object": "payment_method", "allow_redisplay": "unspecified",
                         "billing_details": {"address": None, "email": None, "name": None, "phone": None,
                                             "tax_id": None},
                         "card": {"brand": "visa", "country": "GB", "exp_month": 12, "exp_year": 2034,
                                  "funding": "credit", "last4": "0002"},
                         "created": p.created, "customer": p.customer, "livemode": False, "metadata": {},
                         "type": "card"}}
        succeeded = status == "succeeded"
        canceled = status == "canceled"
        return {
            "id": p.id, "object": "payment_intent", "amount": p.amount,
            "amount_capturable": p.amount if status == "requires_capture" else 0, "amount_details": {"tip": {}},
            "amount_received": p.amount if succeeded else 0, "application": None, "application_fee_amount": None,
            "automatic_payment_methods": None, "canceled_at": p.canceled_at if canceled else None,
            "cancellation_reason": p.cancellation_reason if canceled else None,
            "capture_method": "manual" if status == "requires_capture" else "automatic_async",
            "client_secret": None, "confirmation_method": "automatic", "created": p.created, "currency": p.currency,
            "customer": p.customer, "description": None, "excluded_payment_method_types": None,
            "last_payment_error": error, "latest_charge": charge, "livemode": False, "metadata": {},
            "next_action": None, "on_behalf_of": None, "payment_method": p.payment_method if succeeded else None,
            "payment_method_configuration_details": None,
            "payment_method_options": {"card": {"installments": None, "mandate_options": None, "network": None,
                                                "request_three_d_secure": "automatic"}},
            "payment_method_types": ["card"], "processing": None, "receipt_email": None, "review": None,
            "setup_future_usage": None, "shipping": None, "source": None, "statement_descriptor": None,
            "statement_descriptor_suffix": None, "status": status, "transfer_data": None, "transfer_group": None,
        }

    def _render_subscription(self, sub: _Subscription, version: str, status: str | None = None) -> dict[str, Any]:
        status = status or sub.status
        canceled = sub.canceled_at if status in ("canceled", "incomplete_expired") else None
        period = {"current_period_start": sub.current_period_start, "current_period_end": sub.current_period_end}
        before_basil = version[:10] < _BASIL
        item = {"id": f"si_test_{sub.seq}", "object": "subscription_item", "created": sub.created,
                **period, "discounts": [], "metadata": {},
                "price": self._price(sub.price_id, sub.product_id, sub.unit_amount, sub.currency, sub.interval),
                "quantity": sub.quantity, "subscription": sub.id, "tax_rates": []}
        out: dict[str, Any] = {
            "id": sub.id, "object": "subscription", "application": None, "billing_cycle_anchor": sub.created,
            "cancel_at": None, "cancel_at_period_end": False, "canceled_at": canceled,
            "collection_method": "charge_automatically", "created": sub.created, "currency": sub.currency,
            "customer": sub.customer, "days_until_due": None, "default_payment_method": None,
            "description": None, "discounts": [], "ended_at": canceled,
            "items": {"object": "list", "data": [item], "has_more": False, "total_count": 1,
                      "url": f"/v1/subscription_items?subscription={sub.id}"},
            "latest_invoice": None, "livemode": False, "metadata": {}, "start_date": sub.created,
            "status": status, "test_clock": None, "trial_end": None, "trial_start": None,
        }
        if before_basil:
            out.update(period)
        return out

    def _render_event(self, e: _Event) -> dict[str, Any]:
        obj: dict[str, Any]
        if isinstance(e.obj, _Session):
            obj = self._render_session(e.obj, e.status, e.payment_status)
        elif isinstance(e.obj, _Refund):
            obj = self._render_refund(e.obj, e.status)
        elif isinstance(e.obj, _PaymentIntent):
            obj = self._render_payment_intent(e.obj, e.status, attempted=e.type != "payment_intent.created")
        else:
            obj = self._render_subscription(e.obj, self.api_version, e.status)
        return {"id": e.id, "object": "event", "api_version": self.api_version, "created": e.created,
                "data": {"object": obj}, "livemode": False, "pending_webhooks": 0,
                "request": {"id": None, "idempotency_key": None}, "type": e.type}

    def _expand(self, obj: dict[str, Any], segments: list[str]) -> None:
        if not segments:
            return
        seg, rest = segments[0], segments[1:]
        if obj.get("object") == "list":
            for item in obj.get("data", []):
                self._expand(item, rest)
            return
        kind = obj.get("object")
        if kind == "checkout.session" and seg == "line_items" and "line_items" not in obj:
            session = self._sessions.get(obj["id"])
            data = self._line_items(session) if session is not None else []
            obj["line_items"] = {"object": "list", "data": data, "has_more": False,
                                 "url": f"/v1/checkout/sessions/{obj['id']}/line_items"}
        elif kind == "price" and seg == "product" and isinstance(obj.get("product"), str):
            obj["product"] = self._product(obj["product"])
        value = obj.get(seg)
        if isinstance(value, dict):
            self._expand(value, rest)

    # --- the API (runs in the server's threads) ----------------------------------------------------------------------
    def _take_fault(self) -> _Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def _enter(self) -> str:
        with self._lock:
            c = self._counters
            c.in_flight += 1
            c.max_concurrent = max(c.max_concurrent, c.in_flight)
            return f"req_fake{next(c.request_ids):010d}"

    def _leave(self) -> None:
        with self._lock:
            self._counters.in_flight -= 1

    def _log(self, item: LoggedRequest) -> None:
        with self._lock:
            self.requests.append(item)

    def _authenticate(self, authorization: str | None) -> None:
        if not authorization:
            raise StripeError(401, _NO_KEY, headers={"WWW-Authenticate": 'Basic realm="Stripe"'})
        scheme, _, credential = authorization.partition(" ")
        key = credential.strip()
        if scheme.lower() == "basic":
            try:
                key = base64.b64decode(key).decode("utf-8").partition(":")[0]
            except (ValueError, UnicodeDecodeError):
                key = ""
        elif scheme.lower() != "bearer":
            key = authorization
        if not key:
            raise StripeError(401, _NO_KEY, headers={"WWW-Authenticate": 'Basic realm="Stripe"'})
        if key != self.api_key:
            raise fault_error(401, api_key=key)

    def answer(self, method: str, path: str, query: dict[str, list[str]],
               headers: dict[str, str]) -> tuple[dict[str, Any], str]:
        """The body of a successful answer and the API version it was rendered at; raises StripeError."""
        self._authenticate(headers.get("authorization"))
        version = headers.get("stripe-version") or self.api_version
        if not _VERSION_RE.fullmatch(version):
            raise StripeError(400, f"Invalid Stripe API version: {version}")
        parts = path.rstrip("/").split("/")
        if len(parts) < 3 or parts[:2] != ["", "v1"] or method != "GET":
            raise StripeError(404, f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
                                   "or we can help at https://support.stripe.com/.")
        route = parts[2:]
        if route == ["account"]:
            return self._account(), version
        with self._lock:
            if route[0] == "checkout" and len(route) >= 2 and route[1] == "sessions":
                return self._checkout(route[2:], query, version), version
            if len(route) <= 2 and route[0] in ("events", "payment_intents", "refunds", "subscriptions"):
                return self._simple(route[0], route[1] if len(route) == 2 else None, query, version), version
        raise StripeError(404, f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
                               "or we can help at https://support.stripe.com/.")

    def _account(self) -> dict[str, Any]:
        """`GET /v1/account`: the account the key belongs to."""
        return {"id": self.account_id, "object": "account", "business_profile": {"name": "Test bakery"},
                "country": "GB", "default_currency": "gbp", "charges_enabled": True, "type": "standard"}

    def _checkout(self, route: list[str], query: dict[str, list[str]], version: str) -> dict[str, Any]:
        if not route:
            params = _Params(query, _SESSION_LIST)
            expand = params.get("expand") or []
            check_expand(expand, "list:checkout.session")
            status = params.enum("status", SESSION_STATUSES)
            filters: list[Callable[[_Session], bool]] = []
            if status is not None:
                filters.append(lambda s: s.status == status)
            if (email := params.text("customer_details")) is not None:
                filters.append(lambda s: s.status == "complete" and s.email == email)
            if (customer := params.text("customer")) is not None:
                filters.append(lambda s: s.status == "complete" and s.mode == "subscription"
                               and f"cus_test_{s.seq}" == customer)
            if (pi := params.text("payment_intent")) is not None:
                filters.append(lambda s: _session_intent(s) == pi)
            if (sub := params.text("subscription")) is not None:
                filters.append(lambda s: s.status == "complete" and s.mode == "subscription"
                               and f"sub_test_{s.seq}" == sub)
            if params.text("payment_link") is not None:
                filters.append(lambda s: False)
            rows, more = self._page(self._sessions, params, filters)
            return self._list([self._render_session(s) for s in rows], more, "/v1/checkout/sessions",
                              expand)
        session = self._sessions.get(route[0])
        if len(route) == 1:
            params = _Params(query, _RETRIEVE)
            expand = params.get("expand") or []
            check_expand(expand, "checkout.session")
            if session is None:
                raise _missing("checkout.session", route[0])
            obj = self._render_session(session)
            for path in expand:
                self._expand(obj, path.split("."))
            return obj
        if len(route) == 2 and route[1] == "line_items":
            params = _Params(query, _LIST_PARAMS)
            expand = params.get("expand") or []
            check_expand(expand, "list:item")
            if session is None:
                raise _missing("checkout.session", route[0])
            items = self._line_items(session)
            limit = params.limit()
            after, before = params.cursors()
            for cursor in (after, before):
                if cursor is not None and cursor not in {i["id"] for i in items}:
                    raise _missing("line_item", cursor, param="starting_after" if cursor == after else "ending_before",
                                   status=400)
            data = [] if after is not None or before is not None else items[:limit]
            return self._list(data, len(items) > len(data) and not (after or before),
                              f"/v1/checkout/sessions/{session.id}/line_items", expand)
        raise StripeError(404, f"Unrecognized request URL (GET: /v1/checkout/sessions/{'/'.join(route)}). "
                               "Please see https://stripe.com/docs or we can help at https://support.stripe.com/.")

    def _simple(self, name: str, object_id: str | None, query: dict[str, list[str]], version: str) -> dict[str, Any]:
        if name == "payment_intents" and object_id == "search":
            raise StripeError(400, "The fake Stripe API does not implement /v1/payment_intents/search (Stripe does).")
        if object_id is not None:
            params = _Params(query, _PAYMENT_INTENT_RETRIEVE if name == "payment_intents" else _RETRIEVE)
            expand = params.get("expand") or []
            root = {"events": "event", "payment_intents": "payment_intent", "refunds": "refund",
                    "subscriptions": "subscription"}[name]
            check_expand(expand, root)
            obj: dict[str, Any]
            if name == "events":
                event = self._events.get(object_id)
                if event is None or not self._retained(event):
                    raise _missing("event", object_id)
                obj = self._render_event(event)
            elif name == "refunds":
                refund = self._refunds.get(object_id)
                if refund is None:
                    raise _missing("refund", object_id)
                obj = self._render_refund(refund)
            elif name == "payment_intents":
                intent = self._payment_intents.get(object_id)
                if intent is None:
                    raise _missing("payment_intent", object_id)
                obj = self._render_payment_intent(intent)
            else:
                sub = self._subscriptions.get(object_id)
                if sub is None:
                    raise _missing("subscription", object_id)
                obj = self._render_subscription(sub, version)
            for path in expand:
                self._expand(obj, path.split("."))
            return obj
        if name == "events":
            return self._list_events(query)
        if name == "refunds":
            params = _Params(query, _REFUND_LIST)
            expand = params.get("expand") or []
            check_expand(expand, "list:refund")
            refund_filters: list[Callable[[_Refund], bool]] = []
            if (charge := params.text("charge")) is not None:
                refund_filters.append(lambda r: r.charge == charge)
            if (pi := params.text("payment_intent")) is not None:
                refund_filters.append(lambda r: r.payment_intent == pi)
            refunds, more = self._page(self._refunds, params, refund_filters)
            return self._list([self._render_refund(r) for r in refunds], more, "/v1/refunds", expand)
        if name == "payment_intents":
            params = _Params(query, _PAYMENT_INTENT_LIST)
            expand = params.get("expand") or []
            check_expand(expand, "list:payment_intent")
            intent_filters: list[Callable[[_PaymentIntent], bool]] = []
            if (customer := params.text("customer")) is not None:
                intent_filters.append(lambda p: p.customer == customer)
            intents, more = self._page(self._payment_intents, params, intent_filters)
            return self._list([self._render_payment_intent(p) for p in intents], more, "/v1/payment_intents",
                              expand)
        return self._list_subscriptions(query, version)

    def _list_events(self, query: dict[str, list[str]]) -> dict[str, Any]:
        params = _Params(query, _EVENT_LIST)
        expand = params.get("expand") or []
        check_expand(expand, "list:event")
        one, many = params.text("type"), params.get("types")
        if one is not None and many:
            raise StripeError(400, "You may only specify one of these parameters: type, types.")
        if many is not None and len(many) > 20:
            raise StripeError(400, "You may pass at most 20 types.", param="types")
        patterns = [one] if one is not None else list(many or [])
        filters: list[Callable[[_Event], bool]] = []
        if patterns:
            exact = {p for p in patterns if not p.endswith("*")}
            prefixes = tuple(p[:-1] for p in patterns if p.endswith("*"))
            filters.append(lambda e: e.type in exact or (bool(prefixes) and e.type.startswith(prefixes)))
        if params.get("delivery_success") is False:
            filters.append(lambda e: False)
        lo_bound = None
        if self.event_retention_days is not None:
            lo_bound = int(time.time()) - self.event_retention_days * _DAY
        events, more = self._page(self._events, params, filters, lo_bound)
        return self._list([self._render_event(e) for e in events], more, "/v1/events", expand)

    def _retained(self, event: _Event) -> bool:
        days = self.event_retention_days
        return days is None or event.created >= int(time.time()) - days * _DAY

    def _list_subscriptions(self, query: dict[str, list[str]], version: str) -> dict[str, Any]:
        params = _Params(query, _SUBSCRIPTION_LIST)
        expand = params.get("expand") or []
        check_expand(expand, "list:subscription")
        status = params.enum("status", ("all", "ended", *SUBSCRIPTION_STATUSES))
        filters: list[Callable[[_Subscription], bool]] = []
        if status is None:
            filters.append(lambda s: s.status != "canceled")
        elif status == "ended":
            filters.append(lambda s: s.status in ("canceled", "incomplete_expired"))
        elif status != "all":
            filters.append(lambda s: s.status == status)
        if (customer := params.text("customer")) is not None:
            filters.append(lambda s: s.customer == customer)
        price = params.text("price") or params.text("plan")
        if price is not None:
            filters.append(lambda s: s.price_id == price)
        if params.enum("collection_method", ("charge_automatically", "send_invoice")) == "send_invoice":
            filters.append(lambda s: False)
        if params.get("current_period_start"):
            lo_start, hi_start = params.window("current_period_start")
            filters.append(lambda s: lo_start <= s.current_period_start <= hi_start)
        if params.get("current_period_end"):
            lo_end, hi_end = params.window("current_period_end")
            filters.append(lambda s: lo_end <= s.current_period_end <= hi_end)
        subs, more = self._page(self._subscriptions, params, filters)
        return self._list([self._render_subscription(s, version) for s in subs], more, "/v1/subscriptions", expand)

    @staticmethod
    def _page(records: _Sorted[R], params: _Params, filters: list[Callable[[R], bool]],
              lo_bound: int | None = None) -> tuple[list[R], bool]:
        lo, hi = params.window("created")
        if lo_bound is not None:
            lo = max(lo, lo_bound)
        limit = params.limit()
        after, before = params.cursors()
        match: Callable[[R], bool] | None = None
        if len(filters) == 1:
            match = filters[0]
        elif filters:
            match = lambda item: all(f(item) for f in filters)  # noqa: E731
        return records.page(lo, hi, limit, after=after, before=before, match=match)

    def _list(self, data: list[dict[str, Any]], more: bool, url: str, expand: list[str]) -> dict[str, Any]:
        out = {"object": "list", "data": data, "has_more": more, "url": url}
        for path in expand:
            self._expand(out, path.split("."))
        return out


# --- HTTP -----------------------------------------------------------------------------------------------------------
class _Handler(LocalHandler):
    """One connection; HTTP/1.1 keep-alive, as api.stripe.com serves it."""

    server: _FakeServer

    def _handle(self) -> None:
        fake = self.server.fake
        self._skip_body()
        request_id = fake._enter()
        try:
            url = urlsplit(self.path)
            query = parse_qs(url.query, keep_blank_values=True)
            headers = {k.lower(): v for k, v in self.headers.items()}
            fault = fake._take_fault()
            if fake.latency:
                time.sleep(fake.latency)
            status, extra = 200, {}
            version = headers.get("stripe-version") or fake.api_version
            try:
                if fault is not None:
                    raise fault_error(fault.status, fault.retry_after, headers.get("authorization", "")[7:])
                payload, version = fake.answer(self.command, url.path, query, headers)
            except StripeError as exc:
                status, extra = exc.status, exc.headers
                error = dict(exc.error)
                if status != 401:
                    error["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
                payload = {"error": error}
            except Exception as exc:  # a bug in the fake: answer 500 so that the test shows it
                status, payload = 500, {"error": {"message": f"fake Stripe failed: {exc!r}", "type": "api_error"}}
            fake._log(LoggedRequest(self.command, url.path, query, headers, status))
            self._send(status, payload, {"Request-Id": request_id, "Stripe-Version": version, **extra})
        finally:
            fake._leave()

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
        data = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, no-store")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class _FakeServer(LocalServer):
    fake: FakeStripe
