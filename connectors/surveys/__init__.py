"""Survey and NPS exports (CSV), attached to a stage or touchpoint."""

from __future__ import annotations

from connectors.spec import SourceSpec
from connectors.surveys.pii import strip_pii
from connectors.surveys.reader import Columns, SurveyFileError, read_survey_file
from connectors.surveys.records import SurveyResponse

SPEC = SourceSpec("surveys")  # export files the map names: no account, no API

__all__ = ["SPEC", "Columns", "SurveyFileError", "SurveyResponse", "read_survey_file", "strip_pii"]
