"""Feedback belongs to its journey, on SQLite and PostgreSQL: an answer about a touchpoint (its own, or its survey's)
or taken by a journey's survey touchpoint shows under that journey only; an answer with only a stage shows under that
stage of every journey, marked as such — in the stored NPS, the HTML map and the PNG."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import Engine, delete

from connectors.pii import EmailHasher
from models.mapfile import parse_map
from models.sources.surveys.mapping import nps_by_journey
from models.sources.surveys.streams import SURVEY_RESPONSES
from models.store import upsert
from models.sync.rows import prepare
from reports.html_map import render_html
from reports.map_png import map_png
from reports.page_data import build_page
from reports.views import current_view

HASHER = EmailHasher("test-salt")
MAP = """\
business: {name: Shop, timezone: Europe/London, currency: GBP}
stages: [{id: consideration, name: Consideration}, {id: purchase, name: Purchase}]
journeys:
  - id: course
    name: Course
    goal: a sale
    value: 20
    touchpoints:
      - {id: sales-page, name: Sales page, stage: consideration, source: ga4, match: {page_path: /course/},
         volume: screenPageViews}
      - {id: checkout, name: Checkout, stage: purchase, source: stripe, match: {product: Course},
         volume: checkouts, success: completed}
  - id: affiliate
    name: Affiliate links
    goal: a click
    value: 1
    touchpoints:
      - {id: reviews, name: Reviews, stage: consideration, source: ga4, match: {page_path: /reviews/},
         volume: screenPageViews}
      - {id: click, name: Affiliate click, stage: purchase, source: ga4, match: {event_name: affiliate_click},
         volume: eventCount}
  - id: sponsorship
    name: Sponsorship
    goal: a sponsor click
    value: 2
    touchpoints:
      - {id: partner, name: Partner page, stage: consideration, source: ga4, match: {page_path: /partners/},
         volume: screenPageViews}
      - {id: sponsor-poll, name: Sponsor poll, stage: purchase, source: surveys, match: {survey: sponsor-poll},
         volume: responses, success: promoters}
surveys:
  - {name: post-purchase, file: a.csv, columns: {date: d, score: s}, touchpoint: checkout}
  - {name: general, file: b.csv, columns: {date: d, score: s}, stage: purchase}
  - {name: sponsor-poll, file: c.csv, columns: {date: d, score: s}, stage: purchase}
"""
DAY = dt.date(2026, 9, 10)
AS_OF = dt.date(2026, 9, 20)


def answer(survey: str, rid: str, score: int, comment: str = "") -> dict[str, object]:
    return {"survey": survey, "response_id": rid, "submitted": dt.datetime(2026, 9, 10, 9, tzinfo=dt.UTC),
            "score": score, "stage": "", "touchpoint": "", "comment": comment, "persona": ""}


def store(engine: Engine) -> None:
    answers = [answer("post-purchase", f"p{i}", 2, "Checkout asked for my address twice") for i in range(3)]
    answers += [answer("general", "g1", 10), answer("general", "g2", 9)]  # only a stage
    answers += [answer("sponsor-poll", "s1", 10)]  # taken by the sponsorship journey's survey touchpoint
    prepared = prepare(SURVEY_RESPONSES, answers, HASHER)
    assert not prepared.bad
    with engine.begin() as conn:
        upsert(conn, SURVEY_RESPONSES.table, prepared.rows)


def test_each_journey_counts_its_own_answers_and_the_stage_wide_ones(engine: Engine) -> None:
    journey_map = parse_map(MAP)
    store(engine)
    with engine.connect() as conn:
        feedback = nps_by_journey(conn, journey_map, DAY, DAY)
    purchase = {journey: stages["purchase"] for journey, stages in feedback.items()}
    assert {j: (f.responses, f.stage_only, f.nps) for j, f in purchase.items()} == {
        "course": (5, 2, -20.0),  # 3 detractors about its checkout + 2 promoters about the stage: (2 − 3) / 5
        "affiliate": (2, 2, 100.0),  # only the stage-wide answers
        "sponsorship": (3, 2, 100.0)}  # its own poll + the stage-wide answers
    assert purchase["course"].pain_points == ("Checkout asked for my address twice",)
    assert purchase["affiliate"].pain_points == ()  # the course's checkout complaint stays in the course
    assert all("consideration" not in stages for stages in feedback.values())


def test_the_map_shows_a_checkout_complaint_only_under_its_journey(engine: Engine) -> None:
    journey_map = parse_map(MAP)
    store(engine)
    view = current_view(engine, journey_map, AS_OF)
    html = render_html(build_page(engine, journey_map, AS_OF))
    journeys = {m.group(1): m.group(2) for m in re.finditer(r'<article class="journey" data-journey="([^"]+)">(.*?)'
                                                            r"</article>", html)}
    assert set(journeys) == {"course", "affiliate", "sponsorship"}
    assert "Checkout asked for my address twice" in journeys["course"]
    assert "Checkout asked for my address twice" not in journeys["affiliate"]
    assert "Checkout asked for my address twice" not in journeys["sponsorship"]
    assert "NPS -20</b> · 5 answers" in journeys["course"]
    assert "NPS +100</b> · 2 answers" in journeys["affiliate"]
    assert "NPS +100</b> · 3 answers" in journeys["sponsorship"]
    assert "2 of them about the stage in general, not this journey" in journeys["course"]
    assert "all about the stage in general, not this journey" in journeys["affiliate"]
    assert [f.answers for f in view.feedback_for("affiliate")] == [2]


def test_the_png_of_another_journey_does_not_change_with_the_course_checkout_answers(engine: Engine) -> None:
    journey_map = parse_map(MAP)
    store(engine)
    page = build_page(engine, journey_map, AS_OF)
    affiliate, course = map_png(page, journey_id="affiliate"), map_png(page, journey_id="course")
    with engine.begin() as conn:
        conn.execute(delete(SURVEY_RESPONSES.table).where(SURVEY_RESPONSES.table.c.survey == "post-purchase"))
    page = build_page(engine, journey_map, AS_OF)
    assert map_png(page, journey_id="affiliate") == affiliate  # the same bytes: none of it was the course's
    assert map_png(page, journey_id="course") != course
