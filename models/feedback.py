"""Feedback on the map's stages: what a source of answers (a survey, an NPS export) says of each stage over a
period. A source that has it says so in its storing half (`SourceParts.feedback`, `SourceParts.journey_feedback`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StageFeedback:
    """NPS of one stage over a period, with its score distribution and the most frequent pain points."""

    stage: str
    responses: int
    nps: float | None  # −100 … 100; None without answers
    scores: tuple[int, ...]  # count of each score 0..10
    pain_points: tuple[str, ...]  # comments of detractors, most frequent first
    stage_only: int = 0  # of the responses, those with only a stage (they show under that stage of every journey)
