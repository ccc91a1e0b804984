"""The HTML map from a hand-made page: missing data reads as such, the page is self-contained and escaped, the
persona switcher, the sparkline's gaps, the step interval and the largest leak. (The demo business's page is
compared with its golden structure and opened in Chromium in tests/flows/test_pipeline.py.)"""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest

from reports.html_map import render_html
from reports.map_page import IncidentNote, MapPage, PersonaPage, SourceStatus, largest_leak, wilson
from reports.map_png import map_png
from reports.map_view import FeedbackView, JourneyView, MapView, StageView, TouchpointView
from tests.reports.map_html import structure

SINCE, UNTIL = dt.date(2026, 9, 3), dt.date(2026, 9, 30)


def card(tp_id: str, name: str, source: str, volume: float | None, conversions: float | None,
         step_to: str = "next") -> TouchpointView:
    return TouchpointView(tp_id, name, source, volume, volume, conversions, conversions, step_to, "sessions")


def page() -> MapPage:
    stages = [StageView("awareness", "Awareness", [card("ads", "Ads <script>alert(1)</script>", "ga4", 1000, 200),
                                                   card("blog", "Blog", "ga4", 5000, 100)]),
              StageView("purchase", "Purchase", [card("checkout", "Checkout", "stripe", 0, None),
                                                 card("receipt", "Receipt", "mailchimp", 40, None, "")])]
    journey = JourneyView("course", "Course", "Buy the course", 199, stages)
    feedback = [FeedbackView("Purchase", 12, 25.0, 10.0, ("Too expensive",), (0, 0, 0, 1, 0, 0, 2, 3, 0, 2, 4))]
    everyone = MapView("Bakery", "GBP", "all", SINCE, UNTIL, [journey], feedback)
    blind = [StageView(s.id, s.name, [card(c.id, c.name, c.source, c.volume if c.source == "ga4" else None,
                                           c.conversions) for c in s.touchpoints]) for s in stages]
    persona = MapView("Bakery", "GBP", "persona=mobile", SINCE, UNTIL,
                      [JourneyView("course", "Course", "Buy the course", 199, blind)])
    series = {"ads": [10.0, 12.0, None, None, 11.0, 13.0] + [12.0] * 84}
    return MapPage("Bakery", "GBP", dt.date(2026, 10, 1),
                   [PersonaPage("", "", everyone, series), PersonaPage("mobile", "Phone readers", persona, {})],
                   questions={"blog": ("Which posts lead to the guide?",)},
                   incidents=[IncidentNote("blog", "all", "critical", "open", dt.date(2026, 9, 20), None, 123.4,
                                           0.02, 0.05, "2026-09-17", "2026-09-28"),
                              IncidentNote("ads", "persona=mobile", "warning", "ongoing", dt.date(2026, 9, 25), None,
                                           5.0, None, None),
                              IncidentNote("checkout", "all", "critical", "resolved", dt.date(2026, 9, 5),
                                           dt.date(2026, 9, 9), 80.0, None, None)],
                   sources=[SourceStatus("ga4", 7, (), UNTIL, UNTIL,
                                         settling=(UNTIL - dt.timedelta(days=1), UNTIL)),
                            SourceStatus("stripe", 4, ("stripe has data for every matured day",), UNTIL,
                                         dt.date(2026, 8, 30)),
                            SourceStatus("surveys", 3, (), UNTIL, None, mapped=False)])


def test_missing_data_reads_as_missing_never_as_zero() -> None:
    html = render_html(page())
    found = structure(html)
    checkout = found["all"]["course"]["purchase"]["checkout"]
    assert checkout == {"no-data": ["no data since 2026-08-30"]}  # no volume, no 0 %, no sparkline
    assert "n/a for a persona" in html  # the persona's Stripe and Mailchimp cards: the source has no segments
    assert "stripe: 1 check(s) failed on 2026-09-30, data to 2026-08-30" in html
    assert "surveys: 3 checks passed on 2026-09-30<" in html  # no touchpoints of its own: no "no data yet"
    # days read before they settled say so: late data may still change them
    assert "ga4: 7 checks passed on 2026-09-30, data to 2026-09-30 (2026-09-29 … 2026-09-30 still settling)" in html


