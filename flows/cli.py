"""The `journeymap` command line: validates input early, then runs the Prefect flows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from flows.cli_alerts import incident_app, report_delivery, summary
from flows.cli_common import Business, err, fail, load_config, out, parse_date, prefect_api, server_hint, slack_setup
from flows.cli_discover import discover_command
from flows.cli_map import show_map
from flows.setup_prefect import setup_prefect_command
from models.sources import NAMES

if TYPE_CHECKING:  # types only: each command imports the flows and the warehouse when it runs
    from flows.run_result import PipelineResult
    from flows.settings import Settings
    from flows.sources import Source
    from models.config import JourneyMap


class Journeymap(typer.Typer):
    """The app; after a command, it says once per user what a temporary Prefect server cost the command."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        finally:
            server_hint()


app = Journeymap(help="Journeymap: a customer journey map that keeps itself up to date.",
                 no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
SOURCE_NAMES = NAMES
SOURCES_HELP = f"comma-separated: {','.join(NAMES)}"
MAX_PARALLEL = 16  # flows.pipeline.MAX_PARALLEL, here so that --help needs no flow (tests hold the two equal)


def parse_sources(value: str | None, journey_map: JourneyMap) -> list[str] | None:
    if value is None:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in SOURCE_NAMES]
    if unknown or not names:
        fail(f"--sources {value!r}: unknown source {', '.join(unknown) or '(none)'}; "
             f"choose from {', '.join(SOURCE_NAMES)}")
    unused = [n for n in names if n not in journey_map.used_sources()]
    if unused:
        fail(f"--sources: no touchpoint of the map reads {', '.join(unused)}; "
             f"the map uses {', '.join(journey_map.used_sources())}")
    return names


def preflight(settings: Settings, journey_map: JourneyMap, chosen: list[str] | None, demo: bool) -> None:
    """Check, before any work starts, that every real source asked for can run and that Slack is set up when a
    token is given; exit 2 naming the fix."""
    slack_setup(settings)
    if demo:
        return
    from connectors.errors import PermanentError
    from flows.settings import SettingsError
    from flows.sources import open_readers

    try:
        for source in chosen or journey_map.used_sources():
            open_readers(source, settings, journey_map)
    except (SettingsError, PermanentError) as exc:
        fail(str(exc))


def report(result: PipelineResult) -> None:
    """Print the map and what the run did; exit with the run's code."""
    from reports.render import render_table

    if result.view is not None:
        out.print(render_table(result.view))
    if result.mapping is not None:
        out.print(f"touchpoint_daily: {result.mapping.facts:,} rows written for the synced window; "
                  f"unmapped volume: " + ", ".join(f"{k} {v:,.0f}" for k, v in result.mapping.unmapped_volume.items()))
    if result.quality:
        from reports.quality import quality_line, quality_table

        out.print(quality_line(result.quality), highlight=False)
        if not all(r["success"] for r in result.quality):
            out.print(quality_table(result.quality, f"Failed data-quality checks, {result.as_of} "
                                                    "(details: journeymap checks)"))
    if result.detection is not None and result.view is not None:
        from reports.incidents import held_back_lines, incidents_table

        for message in result.detection.data_alerts.values():
            err.print(f"[bold yellow]data alert:[/] {message}", highlight=False)
        for line in held_back_lines(result.detection.held_back):
            err.print(f"[bold yellow]{line}[/]", highlight=False)
        opened = [i.payload for i in result.detection.open]
        out.print(incidents_table(opened, result.view.currency, f"Open incidents as of {result.as_of}: "
                                  f"{len(opened)}") if opened else f"No open incidents as of {result.as_of}.")
    if result.delivery is not None:
        report_delivery(result.delivery)
    if result.backfill is not None:
        chunks = result.backfill
        out.print(f"Backfill: {len(chunks.loaded)} chunks loaded, {len(chunks.skipped)} already loaded by an earlier "
                  f"backfill (skipped)" + (f", {len(chunks.not_started)} not started" if chunks.not_started else ""),
                  highlight=False)
    for synced in result.synced:
        for text in ([synced.note] if synced.note else []) + synced.warnings:
            err.print(f"[bold yellow]{synced.source}:[/] {text}", highlight=False, soft_wrap=True)
    for source, reason in result.failed.items():
        err.print(f"[bold red]source {source} failed:[/] {reason}", highlight=False)
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def _source_enums(chosen: list[str] | None) -> list[Source] | None:
    from flows.sources import Source

    return [Source(s) for s in chosen] if chosen else None


