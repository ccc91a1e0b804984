"""Stripe's storing half: its landing streams, its mapping and how far back a read reaches."""

from __future__ import annotations

from models.sources.parts import SourceParts
from models.sources.stripe.mapping import map_stripe, read_stripe, rule_mask
from models.sources.stripe.streams import STRIPE_CHECKOUTS, STRIPE_PAYMENT_INTENTS, STRIPE_REFUNDS, STRIPE_SUBSCRIPTIONS

PARTS = SourceParts("stripe", (STRIPE_CHECKOUTS, STRIPE_SUBSCRIPTIONS, STRIPE_REFUNDS, STRIPE_PAYMENT_INTENTS),
                    read_stripe, map_stripe, rule_mask)
