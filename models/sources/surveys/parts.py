"""The survey exports' storing half: its landing streams, its mapping, what the map asks of the exports, its sync
and what its answers say of each stage."""

from __future__ import annotations

from models.sources.parts import SourceParts
from models.sources.surveys.mapping import map_surveys, nps_by_journey, nps_by_stage, read_surveys
from models.sources.surveys.streams import SURVEY_RESPONSES
from models.sources.surveys.sync import survey_request, sync_surveys

PARTS = SourceParts("surveys", (SURVEY_RESPONSES,), read_surveys, map_surveys, sync=sync_surveys,
                    request=survey_request, feedback=nps_by_stage, journey_feedback=nps_by_journey)
