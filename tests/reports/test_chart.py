"""The funnel picture: a PNG of readable size, deterministic, one journey or all, never raising on empty maps."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from models.mapfile import load_map
from reports.chart import delta_label, funnel_png, shorten
from reports.map_view import JourneyView, MapView, StageView, TouchpointView, build_map_view

ROOT = Path(__file__).resolve().parents[2]
SINCE, UNTIL = dt.date(2026, 9, 1), dt.date(2026, 9, 7)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LONG_NAME = "Sessions that start on a sponsored post about the very long-fermented rye loaf from the archive"


def touchpoint(tp_id: str, volume: float | None, conversions: float | None, previous: float | None = None,
               previous_conversions: float | None = None, name: str = "") -> TouchpointView:
    return TouchpointView(tp_id, name or tp_id.title(), "ga4", volume, previous, conversions, previous_conversions,
                          "keyEvents")


def journey(journey_id: str, extra: int = 0) -> JourneyView:
    """Two stages, three touchpoints (no data, zero volume, a very long name), plus `extra` plain ones."""
    awareness = [touchpoint("ads", 40_000, 800, 38_000, 700, name=LONG_NAME), touchpoint("email", None, None)]
    purchase = [touchpoint("checkout", 0, None, 12, 5)]
    purchase += [touchpoint(f"step-{i}", 12, 4, 10, 4) for i in range(extra)]
    return JourneyView(journey_id, journey_id.title(), "a sale", 20.0,
                       [StageView("awareness", "Awareness", awareness), StageView("purchase", "Purchase", purchase)])


def view(*journeys: JourneyView) -> MapView:
    return MapView("The Sourdough Hour", "GBP", "persona=mobile-social", SINCE, UNTIL, list(journeys))


def size(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG_SIGNATURE)
    with Image.open(io.BytesIO(png)) as image:
        image.load()  # decodes the whole image: a truncated or corrupt PNG fails here
        return image.size


def test_a_small_map_renders_a_png_at_most_1600_px_wide() -> None:
    width, height = size(funnel_png(view(journey("shop"))))
    assert width <= 1600
    assert 200 < height < width


def test_height_grows_with_the_number_of_touchpoints() -> None:
    _, short = size(funnel_png(view(journey("shop"))))
    _, tall = size(funnel_png(view(journey("shop", extra=5))))
    assert tall > short + 5 * 20  # at least 20 px per touchpoint


def test_the_same_view_gives_identical_bytes() -> None:
    data = view(journey("shop"), journey("gear"))
    assert funnel_png(data) == funnel_png(data)


def test_journey_id_draws_one_journey() -> None:
    data = view(journey("shop"), journey("gear", extra=2), journey("ads"))
    width, everything = size(funnel_png(data))
    _, one = size(funnel_png(data, journey_id="gear"))
    assert one < everything
    assert size(funnel_png(view(journey("gear", extra=2)))) == (width, one)


@pytest.mark.parametrize("journey_id", [None, "nope"])
def test_nothing_to_show_still_renders(journey_id: str | None) -> None:
    empty = funnel_png(view(), journey_id=journey_id)
    width, height = size(empty)
    assert width <= 1600
    assert height < size(funnel_png(view(journey("shop"))))[1]


def test_changes_are_coloured_only_when_meaningful() -> None:
    up, up_colour = delta_label(2.5)
    down, down_colour = delta_label(-3.0)
    small, small_colour = delta_label(0.4)
    assert up == "↑ +2.5 pp"
    assert down == "↓ -3.0 pp"
    assert small.startswith("↑")
    assert len({up_colour, down_colour, small_colour}) == 3
    assert delta_label(None)[0] == "—"
    assert delta_label(0.01)[0] == "±0.0 pp"


def test_long_names_are_shortened_with_an_ellipsis() -> None:
    assert shorten(LONG_NAME, 30).endswith("…")
    assert len(shorten(LONG_NAME, 30)) <= 30
    assert shorten("Cart", 30) == "Cart"


def test_the_example_map_renders(tmp_path: Path) -> None:
    journey_map = load_map(ROOT / "journey.yaml")
    touchpoints = [tp for _, tp in journey_map.touchpoints()]
    now = pd.DataFrame([{"date": UNTIL, "touchpoint_id": tp.id, "volume": 40_000 / (i + 1) ** 2,
                         "success": 40_000 / (i + 1) ** 2 * 0.3 if tp.success else None}
                        for i, tp in enumerate(touchpoints) if tp.id != "cart"])
    before = now.assign(volume=now["volume"] * 1.1, success=now["success"] * 0.9)
    data = build_map_view(journey_map, now, before, since=SINCE, until=UNTIL)
    png = funnel_png(data)
    (tmp_path / "journey-map.png").write_bytes(png)
    width, height = size((tmp_path / "journey-map.png").read_bytes())
    assert width <= 1600
    assert height > 20 * len(touchpoints)  # at least 20 px per touchpoint
    for journey_view in data.journeys:
        _, one = size(funnel_png(data, journey_id=journey_view.id))
        assert one < height
    persona = build_map_view(journey_map, now, before, since=SINCE, until=UNTIL, segment="persona=mobile-social")
    assert size(funnel_png(persona)) == (width, height)  # no-data rows take the same room as bars


def test_importing_the_module_does_not_import_matplotlib() -> None:
    code = "import sys, reports.chart; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