@app.command()
def run(
    as_of: Annotated[str | None, typer.Option("--as-of", help="the day that counts as today (YYYY-MM-DD)")] = None,
    sources: Annotated[str | None, typer.Option(help=SOURCES_HELP)] = None,
    demo: Annotated[bool, typer.Option("--demo", help="use the built-in demo business, no accounts")] = False,
    demo_outage: Annotated[str | None, typer.Option(
        "--demo-outage", help="with --demo: a day (YYYY-MM-DD) the demo's site analytics record nothing, to "
                              "see the data-quality checks catch it")] = None,
    business: Business = None,
) -> None:
    """Sync the sources, map the records onto the journey map, check the data, and print the map."""
    day = parse_date(as_of, "--as-of")
    outage = parse_date(demo_outage, "--demo-outage")
    if outage is not None and not demo:
        fail("--demo-outage only works with --demo (it breaks the demo's data, never a real source's)")
    settings, journey_map = load_config(business)
    chosen = parse_sources(sources, journey_map)
    preflight(settings, journey_map, chosen, demo)
    from flows.pipeline import journey_pipeline
    from flows.run_result import outcome_of

    with prefect_api():
        result = outcome_of(journey_pipeline(as_of=day, sources=_source_enums(chosen), demo=demo,
                                             demo_outage=outage, return_state=True))
    report(result)


@app.command()
def backfill(
    start: Annotated[str, typer.Option("--start", help="first day to load (YYYY-MM-DD)")],
    end: Annotated[str, typer.Option("--end", help="last day to load (YYYY-MM-DD), not after today")],
    sources: Annotated[str | None, typer.Option(help=SOURCES_HELP)] = None,
    demo: Annotated[bool, typer.Option("--demo", help="use the built-in demo business, no accounts")] = False,
    parallel: Annotated[int, typer.Option("--parallel", min=1, max=MAX_PARALLEL,
                                          help="chunks (a source and a week) loaded at once")] = 4,
    business: Business = None,
) -> None:
    """Load a range of days in chunks (skipping those an earlier backfill loaded) and map it."""
    first, last = parse_date(start, "--start"), parse_date(end, "--end")
    if first is None or last is None:
        fail("--start and --end are both required, as YYYY-MM-DD")
    settings, journey_map = load_config(business)
    from flows.days import check_range, today_in
    from flows.pipeline import journey_pipeline
    from flows.run_result import outcome_of

    try:
        check_range(first, last, today=today_in(journey_map))
    except ValueError as exc:
        fail(f"--start/--end: {exc}")
    chosen = parse_sources(sources, journey_map)
    preflight(settings, journey_map, chosen, demo)
    with prefect_api():
        result = outcome_of(journey_pipeline(start_date=first, end_date=last, sources=_source_enums(chosen),
                                             demo=demo, parallel_chunks=parallel, return_state=True))
    report(result)


@app.command()
def backtest(
    start: Annotated[str, typer.Option("--start", help="first day to judge (YYYY-MM-DD)")],
    end: Annotated[str, typer.Option("--end", help="last day to judge (YYYY-MM-DD)")],
    journey: Annotated[str | None, typer.Option(help="only this journey id")] = None,
    persona: Annotated[str | None, typer.Option(help="only this persona's segment")] = None,
    business: Business = None,
) -> None:
    """Replay detection day by day over stored history; prints what would have opened and resolved, writes nothing."""
    from checks.detection import backtest as replay
    from models.db import make_engine, migrate
    from reports.incidents import incidents_table

    first, last = parse_date(start, "--start"), parse_date(end, "--end")
    if first is None or last is None or last < first:
        fail("--start and --end are required, as YYYY-MM-DD, with --end not before --start")
    settings, journey_map = load_config(business)
    engine = make_engine(settings.journey_database_url)
    migrate(engine)
    rows = []
    for outcome in replay(engine, journey_map, first, last):
        for event in outcome.events:
            keep = journey in (None, event.payload.get("journey")) and \
                (persona is None or event.payload.get("segment") == f"persona={persona}")
            if keep and event.action in ("opened", "reopened", "resolved"):
                rows.append({**event.payload, "severity": f"{event.as_of} {event.action} {event.severity}"})
        for message in outcome.data_alerts.values():
            out.print(f"{outcome.as_of} data alert: {message}", highlight=False)
    out.print(incidents_table(rows, journey_map.business.currency, f"Backtest {first} to {last}: {len(rows)} events")
              if rows else f"Backtest {first} to {last}: no incident would have opened.")


