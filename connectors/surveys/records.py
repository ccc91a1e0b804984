"""Typed survey records: one answer of an NPS / survey export (Typeform, Google Forms, Hotjar …)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class SurveyResponse:
    """One answered survey, reduced to what the map uses: when, how likely to recommend, where in the journey.

    `score` is the 0–10 "how likely are you to recommend" answer (promoters 9–10, detractors 0–6).
    `comment` never carries an email address, a phone number or a URL's query string.
    """

    survey: str  # the survey's name, as the caller configured it
    response_id: str  # the export's id column when mapped; else a stable hash of file name, row and row text
    submitted: datetime  # timezone-aware, UTC; a date-only value is midnight in the survey's time zone
    score: int  # 0..10
    stage: str  # "" when no stage column is mapped or the cell is empty
    touchpoint: str  # "" when no touchpoint column is mapped or the cell is empty
    comment: str  # PII stripped, whitespace collapsed; "" when none
    persona: str  # the mapped persona cell(s) joined with " / "; "" when none
