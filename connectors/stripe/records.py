"""Typed Stripe records, shaped after the Checkout Session object."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class CheckoutSession:
    """A Checkout Session: created when a buyer reaches checkout; complete when paid.

    `amount_total` is in the currency's minor unit (cents), as Stripe sends it.
    """

    session_id: str
    created: datetime  # timezone-aware, UTC
    status: str  # open / complete / expired
    payment_status: str  # paid / unpaid / no_payment_required
    mode: str  # payment / subscription
    amount_total: int | None  # null until line items are known: quarantined when landing, never summed
    currency: str  # lower-case ISO code, as Stripe sends it
    product_id: str
    product_name: str
    customer_hash: str  # salted SHA-256 of the buyer's email; "" when unknown
    expires_at: datetime | None = None  # when an unpaid session expires (24 h after creation by default)
    payment_intent: str = ""  # pi_… of a paid payment-mode session: what a refund points to


@dataclass(frozen=True, slots=True)
class Subscription:
    """A subscription in its current state: started on `created`, ended on `canceled_at` (churn) if it has."""

    subscription_id: str
    created: datetime  # timezone-aware, UTC
    status: str  # active / trialing / past_due / canceled / unpaid / incomplete / incomplete_expired / paused
    customer: str  # Stripe's customer id (cus_…), no personal data
    product_id: str
    amount: int | None  # per period, in the currency's minor unit (unit amount × quantity)
    currency: str
    interval: str  # day / week / month / year
    canceled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Refund:
    """Money given back: on the day it was created, for the payment (and so the checkout) it points to."""

    refund_id: str
    created: datetime  # timezone-aware, UTC
    status: str  # pending / requires_action / succeeded / failed / canceled
    amount: int | None  # minor units
    currency: str
    payment_intent: str  # "" when Stripe gives only the charge
    reason: str


@dataclass(frozen=True, slots=True)
class PaymentIntent:
    """A payment attempt, as last read: Checkout makes one per paid session (Payment Links, invoices and custom
    flows too). Where a buyer reached the payment step and it failed, and why (the card's decline code)."""

    payment_intent_id: str
    created: datetime  # timezone-aware, UTC
    status: str  # requires_payment_method / requires_confirmation / requires_action / processing /
    # requires_capture / canceled / succeeded
    amount: int | None  # minor units
    amount_received: int
    currency: str
    customer: str  # Stripe's customer id (cus_…) or ""; no personal data
    failure_code: str  # last_payment_error.code of a failed attempt not yet recovered ("" when none)
    decline_code: str  # the issuer's reason for a declined card ("" when none)
    canceled_at: datetime | None = None