def test_the_page_is_self_contained_escaped_and_switches_personas() -> None:
    html = render_html(page())
    assert not re.search(r"""(src|href)=["']?(https?:)?//|<script|@import|url\(""", html)
    assert "Ads &lt;script&gt;alert(1)&lt;/script&gt;" in html
    radios = re.findall(r'<input type="radio" name="persona" class="persona-switch" id="([^"]+)"( checked)?>', html)
    assert radios == [("persona-all", " checked"), ("persona-mobile", "")]
    assert "#persona-mobile:checked~main #persona-mobile-map{display:block}" in html
    found = structure(html)
    assert list(found) == ["all", "mobile"]
    assert list(found["all"]["course"]) == ["awareness", "purchase"]  # stage columns in order
    assert list(found["all"]["course"]["awareness"]) == ["ads", "blog"]  # cards in order


def test_cards_carry_their_figures_incidents_questions_and_the_stage_leak() -> None:
    found = structure(render_html(page()))
    blog = found["all"]["course"]["awareness"]["blog"]
    assert blog["volume"] == ["5,000"]
    assert blog["conversion"] == ["2.0%"]
    assert blog["interval"] == ["(1.6%–2.4%)"]
    assert blog["leak"] == ["largest leak of the stage: 4,900 lost"]  # 4 900 lost against the ads' 800
    # the incident's snapshot: rate now vs usual, since its first bad day (not the day it was alerted), money
    assert blog["incident"] == ["Critical: 2.0% vs 5.0% since 2026-09-17 · GBP 123/day"]
    assert blog["question"] == ["? Which posts lead to the guide?"]
    assert "incident" not in found["all"]["course"]["awareness"]["ads"]  # the persona's incident …
    assert found["mobile"]["course"]["awareness"]["ads"]["incident"] == [  # … shows on the persona's map
        "Warning: since 2026-09-25 · GBP 5/day"]
    assert "incident" not in found["mobile"]["course"]["awareness"]["blog"]


def test_the_sparkline_breaks_where_days_have_no_data_and_feedback_shows_its_scores() -> None:
    html = render_html(page())
    ads = html[html.index('data-touchpoint="ads"'):html.index('data-touchpoint="blog"')]
    assert ads.count("<polyline") == 2  # two runs around the two missing days
    assert "NPS +25</b> (was +10) · 12 answers" in html
    assert 'aria-label="scores 0 to 10: 0, 0, 0, 1, 0, 0, 2, 3, 0, 2, 4"' in html
    assert "<li>Too expensive</li>" in html
    assert "<h3>Resolved incidents</h3><ul><li>Checkout (all): critical, 2026-09-05 – 2026-09-09</li></ul>" in html


def test_wilson_interval_and_leak_helpers() -> None:
    low, high = wilson(50, 100) or (0, 0)
    assert (round(low, 3), round(high, 3)) == (0.404, 0.596)
    assert wilson(5, 0) is None
    assert wilson(120, 100) == pytest.approx(wilson(100, 100))  # a next step counting more people: clipped
    assert largest_leak(page().personas[0].view.journeys[0].stages[0]) == "blog"


def test_the_png_is_the_same_map_drawn_the_same_every_time() -> None:
    from PIL import Image

    drawn = map_png(page())
    assert drawn == map_png(page())  # no timestamps, no randomness: the same page gives the same bytes
    with Image.open(io.BytesIO(drawn)) as image:
        assert image.format == "PNG"
        assert image.width == round(100 * (2 * 0.3 + 2 * 2.9 + 0.15))  # two stage columns
    assert map_png(page(), "mobile", "course") != drawn
    with pytest.raises(ValueError, match="persona 'nobody' is not on this page"):
        map_png(page(), "nobody")
