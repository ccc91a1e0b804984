"""Stripe constants: the pinned API version, paging and concurrency."""

from __future__ import annotations

from connectors.spec import SourceSpec

API_VERSION = "2026-02-25.clover"  # pinned: a Stripe account upgrade never changes what the connector reads
PAGE_SIZE = 100  # Stripe's largest list page
REQUEST_TIMEOUT = 80.0  # seconds per request (Stripe's own default)
SESSION_EXPAND = ("data.line_items",)  # the product of each session, in the same request
# each Stripe chunk reads one page at a time; 10 keeps far below its rate limit (100 requests a second)
SPEC = SourceSpec("stripe", account=("STRIPE_API_KEY",), limit=("stripe-api", 10))
