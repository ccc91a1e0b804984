"""The journey map as a PNG (for Slack and documents), drawn with matplotlib, no browser: one persona's map, its
journeys one under the other, stages as columns and a card per touchpoint — the HTML map's layout and figures.

Drawn on a private `Figure` with the Agg canvas (no pyplot state), with fixed size and DPI and no metadata, so the
same page always gives the same bytes. Coordinates are in inches from the top left.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from reports.chart import GREEN, GREY, INK, LIGHT, RED, delta_label, segment_label, shorten
from reports.html_map import SEVERITY_COLOURS, shown_in
from reports.incidents import reading_line
from reports.map_page import IncidentNote, MapPage, PersonaPage, largest_leak, lost, wilson
from reports.map_view import JourneyView, TouchpointView
from reports.render import fmt_change, fmt_money, fmt_rate, fmt_volume

if TYPE_CHECKING:
    from matplotlib.axes import Axes

DPI = 100
CARD_W, CARD_H, GAP, MARGIN = 2.9, 1.05, 0.15, 0.3
HEAD_H, STAGE_H, FEEDBACK_H = 0.75, 0.35, 0.45
LEAK, EDGE, CARD_BG = "#fb8f44", "#d0d7de", "#ffffff"


def map_png(page: MapPage, persona: str = "", journey_id: str | None = None) -> bytes:
    """One persona's map ("" for all customers), every journey or only `journey_id`, as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    chosen = next((p for p in page.personas if p.name == persona), None)
    if chosen is None:
        raise ValueError(f"persona {persona!r} is not on this page; it has "
                         f"{', '.join(p.name or 'all customers' for p in page.personas)}")
    journeys = [j for j in chosen.view.journeys if journey_id in (None, j.id)]
    columns = max((len(j.stages) for j in journeys), default=1)
    width = 2 * MARGIN + columns * CARD_W + (columns - 1) * GAP
    height = 1.0 + sum(_journey_height(j) for j in journeys) + (0.6 if not journeys else 0.0)
    fig = Figure(figsize=(width, height), dpi=DPI, facecolor="#f6f8fa")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_axis_off()
    ax.set_xlim(0.0, width)
    ax.set_ylim(height, 0.0)
    view = chosen.view
    ax.text(MARGIN, 0.35, shorten(f"{page.business} — customer journey map for {segment_label(view.segment)}", 110),
            fontsize=14, weight="bold", color=INK, va="center")
    ax.text(MARGIN, 0.7, f"{view.since} – {view.until} against the {(view.until - view.since).days + 1} days "
            f"before · as of {page.as_of}", fontsize=9, color=GREY, va="center")
    y = 1.0
    for journey in journeys:
        y = _draw_journey(ax, page, chosen, journey, y)
    if not journeys:
        ax.text(MARGIN, y + 0.3, f"Nothing to show: no journey '{journey_id}' in this map.", fontsize=11,
                color=GREY, va="center")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, facecolor=fig.get_facecolor(), metadata={"Software": None})
    return buffer.getvalue()


def _journey_height(journey: JourneyView) -> float:
    rows = max(len(s.touchpoints) for s in journey.stages)
    return HEAD_H + STAGE_H + rows * (CARD_H + GAP) + FEEDBACK_H


def _draw_journey(ax: Axes, page: MapPage, persona: PersonaPage, journey: JourneyView, y: float) -> float:
    ax.text(MARGIN, y + 0.25, shorten(journey.name, 80), fontsize=12.5, weight="bold", color=INK, va="center")
    ax.text(MARGIN, y + 0.52, shorten(f"{journey.goal} · {page.currency} {fmt_money(journey.value)} per "
                                      "conversion", 140), fontsize=9, color=GREY, va="center")
    top = y + HEAD_H
    feedback = {f.stage: f for f in persona.view.feedback_for(journey.id)}
    bottom = top + STAGE_H + max(len(s.touchpoints) for s in journey.stages) * (CARD_H + GAP)
    for i, stage in enumerate(journey.stages):
        x = MARGIN + i * (CARD_W + GAP)
        ax.text(x, top + 0.15, stage.name.upper(), fontsize=8.5, weight="bold", color=GREY, va="center")
        leak = largest_leak(stage)
        for k, card in enumerate(stage.touchpoints):
            _draw_card(ax, page, persona, card, x, top + STAGE_H + k * (CARD_H + GAP), card.id == leak)
        row = feedback.get(stage.name)
        if row is not None and row.answers and row.nps is not None and not persona.name:
            pains = f" · {shorten(row.pain_points[0], 34)}" if row.pain_points else ""
            general = f", {row.stage_only} general" if row.stage_only else ""
            ax.text(x, bottom + 0.15, f"NPS {row.nps:+.0f} ({row.answers} answers{general}){pains}", fontsize=8,
                    color=INK, va="center")
    return bottom + FEEDBACK_H


