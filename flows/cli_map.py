"""`journeymap map`: the current map from the stored facts — a table or Markdown in the terminal, or one
self-contained HTML file or a PNG image to open, share or attach."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from flows.cli_common import Business, fail, load_config, out, parse_date


class Format(StrEnum):
    table = "table"
    markdown = "markdown"
    html = "html"
    png = "png"


def show_map(
    journey: Annotated[str | None, typer.Option(help="only this journey id")] = None,
    persona: Annotated[str | None, typer.Option(help="the map of one persona of journey.yaml")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="table, markdown, html or png")] = Format.table,
    as_of: Annotated[str | None, typer.Option("--as-of", help="end of the period (default: after the newest data)")]
    = None,
    period: Annotated[int, typer.Option("--period", min=7, max=91, help="days in the period (and the one before)")]
    = 28,
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="the file to write (html: journey-map.html; png: journey-map.png)")] = None,
    business: Business = None,
) -> None:
    """Print the current map from the stored facts (no sync), or write it as one self-contained HTML file (every
    persona, with a switcher) or a PNG (all customers, or --persona)."""
    from models.db import make_engine, migrate
    from models.queries import last_fact_date
    from reports.render import render_markdown, render_table
    from reports.views import current_view

    day = parse_date(as_of, "--as-of")
    settings, journey_map = load_config(business)
    if journey is not None and journey not in [j.id for j in journey_map.journeys]:
        fail(f"--journey {journey!r} is not in the map; journeys are {', '.join(j.id for j in journey_map.journeys)}")
    if persona is not None and persona not in [p.name for p in journey_map.personas]:
        fail(f"--persona {persona!r} is not in the map; personas are "
             f"{', '.join(p.name for p in journey_map.personas) or '(none defined)'}")
    engine = make_engine(settings.journey_database_url)
    migrate(engine)
    with engine.connect() as conn:
        newest = last_fact_date(conn)
    if newest is None:
        fail("no facts stored yet; run `journeymap run` (or `journeymap run --demo`) first", code=1)
    as_of_day = day or newest + dt.timedelta(days=1)
    if fmt in (Format.html, Format.png):
        from reports.html_map import render_html
        from reports.map_png import map_png
        from reports.page_data import build_page

        target = out_file or Path(f"journey-map.{fmt.value}")
        page = build_page(engine, journey_map, as_of_day, period_days=period, journey_id=journey,
                          persona=persona if fmt is Format.html else (persona or ""))
        if fmt is Format.html:
            target.write_text(render_html(page), encoding="utf-8")
        else:
            target.write_bytes(map_png(page, persona or "", journey))
        out.print(f"wrote {target} ({target.stat().st_size / 1024:,.0f} KB): {len(page.personas)} map(s), "
                  f"{period} days to {as_of_day - dt.timedelta(days=1)}", highlight=False)
        return
    view = current_view(engine, journey_map, as_of_day, period_days=period, persona=persona, journey_id=journey)
    if fmt is Format.markdown:
        typer.echo(render_markdown(view))
    else:
        out.print(render_table(view))
