"""The fake Stripe API's wire format: error answers (and how Stripe masks keys in them), form-encoded query
parameters checked as Stripe checks them, `expand` paths, and Unix times."""

from __future__ import annotations

import calendar
import itertools
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

DEFAULT_API_VERSION = "2026-02-25.clover"  # the version stripe-python 14.4 pins (stripe._api_version)
BASIL = "2025-03-31"  # from this version on, current_period_start/end moved from subscriptions to their items
MAX_LIMIT = 100
MAX_EXPAND_DEPTH = 4
DAY = 86_400
VERSION_RE = re.compile(r"\d{4}-\d{2}-\d{2}(\.[a-z_]+)?")
_KEY_RE = re.compile(r"([A-Za-z0-9_]+)((?:\[[^\[\]]*\])*)")
_SUB_RE = re.compile(r"\[([^\[\]]*)\]")
DOCS = "https://stripe.com/docs/error-codes/"
NO_KEY = ("You did not provide an API key. You need to provide your API key in the Authorization header, using "
           "Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication "
           "for details, or we can help at https://support.stripe.com/.")
_RATE_LIMITED = ("Request rate limit exceeded. Learn more about rate limits here "
                 "https://stripe.com/docs/rate-limits.")


# --- errors -----------------------------------------------------------------------------------------------------
class StripeError(Exception):
    """An error answer: HTTP status, the `error` object of Stripe's body, extra response headers."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error", code: str | None = None,
                 param: str | None = None, headers: dict[str, str] | None = None,
                 log_url: bool | None = None) -> None:
        super().__init__(message)
        self.status = status
        # Stripe links most errors to the request's dashboard log; not a failed authentication, nor (as seen in
        # real answers) a restricted key's missing permission.
        self.log_url = status != 401 if log_url is None else log_url
        self.error: dict[str, Any] = {"message": message, "type": type}
        if code is not None:
            self.error["code"] = code
            self.error["doc_url"] = DOCS + code.replace("_", "-")
        if param is not None:
            self.error["param"] = param
        self.headers = headers or {}


def missing(kind: str, object_id: str, param: str = "id", status: int = 404) -> StripeError:
    return StripeError(status, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


def masked(key: str, visible: int = 4) -> str:
    """A key as Stripe echoes it: the prefix (`sk_test_`, `rk_live_`, ...), then stars, then the last `visible`
    characters, as long as the key itself. Stripe shows 4 in "Invalid API Key provided" and 6 when it names a
    key that lacks a permission."""
    prefix = key[:8] if key.startswith(("sk_", "rk_", "pk_")) else key[:3]
    if len(key) <= len(prefix) + visible:
        return prefix + "*" * max(0, len(key) - len(prefix))
    return prefix + "*" * (len(key) - len(prefix) - visible) + key[-visible:]


def unrecognized(method: str, path: str) -> StripeError:
    """Stripe's answer to a URL it does not route (a 404 invalid_request_error, no code)."""
    return StripeError(404, f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we "
                            "can help at https://support.stripe.com/.")


def permission_denied(key: str, account_id: str, permission: str) -> StripeError:
    """Stripe's answer to a restricted key without the permission an endpoint needs: a 403 whose message names the
    masked key, the account and the missing permission, with no code and no request log link."""
    return StripeError(403, f"The provided key '{masked(key, 6)}' does not have the required permissions for this "
                            f"endpoint on account '{account_id}'. Having the '{permission}' permission would allow "
                            "this request to continue.", log_url=False)


def fault_error(status: int, retry_after: float | None = None, api_key: str = "sk_test_fake") -> StripeError:
    """The error Stripe answers with `status` (429 rate limit, 5xx api_error, ...), plus Retry-After if given."""
    headers = {"Retry-After": _retry_after_value(retry_after)} if retry_after is not None else {}
    if status == 429:
        return StripeError(429, _RATE_LIMITED, code="rate_limit", headers=headers)
    if status >= 500:
        return StripeError(status, "An unknown error occurred", type="api_error", headers=headers)
    if status == 401:
        return StripeError(401, f"Invalid API Key provided: {masked(api_key)}",
                           headers={"WWW-Authenticate": 'Basic realm="Stripe"', **headers})
    if status == 402:
        return StripeError(402, "Your card was declined.", type="card_error", code="card_declined", headers=headers)
    if status == 403:
        return StripeError(403, f"The provided key '{masked(api_key)}' does not have the required permissions for "
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


# --- times ---------------------------------------------------------------------------------------------------------
def unix(moment: datetime) -> int:
    """Seconds since the epoch; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return calendar.timegm(moment.utctimetuple())


def add_interval(start: int, interval: str, count: int = 1) -> int:
    """`start` plus `count` billing intervals (calendar months and years, as Stripe bills them)."""
    if interval == "day":
        return start + count * DAY
    if interval == "week":
        return start + count * 7 * DAY
    moment = datetime.fromtimestamp(start, UTC)
    months = count * (12 if interval == "year" else 1)
    year, month = divmod(moment.month - 1 + months, 12)
    year += moment.year
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return unix(moment.replace(year=year, month=month + 1, day=day))



# --- query parameters ---------------------------------------------------------------------------------------------
_RANGE_OPS = ("gt", "gte", "lt", "lte")


class Params:
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


LIST_PARAMS = {"ending_before": "str", "expand": "array", "limit": "int", "starting_after": "str"}
SESSION_LIST = {**LIST_PARAMS, "created": "range", "customer": "str", "customer_details": "email",
                 "payment_intent": "str", "payment_link": "str", "status": "str", "subscription": "str",
                 "customer_account": "unsupported"}
EVENT_LIST = {**LIST_PARAMS, "created": "range", "delivery_success": "bool", "type": "str", "types": "array"}
REFUND_LIST = {**LIST_PARAMS, "charge": "str", "created": "range", "payment_intent": "str"}
PAYMENT_INTENT_LIST = {**LIST_PARAMS, "created": "range", "customer": "str", "customer_account": "unsupported"}
SUBSCRIPTION_LIST = {**LIST_PARAMS, "collection_method": "str", "created": "range", "current_period_end": "range",
                      "current_period_start": "range", "customer": "str", "plan": "str", "price": "str",
                      "status": "str", "automatic_tax": "unsupported", "customer_account": "unsupported",
                      "test_clock": "unsupported"}
RETRIEVE = {"expand": "array"}
PAYMENT_INTENT_RETRIEVE = {**RETRIEVE, "client_secret": "unsupported"}

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

