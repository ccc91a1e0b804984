"""The map view: step conversions, changes against the previous period, persona views, rendering."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from rich.console import Console

from models.mapfile import parse_map
from reports.map_view import MapView, build_map_view
from reports.render import render_markdown, render_table

MAP = """\
business: {name: Shop, timezone: UTC, currency: EUR}
stages: [{id: awareness, name: Awareness}, {id: purchase, name: Purchase}]
personas: [{name: mobile, where: {device: mobile}}]
journeys:
  - id: shop
    name: Shop
    goal: a sale
    value: 20
    touchpoints:
      - {id: cart, name: Cart, stage: purchase, source: ga4, match: {page_path: /cart}, volume: screenPageViews}
      - {id: ads, name: Ads, stage: awareness, source: ga4, match: {source: fb}, volume: sessions,
         success: keyEvents}
      - {id: landing, name: Landing, stage: awareness, source: ga4, match: {page_path: /}, volume: screenPageViews}
      - {id: pay, name: Checkout, stage: purchase, source: stripe, match: {product: x}, volume: checkouts,
         success: completed}
"""
D = dt.date(2026, 9, 1)


def frame(rows: list[tuple[str, float, float | None]]) -> pd.DataFrame:
    return pd.DataFrame([{"date": D, "touchpoint_id": t, "volume": v, "success": s} for t, v, s in rows])


@pytest.fixture
def view_all() -> MapView:
    now = frame([("ads", 200, 10), ("landing", 100, None), ("cart", 20, None), ("pay", 10, 4)])
    before = frame([("ads", 100, 10), ("landing", 100, None), ("cart", 25, None), ("pay", 10, 5)])
    return build_map_view(parse_map(MAP), now, before, since=D, until=D)


def test_touchpoints_in_stage_order_with_step_conversions(view_all: MapView) -> None:
    journey = view_all.journeys[0]
    assert [s.id for s in journey.stages] == ["awareness", "purchase"]
    ads, landing = journey.stages[0].touchpoints
    cart, pay = journey.stages[1].touchpoints
    assert ads.conversion == pytest.approx(0.05)
    assert ads.step_to == "keyEvents"
    assert landing.conversion == pytest.approx(0.20)
    assert landing.step_to == "Cart"
    assert cart.conversion == pytest.approx(0.5)
    assert pay.conversion == pytest.approx(0.4)
    assert pay.previous_conversion == pytest.approx(0.5)
    assert pay.conversion_change == pytest.approx(-10.0)
    assert ads.volume_change == pytest.approx(1.0)
    assert cart.volume_change == pytest.approx(-0.2)


def test_persona_view_leaves_unsegmented_sources_blank() -> None:
    now = frame([("ads", 50, 1), ("landing", 40, None), ("cart", 5, None), ("pay", 10, 4)])
    view = build_map_view(parse_map(MAP), now, now, since=D, until=D, segment="persona=mobile")
    cart, pay = view.journeys[0].stages[1].touchpoints
    assert pay.volume is None
    assert pay.conversion is None
    assert cart.volume == 5
    assert cart.conversion is None


SEARCH_MAP = """\
business: {name: Blog, timezone: UTC, currency: EUR}
stages: [{id: awareness, name: Awareness}]
personas: [{name: mobile-uk, where: {device: mobile, country: United Kingdom}},
           {name: social, where: {channel: Organic Social}}]
journeys:
  - id: blog
    name: Blog
    goal: a reader
    value: 0
    touchpoints:
      - {id: in-google, name: In Google, stage: awareness, source: search_console, match: {page: '.*'},
         volume: impressions, success: clicks}
      - {id: a-query, name: A query, stage: awareness, source: search_console, match: {page: '.*', query: 'bread'},
         volume: impressions, success: clicks}
