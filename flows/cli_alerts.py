"""`journeymap incident ack|snooze` and `journeymap summary`: the commands about what Slack shows."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from flows.cli_common import Business, err, fail, load_config, out, parse_date, prefect_api, slack_setup

if TYPE_CHECKING:
    from flows.slack import Delivery

incident_app = typer.Typer(help="Acknowledge or snooze an incident (what an alert's buttons do).",
                           no_args_is_help=True)


class Period(StrEnum):
    week = "week"
    month = "month"
    quarter = "quarter"


def _act(key: str, action: Literal["ack", "snooze"], days: int, as_of: str | None, business: str | None) -> None:
    from flows.incident_action import UnknownIncident, check_action, incident_action

    day = parse_date(as_of, "--as-of")
    try:
        check_action(action, days)
    except ValueError as exc:
        fail(str(exc))
    slack_setup(load_config(business)[0])
    try:
        delivery = incident_action(key=key, action=action, days=days, as_of=day)
    except UnknownIncident as exc:
        fail(str(exc))
    done = "acknowledged" if action == "ack" else f"snoozed for {days} days"
    out.print(f"{key}: {done}", highlight=False)
    _told(delivery)


def _told(delivery: Delivery) -> None:
    """What was sent or written; exit 1 when something waits in the outbox or was refused."""
    report_delivery(delivery)
    if delivery.error or delivery.rejected:
        raise typer.Exit(1)


@incident_app.command("ack")
def ack(key: Annotated[str, typer.Argument(help="the alert key (journey|touchpoint|segment|type)")],
        as_of: Annotated[str | None, typer.Option("--as-of", help="the day (YYYY-MM-DD)")] = None,
        business: Business = None) -> None:
    """Acknowledge an incident: no more messages about it."""
    _act(key, "ack", 7, as_of, business)


@incident_app.command("snooze")
def snooze(key: Annotated[str, typer.Argument(help="the alert key (journey|touchpoint|segment|type)")],
           days: Annotated[int, typer.Option("--days", help="how many days to stay quiet")] = 7,
           as_of: Annotated[str | None, typer.Option("--as-of", help="the day (YYYY-MM-DD)")] = None,
           business: Business = None) -> None:
    """Snooze an incident for some days."""
    _act(key, "snooze", days, as_of, business)


def summary(
    period: Annotated[Period, typer.Option("--period", help="week (7 days), month (28) or quarter (91)")] = (
        Period.month),
    as_of: Annotated[str | None, typer.Option("--as-of", help="the day after the period (YYYY-MM-DD)")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="load the built-in demo business first if needed")] = False,
    business: Business = None,
) -> None:
    """Post the map-update summary (the map against the period before, leaks, incidents, data quality, NPS,
    your changes' effect) with its chart to Slack; without SLACK_BOT_TOKEN it is written to the outbox folder."""
    from flows.summary import journey_summary
    from reports.summary import summary_lines

    day = parse_date(as_of, "--as-of")
    slack_setup(load_config(business)[0])
    with prefect_api():
        result = journey_summary(period=period.value, as_of=day, demo=demo)
    view = result.summary.view
    out.print(f"Map update, {view.since} – {view.until} ({period.value}), against the period before:",
              highlight=False)
    for title, lines in summary_lines(result.summary):
        out.print(f"\n{title}", style="bold", highlight=False)
        for line in lines:
            out.print("  " + line.replace("*", "").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"),
                      highlight=False, soft_wrap=True)
    out.print(f"\nChart: {result.chart}", highlight=False)
    if result.cards is not None:
        out.print(f"Map: {result.cards}", highlight=False)
    _told(result.delivery)


def report_delivery(delivery: Delivery) -> None:
    """What the Slack step did, a line per message."""
    if delivery.written:
        out.print(f"Slack: no SLACK_BOT_TOKEN set, so {len(delivery.written)} message(s) were written as Block Kit "
                  f"JSON instead of sent (set SLACK_BOT_TOKEN and SLACK_CHANNEL to send them):", highlight=False)
        for path, text in delivery.written:
            out.print(f"  {path}: {text}", highlight=False, soft_wrap=True)
    if delivery.sent:
        out.print(f"Slack: {len(delivery.sent)} message(s) sent:", highlight=False)
        for text in delivery.sent:
            out.print(f"  {text}", highlight=False, soft_wrap=True)
    for rejected in delivery.rejected:
        err.print(f"[bold red]Slack refused a message:[/] {rejected}", highlight=False)
    if delivery.error:
        err.print(f"[bold yellow]Slack delivery stopped:[/] {delivery.error}; {delivery.waiting} message(s) wait "
                  "in the outbox for the next run", highlight=False)
