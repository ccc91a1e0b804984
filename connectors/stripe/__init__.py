"""Stripe: checkout sessions, the purchase stage's ground truth (official `stripe` library, pinned API version)."""

from __future__ import annotations

from connectors.stripe.client import classify, make_client
from connectors.stripe.reader import account_id, customer_hash, read_checkout_sessions, to_record
from connectors.stripe.records import CheckoutSession

__all__ = ["CheckoutSession", "account_id", "classify", "customer_hash", "make_client", "read_checkout_sessions",
           "to_record"]
