"""The survey exports' storing half: its landing streams, its mapping and how far back a read reaches."""

from __future__ import annotations

from models.sources.parts import SourceParts
from models.sources.surveys.mapping import map_surveys, read_surveys
from models.sources.surveys.streams import SURVEY_RESPONSES

PARTS = SourceParts("surveys", (SURVEY_RESPONSES,), read_surveys, map_surveys)
