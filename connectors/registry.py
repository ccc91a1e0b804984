"""The reading halves of the sources, each named once (their storing halves: models.sources, in the same order)."""

from __future__ import annotations

from connectors import ga4, mailchimp, search_console, stripe, surveys
from connectors.spec import SourceSpec

SOURCES: tuple[SourceSpec, ...] = (ga4.SPEC, search_console.SPEC, mailchimp.SPEC, stripe.SPEC, surveys.SPEC)
BY_NAME: dict[str, SourceSpec] = {s.name: s for s in SOURCES}
