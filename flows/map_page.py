"""Publish the rendered map of a run: its HTML file, linked from the run's artifacts (what the page shows is read
by `reports.page_data`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine

from models.config import JourneyMap
from reports.page_data import build_page


def publish_rendered_map(engine: Engine, journey_map: JourneyMap, as_of: dt.date, folder: Path) -> Path:
    """Write the HTML map of the run (every persona) to `folder`/journey-map.html and link it from the run's
    artifacts (`journey-map-html`); returns the file."""
    from prefect.artifacts import create_link_artifact

    from reports.html_map import render_html

    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "journey-map.html"
    target.write_text(render_html(build_page(engine, journey_map, as_of)), encoding="utf-8")
    create_link_artifact(key="journey-map-html", link=target.resolve().as_uri(), link_text="the rendered map",
                         description=f"Journey map as of {as_of.isoformat()}: one HTML file, every persona")
    return target
