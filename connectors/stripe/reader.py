"""Read Stripe Checkout Sessions by `created` window, page by page, as typed records."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, TypeVar

import stripe
from stripe.params import PaymentIntentListParams, RefundListParams, SubscriptionListParams
from stripe.params.checkout import SessionListParams, SessionListParamsCreated

from connectors.errors import DEFAULT_POLICY, AccessDenied, Rejected, RetryPolicy, TransientError, with_retries
from connectors.paging import Page, paginate
from connectors.pii import email_hash
from connectors.stripe.client import classify
from connectors.stripe.records import CheckoutSession, PaymentIntent, Refund, Subscription
from connectors.stripe.settings import PAGE_SIZE, SESSION_EXPAND

T = TypeVar("T")
OnRetry = Callable[[int, TransientError, float], None] | None
Salt = str | Callable[[str], str]  # the addresses' hash salt, or the salted hasher itself (connectors.pii.EmailHasher)


def account_id(client: stripe.StripeClient, *, policy: RetryPolicy = DEFAULT_POLICY) -> str | None:
    """The id (acct_…) of the account the key belongs to: the rows' account, and the hashes' default salt.

    A restricted key usually may not read `/v1/account`; Stripe's refusal names the account all the same, and
    that is used. None when neither says (the flow then asks for STRIPE_ACCOUNT_ID); other errors are raised.
    """
    try:
        account = with_retries(lambda: client.v1.accounts.retrieve_current(), classify, policy=policy)
    except AccessDenied as exc:
        return exc.account
    return str(account.id)


def customer_hash(email: str | None, salt: Salt) -> str:
    """The project's salted hash of the address (connectors.pii, or the hasher given); "" when there is none. The
    address itself is never kept."""
    if not email:
        return ""
    return salt(email) if callable(salt) else email_hash(email, salt)


def _required_time(obj: Any, name: str) -> dt.datetime:
    when = _when(obj.get(name))
    if when is None:
        raise ValueError(f"{name} is missing")
    return when


def _readable(convert: Callable[..., T], obj: Any, *args: Any) -> T | Rejected:
    """`convert(obj, *args)`, or the object kept for the quarantine (customer addresses hashed) with the reason."""
    try:
        return convert(obj, *args)
    except (KeyError, TypeError, ValueError) as exc:
        payload = {k: v for k, v in dict(obj).items() if k not in ("customer_details", "customer_email", "line_items")}
        return Rejected(str(obj.get("id", "?")), f"unreadable {obj.get('object', 'object')}: {type(exc).__name__}: "
                                                 f"{exc}", json.loads(json.dumps(payload, default=str)))


def _when(value: Any) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromtimestamp(int(value), dt.UTC)


def to_record(session: Any, salt: Salt) -> CheckoutSession:
    """One session object (with `line_items` expanded) as a record; nothing of it is dropped silently:
    a null amount or an odd currency stays as Stripe sent it, for the landing step to quarantine."""
    items = (session.get("line_items") or {}).get("data") or []
    first = items[0] if items else {}
    price = first.get("price") or {}
    product = price.get("product") if isinstance(price, dict) else None
    product_id = product.get("id") if isinstance(product, dict) else (product or "")
    product_name = (product.get("name") if isinstance(product, dict) else None) or first.get("description") or ""
    details = session.get("customer_details") or {}
    email = details.get("email") or session.get("customer_email")
    return CheckoutSession(
        session_id=str(session["id"]), created=_required_time(session, "created"),
        status=str(session.get("status") or ""), payment_status=str(session.get("payment_status") or ""),
        mode=str(session.get("mode") or ""), amount_total=session.get("amount_total"),
        currency=str(session.get("currency") or ""), product_id=str(product_id), product_name=str(product_name),
        customer_hash=customer_hash(email, salt), expires_at=_when(session.get("expires_at")),
        payment_intent=_id(session.get("payment_intent")),
    )


def _id(value: Any) -> str:
    """An id, whether Stripe sent the id or (expanded) the object."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def read_checkout_sessions(client: stripe.StripeClient, since: dt.date, until: dt.date, *, salt: Salt,
                           page_size: int = PAGE_SIZE, policy: RetryPolicy = DEFAULT_POLICY,
                           on_retry: OnRetry = None) -> Iterator[list[CheckoutSession | Rejected]]:
    """Sessions created on the UTC days [since, until], one page per API page, day by day (oldest day first).

    Every read of a day returns each session in its current state, so re-reading a window picks up what
    changed after creation (an open session that expired, a late payment); the landing upsert replaces it.
    A session that cannot be read comes as `Rejected`, for the quarantine.
    """
    for window in _days(since, until):
        params: SessionListParams = {"created": window, "limit": page_size, "expand": list(SESSION_EXPAND)}
        for page in _pages(client.v1.checkout.sessions.list, dict(params), policy, on_retry, "checkout sessions"):
            yield [_readable(to_record, s, salt) for s in page]


