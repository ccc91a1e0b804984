"""Survey answers on the map: NPS per stage and survey touchpoints, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select

from connectors.pii import EmailHasher
from models.mapfile import parse_map
from models.mapping import map_window
from models.sources.surveys.mapping import nps_by_stage
from models.sources.surveys.streams import SURVEY_RESPONSES
from models.store import upsert
from models.sync.rows import prepare
from models.tables import TouchpointDaily

HASHER = EmailHasher("test-salt")  # the project's one email hash, salted

MAP = """\
business: {name: Shop, timezone: Europe/London, currency: GBP}
stages: [{id: purchase, name: Purchase}, {id: retention, name: Retention}, {id: advocacy, name: Advocacy}]
journeys:
  - id: shop
    name: Shop
    goal: a sale
    value: 20
    touchpoints:
      - {id: checkout, name: Checkout, stage: purchase, source: stripe, match: {product: Course},
         volume: checkouts, success: completed}
      - {id: nps, name: NPS answers, stage: advocacy, source: surveys, match: {survey: post-.*},
         volume: responses, success: promoters}
surveys:
  - {name: post-purchase, file: a.csv, columns: {date: d, score: s}, touchpoint: checkout}
  - {name: onboarding, file: b.csv, columns: {date: d, score: s}, stage: retention}
"""
DAY = dt.date(2026, 9, 1)


def answer(survey: str, rid: str, score: int, comment: str = "", stage: str = "") -> dict[str, object]:
    return {"survey": survey, "response_id": rid, "submitted": dt.datetime(2026, 9, 1, 9, tzinfo=dt.UTC),
            "score": score, "stage": stage, "touchpoint": "", "comment": comment, "persona": ""}


def test_nps_per_stage_places_answers_by_their_own_stage_the_surveys_or_its_touchpoints(engine: Engine) -> None:
    journey_map = parse_map(MAP)
    answers = [answer("post-purchase", "a", 10), answer("post-purchase", "b", 9),
               answer("post-purchase", "c", 2, "Card declined"), answer("post-purchase", "d", 5, "Card declined"),
               answer("post-purchase", "e", 6, "Slow page"),
               answer("onboarding", "f", 8), answer("onboarding", "g", 10, stage="advocacy")]
    prepared = prepare(SURVEY_RESPONSES, answers, HASHER)
    assert not prepared.bad
    with engine.begin() as conn:
        upsert(conn, SURVEY_RESPONSES.table, prepared.rows)
        map_window(conn, journey_map, DAY, DAY)
    with engine.connect() as conn:
        feedback = nps_by_stage(conn, journey_map, DAY, DAY)
        facts = conn.execute(select(TouchpointDaily.volume, TouchpointDaily.success)
                             .where(TouchpointDaily.touchpoint_id == "nps")).all()
    assert list(feedback) == ["purchase", "retention", "advocacy"]
    purchase = feedback["purchase"]  # through the survey's touchpoint (checkout → purchase)
    assert (purchase.responses, purchase.nps) == (5, -20.0)  # 2 promoters, 3 detractors of 5
    assert purchase.pain_points[0] == "Card declined"
    assert purchase.scores[2] == purchase.scores[5] == 1
    assert (feedback["retention"].responses, feedback["retention"].nps) == (1, 0.0)
    assert (feedback["advocacy"].responses, feedback["advocacy"].nps) == (1, 100.0)
    assert [tuple(r) for r in facts] == [(5.0, 2.0)]  # the survey touchpoint counts post-purchase answers


def test_a_score_outside_0_to_10_never_lands() -> None:
    prepared = prepare(SURVEY_RESPONSES, [answer("s", "x", 11), answer("s", "y", -1)], HASHER)
    assert prepared.rows == []
    assert [reason for _, reason, _ in prepared.bad] == ["score 11 is not a score from 0 to 10",
                                                         "score must be a number ≥ 0, got -1"]
