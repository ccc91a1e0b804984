"""The source registry of the stored map: every source the map can read, in the order runs take them.

A source is named here once; everything else of flows/, models/, checks/ and reports/ loops over `SOURCES`.
"""

from __future__ import annotations

from collections.abc import Mapping

from models.sources import ga4, mailchimp, search_console, stripe, surveys
from models.sources.spec import SourceModel
from models.sources.surveys.section import SurveysSection

SOURCES: tuple[SourceModel, ...] = (ga4.SOURCE, search_console.SOURCE, mailchimp.SOURCE, stripe.SOURCE,
                                    surveys.SOURCE)


class MapSections(SurveysSection):
    """The top-level parts of journey.yaml that sources add (the map's schema inherits them)."""


BY_NAME: dict[str, SourceModel] = {s.name: s for s in SOURCES}
NAMES: tuple[str, ...] = tuple(BY_NAME)


def source(name: str) -> SourceModel:
    """The declaration of `name`; KeyError for a source the registry does not list."""
    return BY_NAME[name]


def stream_of(source: str, match: Mapping[str, object]) -> str:
    """The raw stream (or report) a rule of `source` with these `match:` keys reads."""
    return BY_NAME[source].rule_stream(match)


__all__ = ["BY_NAME", "NAMES", "SOURCES", "MapSections", "SourceModel", "source", "stream_of"]
