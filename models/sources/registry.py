"""The storing halves of the sources (tables, landing streams, mapping), each named once, in the order of
`models.sources.SOURCES` (the declarations, kept apart so that journey.yaml's schema can read them without the
mapping, which reads the schema)."""

from __future__ import annotations

from models.sources.ga4.parts import PARTS as _ga4
from models.sources.mailchimp.parts import PARTS as _mailchimp
from models.sources.parts import SourceParts
from models.sources.search_console.parts import PARTS as _search_console
from models.sources.stripe.parts import PARTS as _stripe
from models.sources.surveys.parts import PARTS as _surveys
from models.sync.rows import RawStream

PARTS: dict[str, SourceParts] = {p.name: p for p in (_ga4, _search_console, _mailchimp, _stripe, _surveys)}
STREAMS: dict[tuple[str, str], RawStream] = {(s.source, s.stream): s for p in PARTS.values() for s in p.streams}


def parts(name: str) -> SourceParts:
    """The storing half of `name`; KeyError for a source the registry does not list."""
    return PARTS[name]


def stream(source: str, name: str) -> RawStream:
    """The landing stream `name` of `source` (as a source declares it)."""
    return STREAMS[(source, name)]


__all__ = ["PARTS", "STREAMS", "SourceParts", "parts", "stream"]
