"""Stripe's storing half: its landing streams, its mapping and its sync."""

from __future__ import annotations

from models.sources.parts import SourceParts
from models.sources.stripe.discover import DISCOVER
from models.sources.stripe.links import link, link_context
from models.sources.stripe.mapping import map_stripe, read_stripe, rule_mask
from models.sources.stripe.streams import (
                    CURRENCIES,
                    STRIPE_CHECKOUTS,
                    STRIPE_PAYMENT_INTENTS,
                    STRIPE_REFUNDS,
                    STRIPE_SUBSCRIPTIONS,
)
from models.sources.stripe.sync import sync_stripe

PARTS = SourceParts("stripe", (STRIPE_CHECKOUTS, STRIPE_SUBSCRIPTIONS, STRIPE_REFUNDS, STRIPE_PAYMENT_INTENTS),
                    read_stripe, map_stripe, rule_mask, sync=sync_stripe, discover=DISCOVER, link=link,
                    link_context=link_context, allowed={"currency": (CURRENCIES, "a currency Stripe charges in")})
