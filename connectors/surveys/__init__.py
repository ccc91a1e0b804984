"""Survey and NPS exports (CSV), attached to a stage or touchpoint."""

from __future__ import annotations

from connectors.surveys.pii import strip_pii
from connectors.surveys.reader import Columns, SurveyFileError, read_survey_file
from connectors.surveys.records import SurveyResponse

__all__ = ["Columns", "SurveyFileError", "SurveyResponse", "read_survey_file", "strip_pii"]
