"""The survey exports's landing streams: what its records become as rows of its tables, and which checks they pass
first (records that fail go to the quarantine; see `models.sync.rows`)."""

from __future__ import annotations

from typing import Any

from models.sources.surveys.tables import SurveyResponseRow
from models.sync.rows import (
    EMAIL,
    BadRecord,
    RawStream,
    Record,
    day_of,
    naive_utc,
    number,
)
from models.tables import table_of


def _survey_row(r: Record) -> dict[str, Any]:
    score = number(r, "score", whole=True)
    if score > 10:
        raise BadRecord(f"score {r['score']!r} is not a score from 0 to 10")
    comment = str(r.get("comment") or "")
    if EMAIL.search(comment):
        raise BadRecord("comment holds an email address; connectors must strip PII before storage")
    return {"survey": str(r["survey"]), "response_id": str(r["response_id"]),
            "submitted": naive_utc(r["submitted"], "submitted"), "score": int(score),
            "stage": str(r.get("stage") or ""), "touchpoint": str(r.get("touchpoint") or ""), "comment": comment,
            "persona": str(r.get("persona") or "")}

SURVEY_RESPONSES = RawStream("surveys", "responses", table_of(SurveyResponseRow), _survey_row,
                             lambda r: f"{r['survey']}|{r['response_id']}", day_of("submitted"))
