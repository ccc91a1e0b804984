"""A local HTTP server speaking the Stripe REST API (v1, read endpoints), for tests that drive the official SDK.

Point the real library at it with `stripe.StripeClient(fake.api_key, base_addresses={"api": fake.url})`.

What it serves (GET only, Bearer or Basic auth with `api_key` or a `restricted_key()`), with the permission a
restricted key needs for each:

- `/v1/account` (the key's account, `account_id`): `rak_accounts_kyc_basic_read`
- `/v1/checkout/sessions`, `/v1/checkout/sessions/{id}`, `/v1/checkout/sessions/{id}/line_items`:
  `rak_checkout_session_read`
- `/v1/events`, `/v1/events/{id}`: `rak_event_read`
- `/v1/payment_intents`, `/v1/payment_intents/{id}`: `rak_payment_intent_read`
- `/v1/refunds`, `/v1/refunds/{id}`: `rak_refund_read`
- `/v1/subscriptions`, `/v1/subscriptions/{id}`: `rak_subscription_read`

(`/v1/products` is not served: products come expanded on line items and subscription items.)

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

Access (`stripe_access`): a restricted key lacking an endpoint's permission is answered as Stripe answers it, 403
"The provided key 'rk_test_***…***abc123' does not have the required permissions for this endpoint on account
'acct_…'. Having the 'rak_refund_read' permission would allow this request to continue." (the key masked to its
last 6 characters), which stripe-python raises as `stripe.PermissionError`; a `…_write` permission includes its
`…_read`, and the secret key may read everything. `disable(resource)` makes a resource's endpoints answer 404
"Unrecognized request URL (GET: /v1/…)", as Stripe answers a URL it does not route (`stripe.InvalidRequestError`,
http_status 404) until `enable(resource)`. Checks run in Stripe's order: key (401), version (400), URL (404),
permission (403), parameters (400).

Time: with a `FakeClock` the fake answers as Stripe would at `clock.now()`. Objects (sessions, refunds, payment
intents, subscriptions, events) created later do not exist yet: they are not listed, not found (404 "No such …")
and refused as `starting_after` / `ending_before` cursors (400), while paging, `created[...]` filters and
`has_more` work on what exists. A session shows the state its last transition at or before now gave it (open
before any), and an open one whose `expires_at` has passed is `expired`, as Stripe expires open sessions by itself
(24 h after creation by default), with its `checkout.session.expired` event from `expires_at` on (dropped if
`set_status` moves the session out of open first). A subscription or payment intent canceled later renders as
before the cancellation (active / incomplete, or requires_payment_method; `canceled_at` null) until the clock
reaches `canceled_at`. `set_status` and `event_retention_days` count from the clock's now. The `add_*` methods
return the object as it is once everything given has happened. Without a clock everything stored is visible, as
stored.

Payment intents: a complete payment-mode session renders `pi_test_<seq>` (an id, nothing stored behind it) unless
`add_payment_intent(session_id=...)` attached a stored one. Stored intents default to `pi_test_<n>`, n from the same
counter that numbers sessions, so the two can never collide.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from tests.fakes.clock import FakeClock
from tests.fakes.serving import LocalHandler, LocalServer, Serving
from tests.fakes.stripe_access import PERMISSIONS, Access
from tests.fakes.stripe_store import (
    CANCELLATION_REASONS,
    PAYMENT_INTENT_STATUSES,
    PAYMENT_STATUSES,
    REFUND_STATUSES,
    SESSION_STATUSES,
    SUBSCRIPTION_STATUSES,
    Event,
    LoggedRequest,
    PaymentIntent,
    Record,
    Refund,
    Session,
    Sorted,
    Subscription,
    intent_status,
    record_transition,
    session_intent,
    session_state,
    subscription_status,
)
from tests.fakes.stripe_wire import (
    BASIL,
    DAY,
    DEFAULT_API_VERSION,
    DOCS,
    EVENT_LIST,
    LIST_PARAMS,
    PAYMENT_INTENT_LIST,
    PAYMENT_INTENT_RETRIEVE,
    REFUND_LIST,
    RETRIEVE,
    SESSION_LIST,
    SUBSCRIPTION_LIST,
    VERSION_RE,
    Params,
    StripeError,
    add_interval,
    check_expand,
    fault_error,
    missing,
    unix,
)

__all__ = ["DEFAULT_API_VERSION", "PERMISSIONS", "FakeStripe", "LoggedRequest", "StripeError", "fault_error", "unix"]
R = TypeVar("R", bound=Record)

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


_OBJECT_NAMES = {"events": "event", "payment_intents": "payment_intent", "refunds": "refund",
                 "subscriptions": "subscription"}  # as Stripe names them in errors and expand paths

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


def _transition_event(session: Session, old_status: str, old_payment: str) -> str | None:
    """The event Stripe sends when a session moves from (old_status, old_payment) to where it is now, if any."""
    if session.status == "expired" and old_status != "expired":
        return "checkout.session.expired"
    if session.status == "complete" and old_status != "complete":
        return "checkout.session.completed"
    if session.status == "complete" and old_payment == "unpaid" and session.payment_status == "paid":
        return "checkout.session.async_payment_succeeded"
    return None


class FakeStripe(Serving):
    """The fake Stripe API on 127.0.0.1 (a free port), in a background thread; use it as a context manager.

    Args:
        api_key: the secret key accepted (Bearer, or Basic with the key as user name); it may read everything.
            `restricted_key()` makes further keys with chosen permissions.
        api_version: the account's default API version, used for requests without `Stripe-Version` and for
            rendering events; defaults to the version the installed stripe-python pins.
        clock: the shared FakeClock; with it the fake answers as Stripe would at `clock.now()` (see the module
            docstring). Without it everything stored is visible, as stored.

    Attributes:
        url: the base address for `base_addresses={"api": url}` (no trailing slash).
        account_id: the account the keys belong to (in `/v1/account` and in permission errors).
        requests: every request, in arrival order (appended before the answer is sent).
        max_concurrent: the most requests ever in flight at once.
        latency: seconds added to every answer (to make concurrency observable).
        event_retention_days: when set (Stripe keeps 30), `/v1/events` hides events older than that.
        ignore_cursors: when True, lists ignore `starting_after` / `ending_before` and serve their first page
            again (a broken proxy or cache in front of the API): a reader must stop, not loop.
    """

    def __init__(self, api_key: str = "sk_test_fake", *, api_version: str | None = None,
                 clock: FakeClock | None = None) -> None:
        self.api_key = api_key
        self.account_id = "acct_1TestBakery000"
        self.api_version = api_version or DEFAULT_API_VERSION
        self.clock = clock
        self.latency = 0.0
        self.event_retention_days: int | None = None
        self.ignore_cursors = False
        self.requests: list[LoggedRequest] = []
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._faults: deque[_Fault] = deque()
        self._counters = _Counters()
        self._access = Access()
        self._moment: int | None = None  # the clock reading of the request being answered (None: no clock)
        self._sessions: Sorted[Session] = Sorted("checkout.session")
        self._events: Sorted[Event] = Sorted("event")
        self._refunds: Sorted[Refund] = Sorted("refund")
        self._payment_intents: Sorted[PaymentIntent] = Sorted("payment_intent")
        self._subscriptions: Sorted[Subscription] = Sorted("subscription")
        self._products: dict[str, tuple[str, int]] = {}  # id → (name, created)
        self._server = _FakeServer(self, _Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def max_concurrent(self) -> int:
        with self._lock:
            return self._counters.max_concurrent

    # --- keys and endpoints (call from the test thread at any time) -----------------------------------------------
    def restricted_key(self, permissions: Iterable[str]) -> str:
        """A new restricted key (`rk_test_` and 99 random characters), accepted alongside `api_key`.

        Reproduces Stripe's restricted keys: each endpoint needs one permission (`PERMISSIONS`: e.g.
        `rak_checkout_session_read` for `/v1/checkout/sessions` and its line items, `rak_refund_read` for
        `/v1/refunds`); a `…_write` permission includes its `…_read`. A request whose key lacks the permission
        is answered 403 with Stripe's message naming the masked key, `account_id` and the permission, which
        stripe-python raises as `stripe.PermissionError`. Names must look like Stripe's (`rak_<resource>_read`
        or `_write`); ones the fake never asks for are accepted and ignored.
        """
        return self._access.restricted_key(permissions)

    def disable(self, resource: str) -> None:
        """Make a resource's endpoints not there: they answer 404 "Unrecognized request URL (GET: /v1/…)", as
        Stripe answers a URL it does not route (stripe-python: `stripe.InvalidRequestError`, http_status 404).

        `resource`: "account", "checkout_sessions", "events", "refunds", "payment_intents" or "subscriptions".
        """
        self._access.set_enabled(resource, False)

    def enable(self, resource: str) -> None:
        """Undo `disable(resource)`."""
        self._access.set_enabled(resource, True)

    # --- data (call from the test thread at any time) -------------------------------------------------------------
    def add_session(self, *, created: datetime, status: str = "complete", payment_status: str | None = None,
                    mode: str = "payment", amount_total: int | None = 4900, currency: str = "gbp",
                    customer_email: str | None = "buyer@example.com", product_id: str = "prod_course",
                    product_name: str = "Sourdough Masterclass", price_id: str = "price_course",
                    expires_at: datetime | None = None, session_id: str | None = None) -> dict[str, Any]:
        """Store a Checkout Session and return it as the API renders it once all this has happened (a copy).

        `payment_status` defaults to "paid" when complete, else "unpaid"; `expires_at` to created + 24 h;
        `session_id` to "cs_test_<n>". A complete session records `checkout.session.completed` (at `created`),
        an expired one `checkout.session.expired` (at `expires_at`). Only complete sessions carry
        `customer_details` (the buyer typed them at checkout); `customer_email` is set whatever the status.
        With a clock, an open session expires by itself at `expires_at`, and its `checkout.session.expired` event
        is there from then on (unless `set_status` moves it first).
        """
        if status not in SESSION_STATUSES:
            raise ValueError(f"status must be one of {SESSION_STATUSES}, not {status!r}")
        if payment_status is not None and payment_status not in PAYMENT_STATUSES:
            raise ValueError(f"payment_status must be one of {PAYMENT_STATUSES}, not {payment_status!r}")
        start = unix(created)
        with self._lock:
            n = next(self._ids)
            session = Session(
                id=session_id or f"cs_test_{n}", created=start,
                expires_at=unix(expires_at) if expires_at is not None else start + DAY, status=status,
                payment_status=payment_status or ("paid" if status == "complete" else "unpaid"), mode=mode,
                amount_total=amount_total, currency=currency.lower(), email=customer_email, product_id=product_id,
                product_name=product_name, price_id=price_id, seq=n)
            self._sessions.add(session)
            self._name_product(product_id, product_name, start)
            if status == "complete":
                self._session_event(session, "checkout.session.completed", start)
            elif status == "expired":
                self._session_event(session, "checkout.session.expired", session.expires_at)
            elif self.clock is not None:  # it expires by itself, as the clock passes expires_at
                self._expect_expiry(session, f"evt_{next(self._ids)}")
            return self._render_session(session)

    def set_status(self, session_id: str, status: str, payment_status: str | None = None, *,
                   at: datetime | None = None) -> None:
        """Move a session to `status` and record the event Stripe would send.

        open → expired: `checkout.session.expired`; open → complete: `checkout.session.completed`; complete and
        unpaid → paid: `checkout.session.async_payment_succeeded`. The event happens `at`, by default now (the
        clock's now, with a clock), but never after the session's expiry nor before its creation. With a clock,
        the session is rendered in its earlier state until `at`, and a move away from open cancels its expiry.
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
            when = unix(at) if at is not None else max(session.created, min(self._wall(), session.expires_at))
            if session.expiry_event is not None and status != "open":  # it left open: it will not expire by itself
                self._events.remove(session.expiry_event)
                session.expiry_event = None
            kind = _transition_event(session, old_status, old_payment)
            if kind is not None:
                self._session_event(session, kind, when)
            elif (status, session.payment_status) != (old_status, old_payment):
                record_transition(session, when)  # no event for it, but the clock shows the change from `when`

    def add_sessions_bulk(self, n: int, start: datetime, days: int, seed: int = 0) -> None:
        """`n` sessions spread over `days` days from `start`; deterministic per seed.

        Mix: four products (a subscription among them), mostly gbp (≈85 %, then eur, usd), ≈62 % complete
        (a few of them still unpaid), the rest expired; sessions from the last day may still be open. Repeat
        buyers share an e-mail address; ≈10 % have none. Completed / expired events are recorded too. With a
        clock, the open ones expire by themselves at their `expires_at` (their expired event appears then).
        """
        rng = random.Random(seed)
        t0 = unix(start)
        span = max(1, days * DAY)
        end = t0 + span
        shares = list(itertools.accumulate(entry[5] for entry in _CATALOGUE))
        last = len(_CATALOGUE) - 1
        buyers = max(1, n // 3)
        sessions: list[Session] = []
        events: list[Event] = []
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
                expires = created + DAY
                if s < 0.62:
                    status, paid = "complete", "paid" if rng.random() < 0.97 else "unpaid"
                else:
                    status, paid = ("open" if expires > end and s > 0.9 else "expired"), "unpaid"
                email = f"customer{int(rng.random() * buyers)}@example.com" if rng.random() < 0.9 else None
                session = Session(f"cs_test_{seq}", created, expires, status, paid, mode, amounts[currency],
                                   currency, email, product_id, name,
                                   price_id if currency == "gbp" else f"{price_id}_{currency}", seq)
                sessions.append(session)
                if status == "complete":
                    session.history = ((created, status, paid),)
                    events.append(Event(f"evt_{seq}", created, "checkout.session.completed", session, status, paid))
                elif status == "expired":
                    session.history = ((expires, status, paid),)
                    events.append(Event(f"evt_{seq}", expires, "checkout.session.expired", session, status, paid))
                elif self.clock is not None:  # still open: it expires by itself, as the clock passes expires_at
                    session.expiry_event = f"evt_{seq}"
                    events.append(Event(f"evt_{seq}", expires, "checkout.session.expired", session, "expired", paid))
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
            refund = Refund(refund_id or f"re_test_{n}", unix(created), amount, currency.lower(),
                             charge or f"ch_test_{n}", payment_intent, status, reason)
            self._refunds.add(refund)
            self._events.add(Event(f"evt_{next(self._ids)}", refund.created, "refund.created", refund, status))
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
        `payment_intent`, whatever its status. With a clock, a cancellation dated later has not happened yet:
        until then the intent renders as requires_payment_method.
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
            intent = PaymentIntent(payment_intent_id or f"pi_test_{n}", start, amount, currency.lower(), status,
                                    customer, failure_code, decline_code, cancel, cancellation_reason, f"ch_test_{n}",
                                    failed_charge, f"pm_test_{n}")
            self._payment_intents.add(intent)
            if session is not None:
                session.payment_intent = intent.id
            self._events.add(Event(f"evt_{next(self._ids)}", start, "payment_intent.created", intent,
                                    "requires_payment_method"))
            if failure_code is not None:
                self._events.add(Event(f"evt_{next(self._ids)}", start, "payment_intent.payment_failed", intent,
                                        "requires_payment_method"))
            if status == "succeeded":
                self._events.add(Event(f"evt_{next(self._ids)}", start, "payment_intent.succeeded", intent, status))
            elif cancel is not None:
                self._events.add(Event(f"evt_{next(self._ids)}", cancel, "payment_intent.canceled", intent, status))
            return self._render_payment_intent(intent)

    def add_subscription(self, *, created: datetime, status: str = "active", customer: str = "cus_test_buyer",
                         product_id: str = "prod_club", product_name: str = "Bakers' Club Membership",
                         price_id: str = "price_club_monthly", unit_amount: int = 900, currency: str = "gbp",
                         interval: str = "month", quantity: int = 1, current_period_start: datetime | None = None,
                         current_period_end: datetime | None = None, canceled_at: datetime | None = None,
                         subscription_id: str | None = None) -> dict[str, Any]:
        """Store a subscription and return it as the API renders it (at the account's API version).

        The period defaults to one `interval` from `created`. Records `customer.subscription.created` (at
        `created`, status active) and, when `canceled_at` is given, `customer.subscription.deleted` then. With a
        clock, a cancellation (status canceled or incomplete_expired) dated later has not happened yet: until then
        the subscription renders as it was (active, or incomplete; `canceled_at` and `ended_at` null).
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
                          else add_interval(period_start, interval))
            sub = Subscription(subscription_id or f"sub_test_{n}", start, status, customer, product_id, product_name,
                                price_id, unit_amount, currency.lower(), interval, quantity, period_start, period_end,
                                unix(canceled_at) if canceled_at is not None else None, n)
            self._subscriptions.add(sub)
            self._name_product(product_id, product_name, start)
            first = "active" if status == "canceled" else status
            self._events.add(Event(f"evt_{next(self._ids)}", start, "customer.subscription.created", sub, first))
            if sub.canceled_at is not None:
                self._events.add(Event(f"evt_{next(self._ids)}", sub.canceled_at, "customer.subscription.deleted",
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

    def _session_event(self, session: Session, type: str, when: int) -> None:
        """Record a transition the session just made, with the event Stripe sends for it."""
        record_transition(session, when)
        self._events.add(Event(f"evt_{next(self._ids)}", when, type, session, session.status,
                               session.payment_status))

    def _expect_expiry(self, session: Session, event_id: str) -> None:
        """Record the `checkout.session.expired` event Stripe sends when an open session reaches `expires_at`
        (the clock hides it until then); `set_status` drops it if the session leaves open first."""
        self._events.add(Event(event_id, session.expires_at, "checkout.session.expired", session, "expired",
                               session.payment_status))
        session.expiry_event = event_id

    def _wall(self) -> int:
        """Now, for defaults: the clock's reading with a clock, else the machine's."""
        return self.clock.timestamp() if self.clock is not None else int(time.time())

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

    def _line_items(self, session: Session) -> list[dict[str, Any]]:
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

    def _render_session(self, s: Session, status: str | None = None,
                        payment_status: str | None = None) -> dict[str, Any]:
        """The session as it is at the request's moment, or (an event's) in `status` / `payment_status`."""
        now_status, now_payment = session_state(s, self._moment)
        status = status or now_status
        payment_status = payment_status or now_payment
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
            "payment_intent": session_intent(s, status),
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

    def _render_refund(self, r: Refund, status: str | None = None) -> dict[str, Any]:
        return {"id": r.id, "object": "refund", "amount": r.amount, "balance_transaction": None, "charge": r.charge,
                "created": r.created, "currency": r.currency, "destination_details": None, "metadata": {},
                "payment_intent": r.payment_intent, "reason": r.reason, "receipt_number": None,
                "source_transfer_reversal": None, "status": status or r.status, "transfer_reversal": None}

    def _render_payment_intent(self, p: PaymentIntent, status: str | None = None, *,
                               attempted: bool = True) -> dict[str, Any]:
        """The intent as it is at the request's moment (or was, in `status`); `attempted=False` renders it before
        any payment attempt."""
        status = status or intent_status(p, self._moment)
        charge = None
        if attempted:
            charge = p.charge if status in _ATTEMPTED else p.failed_charge
        error = None
        if attempted and p.failure_code is not None and status in _ERROR_SHOWN:
            code = p.failure_code
            message = _DECLINE_MESSAGES.get(p.decline_code or "") or _DECLINE_MESSAGES.get(code,
                                                                                           "Your card was declined.")
            error = {"type": "card_error", "code": code, "decline_code": p.decline_code, "message": message,
                     "doc_url": DOCS + code.replace("_", "-"), "charge": p.failed_charge,
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

    def _render_subscription(self, sub: Subscription, version: str, status: str | None = None) -> dict[str, Any]:
        """The subscription as it is at the request's moment (or was, in `status`), at API `version`."""
        status = status or subscription_status(sub, self._moment)
        canceled = sub.canceled_at if status in ("canceled", "incomplete_expired") else None
        period = {"current_period_start": sub.current_period_start, "current_period_end": sub.current_period_end}
        before_basil = version[:10] < BASIL
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

    def _render_event(self, e: Event) -> dict[str, Any]:
        obj: dict[str, Any]
        if isinstance(e.obj, Session):
            obj = self._render_session(e.obj, e.status, e.payment_status)
        elif isinstance(e.obj, Refund):
            obj = self._render_refund(e.obj, e.status)
        elif isinstance(e.obj, PaymentIntent):
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

    def answer(self, method: str, path: str, query: dict[str, list[str]],
               headers: dict[str, str]) -> tuple[dict[str, Any], str]:
        """The body of a successful answer and the API version it was rendered at; raises StripeError.

        Checked in Stripe's order: the key (401), the API version (400), the URL (404, also for a disabled
        resource), the key's permission (403), then the parameters (400).
        """
        key, granted = self._access.authenticate(headers.get("authorization"), self.api_key)
        version = headers.get("stripe-version") or self.api_version
        if not VERSION_RE.fullmatch(version):
            raise StripeError(400, f"Invalid Stripe API version: {version}")
        parts = path.rstrip("/").split("/")
        route = parts[2:] if parts[:2] == ["", "v1"] else []
        self._access.authorize(key, granted, self.account_id, method, path, route)
        with self._lock:
            # one clock reading per answer, so that every object of a page is rendered at the same moment
            self._moment = None if self.clock is None else self.clock.timestamp()
            try:
                return self._route(route, query, version), version
            finally:
                self._moment = None

    def _route(self, route: list[str], query: dict[str, list[str]], version: str) -> dict[str, Any]:
        """Dispatch a route `Access.authorize` accepted (so one of the resources the fake serves)."""
        if route == ["account"]:
            return self._account()
        if route[0] == "checkout":
            return self._checkout(route[2:], query)
        if len(route) == 2:
            return self._retrieve(route[0], route[1], query, version)
        if route[0] == "events":
            return self._list_events(query)
        if route[0] == "refunds":
            return self._list_refunds(query)
        if route[0] == "payment_intents":
            return self._list_payment_intents(query)
        return self._list_subscriptions(query, version)

    def _account(self) -> dict[str, Any]:
        """`GET /v1/account`: the account the key belongs to."""
        return {"id": self.account_id, "object": "account", "business_profile": {"name": "Test bakery"},
                "country": "GB", "default_currency": "gbp", "charges_enabled": True, "type": "standard"}

    def _checkout(self, route: list[str], query: dict[str, list[str]]) -> dict[str, Any]:
        """`/v1/checkout/sessions`, `/{id}` and `/{id}/line_items` (`route` is what follows `sessions`)."""
        if not route:
            return self._list_sessions(query)
        if len(route) == 1:
            params = Params(query, RETRIEVE)
            expand = params.get("expand") or []
            check_expand(expand, "checkout.session")
            obj = self._render_session(self._session(route[0]))
            for path in expand:
                self._expand(obj, path.split("."))
            return obj
        return self._list_line_items(route[0], query)

    def _session(self, session_id: str) -> Session:
        session = self._sessions.get(session_id, self._moment)
        if session is None:
            raise missing("checkout.session", session_id)
        return session

    def _list_sessions(self, query: dict[str, list[str]]) -> dict[str, Any]:
        params = Params(query, SESSION_LIST)
        expand = params.get("expand") or []
        check_expand(expand, "list:checkout.session")
        rows, more = self._page(self._sessions, params, self._session_filters(params))
        return self._list([self._render_session(s) for s in rows], more, "/v1/checkout/sessions", expand)

    def _session_filters(self, params: Params) -> list[Callable[[Session], bool]]:
        """The list filters, on each session's state at the request's moment (Stripe filters what it shows)."""
        moment = self._moment
        status = params.enum("status", SESSION_STATUSES)
        now: Callable[[Session], str] = attrgetter("status")  # without a clock: as stored (fast on bulk data)
        if moment is not None:
            now = lambda s: session_state(s, moment)[0]  # noqa: E731

        filters: list[Callable[[Session], bool]] = []
        if status is not None:
            filters.append(lambda s: now(s) == status)
        if (email := params.text("customer_details")) is not None:
            filters.append(lambda s: s.email == email and now(s) == "complete")
        if (customer := params.text("customer")) is not None:
            filters.append(lambda s: s.mode == "subscription" and f"cus_test_{s.seq}" == customer
                           and now(s) == "complete")
        if (pi := params.text("payment_intent")) is not None:
            filters.append(lambda s: session_intent(s, now(s)) == pi)
        if (sub := params.text("subscription")) is not None:
            filters.append(lambda s: s.mode == "subscription" and f"sub_test_{s.seq}" == sub
                           and now(s) == "complete")
        if params.text("payment_link") is not None:
            filters.append(lambda s: False)
        return filters

    def _list_line_items(self, session_id: str, query: dict[str, list[str]]) -> dict[str, Any]:
        params = Params(query, LIST_PARAMS)
        expand = params.get("expand") or []
        check_expand(expand, "list:item")
        session = self._session(session_id)
        items = self._line_items(session)
        limit = params.limit()
        after, before = params.cursors()
        for cursor in (after, before):
            if cursor is not None and cursor not in {i["id"] for i in items}:
                raise missing("line_item", cursor, param="starting_after" if cursor == after else "ending_before",
                              status=400)
        data = [] if after is not None or before is not None else items[:limit]
        return self._list(data, len(items) > len(data) and not (after or before),
                          f"/v1/checkout/sessions/{session.id}/line_items", expand)

    def _retrieve(self, name: str, object_id: str, query: dict[str, list[str]], version: str) -> dict[str, Any]:
        """`GET /v1/<name>/<id>` for events, payment intents, refunds and subscriptions."""
        if name == "payment_intents" and object_id == "search":
            raise StripeError(400, "The fake Stripe API does not implement /v1/payment_intents/search (Stripe does).")
        params = Params(query, PAYMENT_INTENT_RETRIEVE if name == "payment_intents" else RETRIEVE)
        expand = params.get("expand") or []
        check_expand(expand, _OBJECT_NAMES[name])
        obj = self._find(name, object_id, version)
        if obj is None:
            raise missing(_OBJECT_NAMES[name], object_id)
        for path in expand:
            self._expand(obj, path.split("."))
        return obj

    def _find(self, name: str, object_id: str, version: str) -> dict[str, Any] | None:
        """The object rendered, if it exists at the request's moment (and, for an event, is still retained)."""
        until = self._moment
        if name == "events":
            event = self._events.get(object_id, until)
            return self._render_event(event) if event is not None and self._retained(event) else None
        if name == "refunds":
            refund = self._refunds.get(object_id, until)
            return self._render_refund(refund) if refund is not None else None
        if name == "payment_intents":
            intent = self._payment_intents.get(object_id, until)
            return self._render_payment_intent(intent) if intent is not None else None
        sub = self._subscriptions.get(object_id, until)
        return self._render_subscription(sub, version) if sub is not None else None

    def _list_refunds(self, query: dict[str, list[str]]) -> dict[str, Any]:
        params = Params(query, REFUND_LIST)
        expand = params.get("expand") or []
        check_expand(expand, "list:refund")
        filters: list[Callable[[Refund], bool]] = []
        if (charge := params.text("charge")) is not None:
            filters.append(lambda r: r.charge == charge)
        if (pi := params.text("payment_intent")) is not None:
            filters.append(lambda r: r.payment_intent == pi)
        refunds, more = self._page(self._refunds, params, filters)
        return self._list([self._render_refund(r) for r in refunds], more, "/v1/refunds", expand)

    def _list_payment_intents(self, query: dict[str, list[str]]) -> dict[str, Any]:
        params = Params(query, PAYMENT_INTENT_LIST)
        expand = params.get("expand") or []
        check_expand(expand, "list:payment_intent")
        filters: list[Callable[[PaymentIntent], bool]] = []
        if (customer := params.text("customer")) is not None:
            filters.append(lambda p: p.customer == customer)
        intents, more = self._page(self._payment_intents, params, filters)
        return self._list([self._render_payment_intent(p) for p in intents], more, "/v1/payment_intents", expand)

    def _list_events(self, query: dict[str, list[str]]) -> dict[str, Any]:
        params = Params(query, EVENT_LIST)
        expand = params.get("expand") or []
        check_expand(expand, "list:event")
        one, many = params.text("type"), params.get("types")
        if one is not None and many:
            raise StripeError(400, "You may only specify one of these parameters: type, types.")
        if many is not None and len(many) > 20:
            raise StripeError(400, "You may pass at most 20 types.", param="types")
        patterns = [one] if one is not None else list(many or [])
        filters: list[Callable[[Event], bool]] = []
        if patterns:
            exact = {p for p in patterns if not p.endswith("*")}
            prefixes = tuple(p[:-1] for p in patterns if p.endswith("*"))
            filters.append(lambda e: e.type in exact or (bool(prefixes) and e.type.startswith(prefixes)))
        if params.get("delivery_success") is False:
            filters.append(lambda e: False)
        lo_bound = None
        if self.event_retention_days is not None:
            lo_bound = self._now() - self.event_retention_days * DAY
        events, more = self._page(self._events, params, filters, lo_bound)
        return self._list([self._render_event(e) for e in events], more, "/v1/events", expand)

    def _now(self) -> int:
        """The request's moment: the clock's reading with a clock, else the machine's time."""
        return self._moment if self._moment is not None else int(time.time())

    def _retained(self, event: Event) -> bool:
        days = self.event_retention_days
        return days is None or event.created >= self._now() - days * DAY

    def _list_subscriptions(self, query: dict[str, list[str]], version: str) -> dict[str, Any]:
        params = Params(query, SUBSCRIPTION_LIST)
        expand = params.get("expand") or []
        check_expand(expand, "list:subscription")
        subs, more = self._page(self._subscriptions, params, self._subscription_filters(params))
        return self._list([self._render_subscription(s, version) for s in subs], more, "/v1/subscriptions", expand)

    def _subscription_filters(self, params: Params) -> list[Callable[[Subscription], bool]]:
        """The list filters; `status` is each subscription's status at the request's moment."""
        moment = self._moment
        status = params.enum("status", ("all", "ended", *SUBSCRIPTION_STATUSES))
        now: Callable[[Subscription], str] = attrgetter("status")  # without a clock: as stored
        if moment is not None:
            now = lambda s: subscription_status(s, moment)  # noqa: E731

        filters: list[Callable[[Subscription], bool]] = []
        if status is None:  # Stripe lists the canceled ones only when asked
            filters.append(lambda s: now(s) != "canceled")
        elif status == "ended":
            filters.append(lambda s: now(s) in ("canceled", "incomplete_expired"))
        elif status != "all":
            filters.append(lambda s: now(s) == status)
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
        return filters

    def _page(self, records: Sorted[R], params: Params, filters: list[Callable[[R], bool]],
              lo_bound: int | None = None) -> tuple[list[R], bool]:
        """A page of `records` as the request asks for it; with a clock, of those created by its moment."""
        lo, hi = params.window("created")
        if lo_bound is not None:
            lo = max(lo, lo_bound)
        limit = params.limit()
        after, before = (None, None) if self.ignore_cursors else params.cursors()
        match: Callable[[R], bool] | None = None
        if len(filters) == 1:
            match = filters[0]
        elif filters:
            match = lambda item: all(f(item) for f in filters)  # noqa: E731
        return records.page(lo, hi, limit, after=after, before=before, match=match, until=self._moment)

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
                if exc.log_url:
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
