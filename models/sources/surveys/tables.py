"""The survey exports's landing tables (natural keys, idempotent upserts)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    DateTime,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.tables import Base


class SurveyResponseRow(Base):
    """One survey answer: score 0–10, where on the map it belongs, and its comment with PII stripped."""

    __tablename__ = "raw_survey_responses"
    survey: Mapped[str] = mapped_column(String(64), primary_key=True)
    response_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    submitted: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    score: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(64))
    touchpoint: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str] = mapped_column(Text)
    persona: Mapped[str] = mapped_column(String(200))