"""


@pytest.mark.parametrize(("segment", "seen"), [
    ("device=mobile", {"in-google"}), ("persona=mobile-uk", {"in-google"}), ("channel=Paid Social", set()),
    ("persona=social", set()), ("all", {"in-google", "a-query"})])
def test_a_segment_view_shows_a_source_only_for_the_dimensions_its_records_carry(segment: str, seen: set[str]) -> None:
    """Search Console pages carry device and country, not channel; its queries carry neither."""
    now = frame([("in-google", 1000, 40), ("a-query", 100, 5)])
    view = build_map_view(parse_map(SEARCH_MAP), now, now, since=D, until=D, segment=segment)
    cards = view.journeys[0].stages[0].touchpoints
    assert {card.id for card in cards if card.volume is not None} == seen


def test_renderings_name_every_stage_and_touchpoint(view_all: MapView) -> None:
    markdown = render_markdown(view_all)
    assert "### Awareness" in markdown
    assert "### Purchase" in markdown
    assert "| Landing | ga4 | 100 | ±0% | → Cart | 20.0% | -5.0 pp |" in markdown
    console = Console(width=200, record=True)
    console.print(render_table(view_all))
    text = console.export_text()
    for word in ("Awareness", "Purchase", "Ads", "Landing", "Cart", "Checkout", "-10.0 pp", "+100%"):
        assert word in text


def test_a_card_shows_its_sources_other_rates_beside_its_step() -> None:
    """Checkout completes 4 of 10; the same card shows abandonment and refunds, never money as a rate."""
    now = frame([("ads", 200, 10), ("landing", 100, None), ("cart", 20, None), ("pay", 10, 4)])
    metrics = pd.DataFrame([("pay", m, v) for m, v in (("checkouts", 10), ("completed", 4), ("abandoned", 5),
                                                        ("expired", 6), ("revenue", 800), ("refunds", 1))],
                           columns=["touchpoint_id", "metric", "value"])
    view = build_map_view(parse_map(MAP), now, now, since=D, until=D, metrics=metrics)
    pay = next(tp for s in view.journeys[0].stages for tp in s.touchpoints if tp.id == "pay")
    assert pay.other_rates == [("expired", 0.6), ("abandoned", 0.5), ("refunds", 0.1)]
    assert "expired 60.0% · abandoned 50.0% · refunds 10.0%" in render_markdown(view)


def test_no_surface_shows_a_rate_above_100_percent_nor_money_as_a_rate() -> None:
    """Cart's next step (Checkout) counts 30 against Cart's 20, and Checkout's revenue is money: neither is shown
    as a rate; the HTML and PNG cards show no rate and no interval without its rate inside it."""
    import re

    from reports.html_map import render_html
    from reports.map_page import MapPage, PersonaPage, wilson
    from reports.map_png import map_png

    now = frame([("ads", 200, 10), ("landing", 100, None), ("cart", 20, None), ("pay", 30, 4)])
    metrics = pd.DataFrame([("pay", "checkouts", 30), ("pay", "completed", 4), ("pay", "revenue", 52_341.6),
                            ("ads", "sessions", 200), ("ads", "purchaseRevenue", 5_234.1)],
                           columns=["touchpoint_id", "metric", "value"])
    view = build_map_view(parse_map(MAP), now, now, since=D, until=D, metrics=metrics)
    cards = {tp.id: tp for s in view.journeys[0].stages for tp in s.touchpoints}
    assert cards["cart"].conversions == 30
    assert cards["cart"].volume == 20
    assert cards["cart"].conversion is None
    assert cards["cart"].beyond_volume
    assert cards["cart"].conversion_change is None
    assert cards["pay"].other_rates == []
    assert cards["pay"].money == [("revenue", 52_341.6)]
    assert cards["ads"].other_rates == []
    assert cards["ads"].money == [("purchaseRevenue", 5_234.1)]
    markdown = render_markdown(view)
    assert "| Cart | ga4 | 20 | ±0% | → Checkout | n/a (30 > volume) | — |" in markdown
    assert "revenue EUR 52,342" in markdown
    assert "purchaseRevenue EUR 5,234" in markdown
    html = render_html(MapPage("Shop", "EUR", D + dt.timedelta(days=1), [PersonaPage("", "", view, {})]))
    shown = [float(x.replace(",", "")) for x in re.findall(r"([\d,.]+)%", html)]
    assert shown
    assert max(shown) <= 100.0
    for tp in cards.values():
        rate, interval = tp.conversion, wilson(tp.conversions, tp.volume)
        if rate is not None and interval is not None:
            assert interval[0] <= rate <= interval[1], tp.id
    assert map_png(MapPage("Shop", "EUR", D + dt.timedelta(days=1), [PersonaPage("", "", view, {})]))
