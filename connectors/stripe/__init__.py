"""Stripe: checkout sessions, the purchase stage's ground truth."""

from __future__ import annotations

from connectors.stripe.records import CheckoutSession

__all__ = ["CheckoutSession"]