def _days(since: dt.date, until: dt.date) -> Iterator[SessionListParamsCreated]:
    """`created` filters of the UTC days since..until."""
    day = since
    while day <= until:
        start = dt.datetime.combine(day, dt.time(), dt.UTC)
        yield {"gte": int(start.timestamp()), "lt": int((start + dt.timedelta(days=1)).timestamp())}
        day += dt.timedelta(days=1)


def _pages(list_fn: Callable[..., Any], params: dict[str, Any], policy: RetryPolicy,
           on_retry: OnRetry, what: str) -> Iterator[list[Any]]:
    """Every page of a Stripe list (cursor paging with `starting_after`), each request with retries."""
    def fetch(after: str | None) -> Page[Any, str]:
        page = with_retries(partial(list_fn, params={**params, **({"starting_after": after} if after else {})}),
                            classify, policy=policy, on_retry=on_retry)
        items = list(page.data)
        return Page(items, str(items[-1].id) if page.has_more and items else None)
    return paginate(fetch, what=f"Stripe {what}", identity=lambda item: str(item.id))


def to_subscription(sub: Any) -> Subscription:
    """One subscription object as a record (its first item's price gives product, amount and interval)."""
    items = (sub.get("items") or {}).get("data") or []
    first = items[0] if items else {}
    price = first.get("price") or {}
    product = price.get("product")
    unit = price.get("unit_amount")
    return Subscription(
        subscription_id=str(sub["id"]), created=_required_time(sub, "created"),
        status=str(sub.get("status") or ""), customer=str(sub.get("customer") or ""),
        product_id=str(product.get("id") if isinstance(product, dict) else (product or "")),
        amount=None if unit is None else int(unit) * int(first.get("quantity") or 1),
        currency=str(price.get("currency") or sub.get("currency") or ""),
        interval=str((price.get("recurring") or {}).get("interval") or ""),
        canceled_at=_when(sub.get("canceled_at")),
    )


def read_subscriptions(client: stripe.StripeClient, *, page_size: int = PAGE_SIZE,
                       policy: RetryPolicy = DEFAULT_POLICY, on_retry: OnRetry = None,
                       ) -> Iterator[list[Subscription | Rejected]]:
    """Every subscription, whatever its status (`status=all`), in its current state, a page per API page: a
    cancellation years after the start is a change to an old object, so the whole list is read each run."""
    params: SubscriptionListParams = {"status": "all", "limit": page_size}
    for page in _pages(client.v1.subscriptions.list, dict(params), policy, on_retry, "subscriptions"):
        yield [_readable(to_subscription, s) for s in page]


def to_refund(refund: Any) -> Refund:
    return Refund(str(refund["id"]), _required_time(refund, "created"), str(refund.get("status") or ""),
                  refund.get("amount"), str(refund.get("currency") or ""), _id(refund.get("payment_intent")),
                  str(refund.get("reason") or ""))


def read_refunds(client: stripe.StripeClient, since: dt.date, until: dt.date, *, page_size: int = PAGE_SIZE,
                 policy: RetryPolicy = DEFAULT_POLICY, on_retry: OnRetry = None,
                 ) -> Iterator[list[Refund | Rejected]]:
    """Refunds created on the UTC days [since, until], in their current state (a pending refund that succeeds
    later is picked up when its day is read again)."""
    for window in _days(since, until):
        params: RefundListParams = {"created": window, "limit": page_size}
        for page in _pages(client.v1.refunds.list, dict(params), policy, on_retry, "refunds"):
            yield [_readable(to_refund, r) for r in page]


def to_payment_intent(intent: Any) -> PaymentIntent:
    """One payment intent object as a record (its last payment error, if any, gives the failure)."""
    error = intent.get("last_payment_error") or {}
    return PaymentIntent(
        payment_intent_id=str(intent["id"]), created=_required_time(intent, "created"),
        status=str(intent.get("status") or ""), amount=intent.get("amount"),
        amount_received=int(intent.get("amount_received") or 0), currency=str(intent.get("currency") or ""),
        customer=_id(intent.get("customer")), failure_code=str(error.get("code") or ""),
        decline_code=str(error.get("decline_code") or ""), canceled_at=_when(intent.get("canceled_at")))


def read_payment_intents(client: stripe.StripeClient, since: dt.date, until: dt.date, *,
                         page_size: int = PAGE_SIZE, policy: RetryPolicy = DEFAULT_POLICY, on_retry: OnRetry = None,
                         ) -> Iterator[list[PaymentIntent | Rejected]]:
    """Payment intents created on the UTC days [since, until], in their current state: an attempt that failed
    and was later paid reads as succeeded when its day is read again."""
    for window in _days(since, until):
        params: PaymentIntentListParams = {"created": window, "limit": page_size}
        for page in _pages(client.v1.payment_intents.list, dict(params), policy, on_retry, "payment intents"):
            yield [_readable(to_payment_intent, i) for i in page]
