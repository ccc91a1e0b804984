"""`journeymap discover`: propose journey.yaml from the connected sources, or say where the current map no longer
fits them (`--diff`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from flows.cli_common import err, fail, out, parse_date, prefect_api
from models.sources import SOURCES

if TYPE_CHECKING:
    from flows.discover import DiscoverResult

SOURCE_NAMES = tuple(s.name for s in SOURCES if s.discoverable)
SOURCES_HELP = f"comma-separated: {','.join(SOURCE_NAMES)} (default: every source with an account set up)"


def _percent(shares: dict[str, float]) -> str:
    return ", ".join(f"{source} {share:.1%}" for source, share in shares.items() if source != "all")


def discover_command(
    days: Annotated[int, typer.Option("--days", min=1, max=400, help="full days before today to read")] = 90,
    out_file: Annotated[Path, typer.Option("--out", help="where to write the proposed map")]
    = Path("journey.proposed.yaml"),
    diff: Annotated[bool, typer.Option("--diff", help="compare the current journey.yaml with the data instead")]
    = False,
    demo: Annotated[bool, typer.Option("--demo", help="read the built-in demo business, no accounts")] = False,
    as_of: Annotated[str | None, typer.Option("--as-of", help="the day the window ends before (YYYY-MM-DD)")]
    = None,
    sources: Annotated[str | None, typer.Option(help=SOURCES_HELP)] = None,
    scratch_database: Annotated[str | None, typer.Option(
        "--scratch-database", help="an empty database URL to load the data into (default: a temporary SQLite "
                                   "file); never the warehouse")] = None,
) -> None:
    from flows.discover import discover
    from flows.settings import SettingsError, load_settings
    from flows.sources import Source

    day = parse_date(as_of, "--as-of")
    names = [s.strip() for s in sources.split(",") if s.strip()] if sources else None
    if names is not None and (not names or set(names) - set(SOURCE_NAMES)):
        fail(f"--sources {sources!r}: choose from {', '.join(SOURCE_NAMES)} (survey exports are not discovered)")
    try:
        map_file = Path(load_settings().journey_map_file)
    except SettingsError as exc:
        fail(str(exc))
    if not diff and out_file.resolve() == map_file.resolve():
        fail(f"--out {out_file} is the map file itself; write the proposal beside it and compare first")
    try:
        with prefect_api():
            result = discover(days=days, as_of=day, demo=demo, out=str(out_file), diff=diff,
                              sources=[Source(n) for n in names] if names else None,
                              scratch_database_url=scratch_database)
    except (SettingsError, ValueError) as exc:
        fail(str(exc))
    for source, reason in result.failed.items():
        err.print(f"[bold red]source {source} could not be read:[/] {reason}", highlight=False, soft_wrap=True)
    for source, note in result.notes.items():
        err.print(f"[bold yellow]{source}:[/] {note} — the proposal reflects only what was read", highlight=False,
                  soft_wrap=True)
    window = f"{result.since} to {result.until}"
    if result.drift is not None:
        from reports.drift import drift_lines

        share = result.current_coverage.get("all", 0.0)
        out.print(f"The map covers {share:.1%} of what the sources show over {window} "
                  f"({_percent(result.current_coverage)}).", highlight=False)
        lines = drift_lines(result.drift)
        out.print("The map may be out of date:\n" + "\n".join(lines) if lines else "The map fits the data: no "
                  "uncovered page, no rule that takes nothing, no new email.", highlight=False, soft_wrap=True)
        return
    assert result.proposal is not None
    jm = result.proposal.journey_map
    tps = sum(len(j.touchpoints) for j in jm.journeys)
    out.print(f"Wrote {result.written}: {len(jm.journeys)} journeys, {tps} touchpoints, from "
              f"{', '.join(result.read)} over {window}.", highlight=False)
    out.print(f"It counts {result.proposal_coverage['all']:.1%} of the volume {_what_was_read(result)} "
              f"({_percent(result.proposal_coverage)})" + (
                  f"; the current map counts {result.current_coverage['all']:.1%}." if result.current_coverage
                  else "."), highlight=False, soft_wrap=True)
    if result.coverage:
        out.print(f"It covers {result.coverage['all']:.1%} of the volume the current map counts "
                  f"({_percent(result.coverage)}).", highlight=False)
    out.print(f"Next: edit it, check it with `JOURNEY_MAP_FILE={out_file} journeymap check-config`, then "
              f"`mv {out_file} journey.yaml && journeymap run`.", highlight=False)
    if result.failed:
        raise typer.Exit(1)


def _titles() -> str:
    """'A, B and C': how people name the discoverable sources."""
    titles = [s.title for s in SOURCES if s.discoverable]
    return " and ".join([", ".join(titles[:-1]), titles[-1]] if len(titles) > 1 else titles)


discover_command.__doc__ = f"Propose a journey map from what {_titles()} show (or --diff: what the current map misses)."


def _what_was_read(result: DiscoverResult) -> str:
    """Whose volume a coverage share is of: the sources read, and those that could not be read or only in part."""
    read = ", ".join(result.read)
    out = f"{read} show{'s' if len(result.read) == 1 else ''}"
    if result.failed:
        names = ", ".join(result.failed)
        out += f" ({names} could not be read, so {'its' if len(result.failed) == 1 else 'their'} volume is not in it"
        out += f"; {', '.join(result.notes)} read only in part)" if result.notes else ")"
    elif result.notes:
        out += f" ({', '.join(result.notes)} read only in part)"
    return out
