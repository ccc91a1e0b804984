"""Stripe constants: the pinned API version, paging and concurrency."""

from __future__ import annotations

API_VERSION = "2026-02-25.clover"  # pinned: a Stripe account upgrade never changes what the connector reads
PAGE_SIZE = 100  # Stripe's largest list page
REQUEST_TIMEOUT = 80.0  # seconds per request (Stripe's own default)
SESSION_EXPAND = ("data.line_items",)  # the product of each session, in the same request
