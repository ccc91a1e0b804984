"""The fake Stripe API's records: what a test stores (sessions, refunds, payment intents, subscriptions and
their events), kept sorted as Stripe lists them, and what each record looked like at a given moment."""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from tests.fakes.stripe_wire import missing

SESSION_STATUSES = ("open", "complete", "expired")
PAYMENT_STATUSES = ("paid", "unpaid", "no_payment_required")
SUBSCRIPTION_STATUSES = ("active", "canceled", "incomplete", "incomplete_expired", "past_due", "paused",
                         "trialing", "unpaid")
REFUND_STATUSES = ("pending", "requires_action", "succeeded", "failed", "canceled")
PAYMENT_INTENT_STATUSES = ("requires_payment_method", "requires_confirmation", "requires_action", "processing",
                           "requires_capture", "canceled", "succeeded")
CANCELLATION_REASONS = ("abandoned", "automatic", "duplicate", "expired", "failed_invoice", "fraudulent",
                        "requested_by_customer", "void_invoice")


# --- records ------------------------------------------------------------------------------------------------------
class Record(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def created(self) -> int: ...


R = TypeVar("R", bound=Record)


@dataclass(slots=True, eq=False)
class Session:
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
    # (when, status, payment_status) of each transition, in time order: what the session was at any moment
    history: tuple[tuple[int, str, str], ...] = ()
    expiry_event: str | None = None  # the checkout.session.expired event due at expires_at (with a clock)


def session_intent(s: Session, status: str | None = None) -> str | None:
    """The session's `payment_intent` (in `status`, by default its own): the attached one, else pi_test_<seq>
    once complete in payment mode."""
    if s.payment_intent is not None:
        return s.payment_intent
    return f"pi_test_{s.seq}" if (status or s.status) == "complete" and s.mode == "payment" else None


def session_state(s: Session, moment: int | None) -> tuple[str, str]:
    """(status, payment_status) at `moment` (None: as stored). Before its first transition a session is open
    and unpaid; an open session whose `expires_at` has passed is expired, as Stripe expires it by itself."""
    if moment is None:
        return s.status, s.payment_status
    status, paid = "open", s.payment_status if s.status == "open" else "unpaid"
    for when, later_status, later_paid in s.history:
        if when > moment:
            break
        status, paid = later_status, later_paid
    if status == "open" and s.expires_at <= moment:
        status = "expired"
    return status, paid


def record_transition(s: Session, when: int) -> None:
    """Remember that the session reached its current status and payment status at `when`."""
    s.history = tuple(sorted((*s.history, (when, s.status, s.payment_status)), key=lambda h: h[0]))


@dataclass(slots=True, eq=False)
class Refund:
    id: str
    created: int
    amount: int
    currency: str
    charge: str | None
    payment_intent: str | None
    status: str
    reason: str | None


@dataclass(slots=True, eq=False)
class PaymentIntent:
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


def intent_status(p: PaymentIntent, moment: int | None) -> str:
    """Its status at `moment` (None: as stored): before a later cancellation it still awaits a payment method."""
    if moment is None or p.canceled_at is None or p.canceled_at <= moment:
        return p.status
    return "requires_payment_method"


@dataclass(slots=True, eq=False)
class Subscription:
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


# What a subscription was before it ended (Stripe renders the ending's time only from then on)
_BEFORE_ENDING = {"canceled": "active", "incomplete_expired": "incomplete"}


def subscription_status(sub: Subscription, moment: int | None) -> str:
    """Its status at `moment` (None: as stored): a cancellation dated later has not happened yet."""
    if moment is None or sub.canceled_at is None or sub.canceled_at <= moment:
        return sub.status
    return _BEFORE_ENDING.get(sub.status, sub.status)


@dataclass(slots=True, eq=False)
class Event:
    id: str
    created: int
    type: str
    obj: Session | Refund | Subscription | PaymentIntent
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


class Sorted(Generic[R]):
    """Records kept in (created, id) order, found by id; pages are cut newest first, as Stripe cuts them.

    `until` (a Unix time, or None for "everything") hides the records created later: Stripe does not know an
    object before it is created, so it is neither listed, nor found, nor accepted as a cursor.
    """

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

    def remove(self, object_id: str) -> None:
        """Forget a record (a pending event that will no longer happen)."""
        item = self._by_id.pop(object_id)
        self._items.remove(item)

    def get(self, object_id: str, until: int | None = None) -> R | None:
        item = self._by_id.get(object_id)
        return item if item is not None and (until is None or item.created <= until) else None

    def _ordered(self) -> list[R]:
        if not self._sorted:
            self._items.sort(key=_key)
            self._sorted = True
        return self._items

    def page(self, lo: int, hi: int, limit: int, *, after: str | None = None, before: str | None = None,
             match: Callable[[R], bool] | None = None, until: int | None = None) -> tuple[list[R], bool]:
        """Up to `limit` records with lo <= created <= hi (and <= until), newest first, and whether more lie
        beyond them.

        `after` (starting_after): only records older than that one; `before` (ending_before): only newer ones,
        the `limit` closest to it (still listed newest first).
        """
        if until is not None:
            hi = min(hi, until)
        items = self._ordered()
        lo_i = bisect_left(items, lo, key=_created)
        hi_i = bisect_right(items, hi, key=_created)
        if before is not None:
            start = bisect_right(items, _key(self._cursor(before, "ending_before", until)), key=_key)
            return self._newer(items, max(lo_i, start), hi_i, limit, match)
        i = hi_i - 1
        if after is not None:
            i = min(i, bisect_left(items, _key(self._cursor(after, "starting_after", until)), key=_key) - 1)
        return self._older(items, i, lo_i, limit, match)

    @staticmethod
    def _older(items: list[R], i: int, stop: int, limit: int,
               match: Callable[[R], bool] | None) -> tuple[list[R], bool]:
        """Matching records from index i down to `stop`, one more than `limit` to tell whether more remain."""
        out: list[R] = []
        while i >= stop and len(out) <= limit:
            if match is None or match(items[i]):
                out.append(items[i])
            i -= 1
        return out[:limit], len(out) > limit

    @staticmethod
    def _newer(items: list[R], i: int, stop: int, limit: int,
               match: Callable[[R], bool] | None) -> tuple[list[R], bool]:
        """The `limit` matching records from index i up (the closest to an ending_before cursor), newest first."""
        out: list[R] = []
        while i < stop and len(out) <= limit:
            if match is None or match(items[i]):
                out.append(items[i])
            i += 1
        more = len(out) > limit
        out = out[:limit]
        out.reverse()
        return out, more

    def _cursor(self, object_id: str, param: str, until: int | None) -> R:
        item = self.get(object_id, until)
        if item is None:
            raise missing(self.kind, object_id, param=param, status=400)
        return item


def _key(item: Record) -> tuple[int, str]:
    return item.created, item.id


def _created(item: Record) -> int:
    return item.created

