"""Survey and NPS exports (CSV), attached to a stage or touchpoint."""

from __future__ import annotations

from connectors.surveys.pii import strip_pii
from connectors.surveys.reader import Columns, SurveyFileError, read_survey_file
from connectors.surveys.records import SurveyResponse
from connectors.surveys.source import SPEC, SurveyExport, open_surveys

__all__ = ["SPEC", "Columns", "SurveyExport", "SurveyFileError", "SurveyResponse", "open_surveys", "read_survey_file",
           "strip_pii"]