@app.command()
def annotate(
    touchpoint: Annotated[str, typer.Option("--touchpoint", help="touchpoint id from journey.yaml")],
    date: Annotated[str, typer.Option("--date", help="the day of the change (YYYY-MM-DD)")],
    note: Annotated[str, typer.Option("--note", help="what changed, e.g. 'one-page checkout'")],
    business: Business = None,
) -> None:
    """Record an optimization on the map; its day is kept out of detection baselines."""
    from models.db import make_engine, migrate
    from models.store import upsert
    from models.tables import Annotation, table_of

    day = parse_date(date, "--date")
    settings, journey_map = load_config(business)
    ids = [tp.id for _, tp in journey_map.touchpoints()]
    if touchpoint not in ids:
        fail(f"--touchpoint {touchpoint!r} is not in {settings.journey_map_file}; touchpoints are {', '.join(ids)}")
    if not note.strip() or len(note) > 500:
        fail("--note must say what changed, in at most 500 characters")
    engine = make_engine(settings.journey_database_url)
    migrate(engine)
    with engine.begin() as conn:
        upsert(conn, table_of(Annotation), [{"touchpoint_id": touchpoint, "date": day, "note": note.strip()}])
    out.print(f"annotated {touchpoint} on {day}: {note.strip()}", highlight=False)


@app.command("checks")
def show_checks(
    as_of: Annotated[str | None, typer.Option("--as-of", help="the run's day (default: the newest checked)")] = None,
    business: Business = None,
) -> None:
    """Print the stored data-quality results of a run: every failed check, why, and which rows (exit 1 when a
    blocking check failed)."""
    from flows.quality import stored_results
    from models.db import make_engine, migrate
    from reports.quality import quality_line, quality_table

    day = parse_date(as_of, "--as-of")
    settings, _ = load_config(business)
    engine = make_engine(settings.journey_database_url)
    migrate(engine)
    checked, rows = stored_results(engine, day)
    engine.dispose()
    if checked is None or not rows:
        fail("no data-quality results stored" + (f" for {day}" if day else "")
             + "; run `journeymap run` (or `journeymap run --demo`) first", code=1)
    out.print(f"{checked}: {quality_line(rows)}", highlight=False)
    if not all(r["success"] for r in rows):
        out.print(quality_table(rows, f"Failed data-quality checks, {checked}"))
    if any(not r["success"] and r["severity"] == "blocking" for r in rows):
        raise typer.Exit(1)


@app.command("check-config")
def check_config(business: Business = None) -> None:
    """Validate journey.yaml and the settings without running anything."""
    settings, journey_map = load_config(business)
    tps = sum(len(j.touchpoints) for j in journey_map.journeys)
    out.print(f"{settings.journey_map_file}: OK — {len(journey_map.journeys)} journeys, "
              f"{len(journey_map.stages)} stages, {tps} touchpoints, {len(journey_map.personas)} personas; "
              f"sources used: {', '.join(journey_map.used_sources())}", highlight=False)
    from connectors.registry import BY_NAME as CONNECTORS
    from flows.sources import request_of

    for source in journey_map.used_sources():  # notes, not errors (the demo generates what is not there yet)
        notes = CONNECTORS[source].notes
        for note in notes(settings, request_of(source, journey_map)) if notes is not None else []:
            err.print(f"note: {note}", highlight=False, soft_wrap=True)


app.add_typer(incident_app, name="incident")
app.command("summary")(summary)
app.command("map")(show_map)
app.command("setup-prefect")(setup_prefect_command)
app.command("discover")(discover_command)

if __name__ == "__main__":
    app()
