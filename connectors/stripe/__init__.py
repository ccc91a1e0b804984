"""Stripe: checkout sessions, the purchase stage's ground truth (official `stripe` library, pinned API version)."""

from __future__ import annotations

from connectors.stripe.client import classify, make_client
from connectors.stripe.reader import (
    account_id,
    customer_hash,
    read_checkout_sessions,
    read_payment_intents,
    read_refunds,
    read_subscriptions,
    to_payment_intent,
    to_record,
    to_subscription,
)
from connectors.stripe.records import CheckoutSession, PaymentIntent, Refund, Subscription
from connectors.stripe.source import SPEC, StripeReaders, open_stripe

__all__ = ["SPEC", "CheckoutSession", "PaymentIntent", "Refund", "StripeReaders", "Subscription", "account_id",
           "classify", "customer_hash", "make_client", "open_stripe", "read_checkout_sessions", "read_payment_intents",
           "read_refunds", "read_subscriptions", "to_payment_intent", "to_record", "to_subscription"]
