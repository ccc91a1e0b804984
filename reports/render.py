"""Render a MapView as a terminal table (rich) or as Markdown (Prefect artifacts, documents)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Protocol

from rich.console import Group
from rich.table import Table
from rich.text import Text

from reports.map_view import FeedbackView, JourneyView, MapView, TouchpointView


def fmt_volume(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def fmt_money(value: float) -> str:
    return f"{value:,.2f}" if value < 100 and value != int(value) else f"{value:,.0f}"


def fmt_change(value: float | None) -> str:
    if value is None:
        return "—"
    return "±0%" if abs(value) < 0.005 else f"{value:+.0%}"


def fmt_rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def fmt_pp(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f} pp"


def heading(view: MapView) -> str:
    segment = "all customers" if view.segment == "all" else view.segment.replace("persona=", "persona ")
    text = (f"{view.business} — journey map for {segment}, "
            f"{view.since.isoformat()} to {view.until.isoformat()} (change against the previous period)")
    if view.segment != "all":
        text += "; n/a: the source records no device, channel or visitor type"
    return text


def fmt_conversion(tp: TouchpointView) -> str:
    """The step's rate; a step that counts more conversions than its volume has none (never above 100 %)."""
    if tp.beyond_volume:
        return f"n/a ({fmt_volume(tp.conversions)} > volume)"
    return fmt_rate(tp.conversion)


def _cells(tp: TouchpointView, currency: str = "", no_data: Mapping[str, dt.date | None] | None = None) -> list[str]:
    step = f"→ {tp.step_to}" if tp.step_to else ""
    others = [f"{m} {fmt_rate(r)}" for m, r in tp.other_rates]
    others += [f"{m} {currency} {fmt_money(v)}".replace("  ", " ") for m, v in tp.money]
    volume, rate = fmt_volume(tp.volume), fmt_conversion(tp)
    if no_data is not None and tp.source in no_data:  # missing data reads as missing, never as zero
        last = no_data[tp.source]
        gap = f"no data since {last}" if last else "no data yet"
        volume, rate = (f"{volume} · {gap}", rate) if tp.volume else (gap, "—")
    return [tp.name, tp.source, volume, fmt_change(tp.volume_change), step, rate, fmt_pp(tp.conversion_change),
            " · ".join(others)]


COLUMNS = ["Touchpoint", "Source", "Volume", "Δ volume", "Step", "Conversion", "Δ conversion", "Other rates"]


def journey_table(journey: JourneyView, currency: str, no_data: Mapping[str, dt.date | None] | None = None) -> Table:
    """One journey: a section per stage, touchpoints in order."""
    table = Table(title=f"{journey.name} — {journey.goal} ({currency} {fmt_money(journey.value)} per conversion)",
                  title_justify="left", show_lines=False, expand=False)
    table.add_column("Stage", style="bold cyan")
    for name in COLUMNS:
        table.add_column(name, justify="right" if name not in ("Touchpoint", "Source", "Step", "Other rates")
                         else "left")
    for i, stage in enumerate(journey.stages):
        if i:
            table.add_section()
        for j, tp in enumerate(stage.touchpoints):
            cells = _cells(tp, currency, no_data)
            style = "red" if tp.volume == 0 or tp.source in (no_data or {}) else None
            table.add_row(stage.name if j == 0 else "", *cells, style=style)
    return table


def render_table(view: MapView) -> Group:
    """A rich renderable of the whole map."""
    parts: list[Table | Text] = [Text(heading(view), style="bold")]
    parts += [journey_table(j, view.currency, view.no_data) for j in view.journeys]
    if not view.journeys:
        parts.append(Text("No journey matches the selection."))
    if view.feedback:
        table = Table(title="Customer feedback (NPS per stage)", title_justify="left")
        for name in FEEDBACK_COLUMNS:
            table.add_column(name, justify="right" if name in ("Answers", "NPS", "Δ NPS") else "left")
        for row in view.feedback:
            table.add_row(*_feedback_cells(row))
        parts.append(table)
    return Group(*parts)


FEEDBACK_COLUMNS = ("Stage", "Answers", "NPS", "Δ NPS", "Most frequent pain points")


def _feedback_cells(row: FeedbackView) -> list[str]:
    nps = "no answers" if row.nps is None else f"{row.nps:+.0f}"
    change = "" if row.nps is None or row.previous_nps is None else f"{row.nps - row.previous_nps:+.0f}"
    return [row.stage, f"{row.answers:,}", nps, change, "; ".join(row.pain_points)]


def render_markdown(view: MapView) -> str:
    """The map as Markdown: a section per journey and per stage."""
    lines = [f"# {heading(view)}", ""]
    for journey in view.journeys:
        lines += [f"## {journey.name}", "", f"Goal: {journey.goal} — {view.currency} {fmt_money(journey.value)} "
                  "per conversion", ""]
        for stage in journey.stages:
            lines += [f"### {stage.name}", "", "| " + " | ".join(COLUMNS) + " |",
                      "|" + "|".join(["---", "---", "---:", "---:", "---", "---:", "---:", "---"]) + "|"]
            lines += ["| " + " | ".join(c.replace("|", "\\|") for c in _cells(tp, view.currency, view.no_data)) + " |"
                      for tp in stage.touchpoints]
            lines.append("")
    if view.feedback:
        lines += ["## Customer feedback (NPS per stage)", "", "| " + " | ".join(FEEDBACK_COLUMNS) + " |",
                  "|---|---:|---:|---:|---|"]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in _feedback_cells(r)) + " |" for r in view.feedback]
        lines.append("")
    return "\n".join(lines)


class SyncOutcome(Protocol):
    """What the run's artifact says of one source's sync."""

    source: str
    note: str
    warnings: list[str]


def sources_markdown(synced: Sequence[SyncOutcome], failed: Mapping[str, str]) -> str:
    """The run's sources: what failed, what stopped early, what was left out or should be known; "" when all
    is well."""
    lines = [f"- **{source}** failed: {reason}" for source, reason in failed.items()]
    for done in synced:
        lines += [f"- **{done.source}**: {text}" for text in ([done.note] if done.note else []) + done.warnings]
    return "\n## Sources\n\n" + "\n".join(lines) + "\n" if lines else ""
