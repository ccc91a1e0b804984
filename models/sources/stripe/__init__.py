"""Stripe as the map knows it: Checkout sessions per product, their payments, refunds and subscriptions."""

from __future__ import annotations

from models.sources.spec import SourceModel

SOURCE = SourceModel(
    name="stripe", title="Stripe",
    # product: product id or name regex; mode: payment / subscription
    keys=("product", "mode"), regex_keys=frozenset({"product"}),
    # abandoned: expired, or open past expires_at, with no completed session of the same customer that day
    # subscriptions_started / _canceled: subscriptions of the product begun / cancelled that day (churn)
    # refunds: refunds created that day for the product's checkouts
    # payments_succeeded / _failed: the checkouts' payment intents of that day paid / whose last attempt failed
    metrics=("checkouts", "completed", "expired", "abandoned", "revenue", "subscriptions_started",
             "subscriptions_canceled", "refunds", "payments_succeeded", "payments_failed"),
    money={"revenue": "completed"},
    defaults={"lag_days": 1, "settle_days": 2},
    dated=(("checkout_sessions", "created"), ("refunds", "created"), ("payment_intents", "created")),
    daily=("checkout_sessions", "created"),
    what_to_check="Check Stripe › Payments for declines and failed payment methods, and try a test checkout.",
    success_is_subset=True,
    main_stream="checkout_sessions",
)