def _draw_card(ax: Axes, page: MapPage, persona: PersonaPage, card: TouchpointView, x: float, y: float,
               leak: bool) -> None:
    from matplotlib.patches import FancyBboxPatch, Rectangle

    incidents = [i for i in page.incidents if i.touchpoint == card.id and i.status != "resolved"
                 and shown_in(i.segment, persona.name)]
    edge = SEVERITY_COLOURS.get(incidents[0].severity, GREY) if incidents else EDGE
    ax.add_patch(FancyBboxPatch((x, y), CARD_W, CARD_H, boxstyle="round,pad=0,rounding_size=0.06",
                                facecolor=CARD_BG, edgecolor=edge, linewidth=1.6 if incidents else 0.8))
    ax.add_patch(Rectangle((x, y), 0.05, CARD_H, facecolor=LEAK if leak else edge, edgecolor="none"))
    ax.text(x + 0.14, y + 0.17, shorten(card.name, 40), fontsize=8.5, weight="bold", color=INK, va="center")
    last = page.last_day.get(card.source)
    if card.volume is None:
        ax.text(x + 0.14, y + 0.5, f"n/a: {card.source} has no persona data", fontsize=8, style="italic",
                color=GREY, va="center")
        return
    if not card.volume and (last is None or last < persona.view.since):
        ax.text(x + 0.14, y + 0.5, f"no data since {last}" if last else "no data yet", fontsize=8.5,
                style="italic", color=GREY, va="center")
        return
    change = card.volume_change
    ax.text(x + 0.14, y + 0.47, fmt_volume(card.volume), fontsize=13, weight="bold", color=INK, va="center")
    ax.text(x + CARD_W - 0.1, y + 0.47, fmt_change(change), fontsize=8.5, ha="right", va="center",
            color=GREY if change is None or abs(change) < 0.005 else GREEN if change > 0 else RED)
    ax.text(x + 0.14 + 0.11 * len(fmt_volume(card.volume)) + 0.08, y + 0.49, card.volume_metric, fontsize=7.5,
            color=GREY, va="center")
    if card.step_to and card.conversion is not None:
        interval = wilson(card.conversions, card.volume)
        spread = f" ({fmt_rate(interval[0])}–{fmt_rate(interval[1])})" if interval else ""
        text, colour = delta_label(card.conversion_change)
        ax.text(x + 0.14, y + 0.76, shorten(f"→ {fmt_rate(card.conversion)}{spread}", 34), fontsize=8, color=INK,
                va="center")
        ax.text(x + CARD_W - 0.1, y + 0.76, text, fontsize=8, ha="right", va="center", color=colour)
    elif not card.step_to:
        ax.text(x + 0.14, y + 0.76, "the last step", fontsize=8, color=LIGHT, va="center")
    if incidents:
        ax.text(x + CARD_W - 0.1, y + 0.17, incidents[0].severity.upper(), fontsize=7, weight="bold", ha="right",
                color=edge, va="center")
        ax.text(x + 0.14, y + 0.95, incident_caption(incidents[0], page.currency), fontsize=6.5, weight="bold",
                color=edge, va="center")
    elif leak:
        ax.text(x + 0.14, y + 0.95, f"largest leak: {fmt_volume(lost(card))} lost", fontsize=7.5, color=LEAK,
                va="center")


def incident_caption(incident: IncidentNote, currency: str) -> str:
    """The card's incident line: the incident's snapshot, as the HTML map and Slack show it (its severity is on the
    card's title line)."""
    return shorten(reading_line(incident.reading, currency), 58)
