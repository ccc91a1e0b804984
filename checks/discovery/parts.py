"""The pieces a proposed map is built from: the money-click streams (here), and the page sections, product
families and names of `models.sources.discovery` (which each source's own discovery builds its candidates with)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from models.sources.discovery import (
    display,
    exact,
    families,
    parent,
    product_of,
    section_pattern,
    sections,
    slug,
    title_prefix,
    words,
)


@dataclass(frozen=True)
class Stream:
    """A revenue stream paid per click rather than per sale: found by its click event, fed by the pages that
    carry its links."""

    id: str
    name: str
    goal: str
    event: str  # full-match pattern of the click event's name
    pages: str  # search pattern of the page paths that carry the links


STREAMS = (
    Stream("affiliate", "Affiliate links", "A reader clicks an affiliate link",
           r"affiliate[_-]?\w*|outbound[_-]?\w*|click_out|click", r"review|best-|gear|tested|recommend"),
    Stream("sponsored", "Sponsored content", "A reader clicks through to a sponsor",
           r"sponsor[_-]?\w*|partner[_-]?click", r"partner|sponsor|promoted"),
)


def stream_of_event(event: str) -> Stream | None:
    return next((s for s in STREAMS if re.fullmatch(s.event, event, re.IGNORECASE)), None)


def paid_click(event: str) -> str | None:
    """The id (its journey's) of the money-click stream an event is the click of, if any."""
    stream = stream_of_event(event)
    return stream.id if stream else None


def stream_of_page(path: str, streams: Iterable[Stream]) -> Stream | None:
    return next((s for s in streams if re.search(s.pages, path, re.IGNORECASE)), None)


__all__ = ["STREAMS", "Stream", "display", "exact", "families", "paid_click", "parent", "product_of",
           "section_pattern", "sections", "slug", "stream_of_event", "stream_of_page", "title_prefix", "words"]
