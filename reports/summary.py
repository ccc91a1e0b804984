"""The map-update summary (weekly, monthly, quarterly) as Block Kit: per journey and stage the volumes and step
conversions against the period before, the largest leaks, incidents, data quality, NPS per stage and the effect
of annotated optimizations. Aggregates only: no survey verbatims, no customer records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from checks.discovery.drift import Drift
from reports.blocks import Block, context, divider, escape, header, message, sections
from reports.drift import MAX_LINES, drift_lines
from reports.incidents import money_per_day
from reports.map_view import JourneyView, MapView
from reports.render import fmt_change, fmt_pp, fmt_rate

PERIODS = {"week": 7, "month": 28, "quarter": 91}


@dataclass(frozen=True)
class IncidentLine:
    key: str
    stage: str
    touchpoint: str
    severity: str
    opened_on: dt.date
    resolved_on: dt.date | None
    impact_per_day: float  # the incident's snapshot: money at stake per day …
    since: str | None = None  # … and its first bad day


@dataclass(frozen=True)
class Leak:
    stage: str
    touchpoint: str
    lost: float  # customers who did not take the step this period
    drop_off: float
    change_pp: float | None


@dataclass(frozen=True)
class AnnotationEffect:
    stage: str
    touchpoint: str
    day: dt.date
    note: str
    before: float | None  # step conversion over the days before the change
    after: float | None  # and since
    touchpoint_id: str = ""


@dataclass(frozen=True)
class Summary:
    period: str
    view: MapView
    leaks: list[Leak] = field(default_factory=list)
    opened: list[IncidentLine] = field(default_factory=list)
    resolved: list[IncidentLine] = field(default_factory=list)
    still_open: list[IncidentLine] = field(default_factory=list)
    checks_passed: int = 0
    checks_failed: list[str] = field(default_factory=list)
    annotations: list[AnnotationEffect] = field(default_factory=list)
    drift: Drift | None = None  # the monthly summary's look at what the map no longer fits


def _change(value: float | None) -> str:
    return "" if value is None else f" ({fmt_change(value)})"


def _stage_lines(journey: JourneyView) -> list[str]:
    lines = []
    for stage in journey.stages:
        lines.append(f"*{escape(stage.name)}*")
        for tp in stage.touchpoints:
            if tp.volume is None:
                lines.append(f"• {escape(tp.name)}: no data for this segment")
                continue
            step = f" → {fmt_rate(tp.conversion)}" + (f" ({fmt_pp(tp.conversion_change)})"
                                                      if tp.conversion_change is not None else "")
            lines.append(f"• {escape(tp.name)}: {tp.volume:,.0f}{_change(tp.volume_change)}"
                         + (step if tp.conversion is not None else ""))
    return lines


def _incident(line: IncidentLine, currency: str) -> str:
    since = line.since or line.opened_on.isoformat()
    state = (f"bad since {since}, resolved {line.resolved_on}" if line.resolved_on else
             f"bad since {since}, alerted {line.opened_on}")
    money = money_per_day(line.impact_per_day, currency)
    return (f"• {line.severity}: {escape(line.stage)} › {escape(line.touchpoint)} — {state}, "
            + (f"{money}/day at stake" if not line.resolved_on else f"was {money}/day"))


def incident_order(summary: Summary) -> list[IncidentLine]:
    """Every incident of the summary, the most money at stake per day first (open before resolved on a tie)."""
    lines = [*summary.opened, *summary.resolved, *summary.still_open]
    return sorted(lines, key=lambda i: (-i.impact_per_day, i.resolved_on is not None, i.key))


def summary_lines(summary: Summary) -> list[tuple[str, list[str]]]:
    """The summary's parts as (title, mrkdwn lines): what the message and the printed summary both show."""
    view, currency = summary.view, summary.view.currency
    parts: list[tuple[str, list[str]]] = []
    for journey in view.journeys:
        parts.append((f"{journey.name} — {journey.goal}", _stage_lines(journey)))
    if summary.leaks:
        parts.append(("Largest leaks", [
            f"{i}. {escape(leak.stage)} › {escape(leak.touchpoint)}: {leak.lost:,.0f} did not take the step "
            f"({leak.drop_off:.0%} drop-off{'' if leak.change_pp is None else ', ' + fmt_pp(-leak.change_pp)})"
            for i, leak in enumerate(summary.leaks, 1)]))
    incidents = [_incident(i, currency) for i in incident_order(summary)]
    parts.append(("Incidents", [f"{len(summary.opened)} opened, {len(summary.resolved)} resolved, "
                                f"{len(summary.still_open)} still open from before", *incidents]))
    failed = summary.checks_failed
    parts.append(("Data quality", [f"all {summary.checks_passed} checks passed" if not failed else
                                   f"{len(failed)} check(s) failed: " + "; ".join(escape(f) for f in failed[:5])]))
    if view.feedback:
        parts.append(("NPS per stage", [
            f"• {escape(f.stage)}: {'—' if f.nps is None else f'{f.nps:+.0f}'}"
            + ("" if f.nps is None or f.previous_nps is None else f" ({f.nps - f.previous_nps:+.0f})")
            + f" from {f.answers} answers" for f in view.feedback]))
    if summary.annotations:
        parts.append(("Changes you made", [
            f"• {a.day} {escape(a.stage)} › {escape(a.touchpoint)} — “{escape(a.note)}”: {fmt_rate(a.before)} before, "
            f"{fmt_rate(a.after)} since" + ("" if a.before is None or a.after is None else
                                             f" ({fmt_pp((a.after - a.before) * 100)})")
            for a in summary.annotations]))
    if summary.drift:
        parts.append(("The map may be out of date", [
            *(escape(line) for line in drift_lines(summary.drift, limit=MAX_LINES)),
            "Run `journeymap discover --diff` for the whole list, `journeymap discover` for a proposed map."]))
    return parts


def summary_message(summary: Summary, *, key: str, chart: str | None) -> dict[str, Any]:
    """The summary's chat.postMessage body (`journey_summary` metadata); `chart`: the PNG's name, posted after."""
    view = summary.view
    days = (view.until - view.since).days + 1
    title = f"🗺️ Map update · {view.business} · {view.since} – {view.until}"
    blocks: list[Block] = [header(title), *sections(
        f"The {summary.period} of {days} days against the {days} days before, for "
        f"{'all customers' if view.segment == 'all' else escape(view.segment)}. Volumes with their change; "
        "→ step conversion with its change in points.")]
    for name, lines in summary_lines(summary):
        blocks += [divider(), *sections(f"*{escape(name)}*\n" + "\n".join(lines))]
    blocks.append(context([f"Chart: {chart} (below)" if chart else "", "Full table: `journeymap map`",
                           f"Summary `{key}`"]))
    payload = {"alert_key": key, "journey": ",".join(j.id for j in view.journeys), "stage": "", "touchpoint": "",
               "segment": view.segment, "metric": "summary", "status": "open", "severity": "info",
               "message_key": key}
    return message(f"Map update: {view.business}, {view.since} – {view.until}", blocks, "journey_summary", payload,
                   "run `journeymap summary` for the whole text")
