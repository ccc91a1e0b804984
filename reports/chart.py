"""The map-update summary's picture: per journey a funnel of its stages, one bar per touchpoint.

Drawn on a private matplotlib `Figure` with the Agg canvas (no pyplot, no global figures), so it is safe to call
from several threads, and the same view always gives byte-identical PNG bytes (fixed size and DPI, no metadata).
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Any

from reports.map_view import JourneyView, MapView, TouchpointView
from reports.render import fmt_money, fmt_pp, fmt_rate, fmt_volume

if TYPE_CHECKING:
    from matplotlib.axes import Axes

WIDTH_IN, DPI = 15.0, 100  # 1500 px wide: Slack shows it without shrinking the text out of reach
ROW_IN = 0.3  # the height of one touchpoint row, in inches; the image grows by this per touchpoint
MEANINGFUL_PP = 1.0  # a change of step conversion is coloured from one percentage point on
INK, GREY, LIGHT, BAND, BAR = "#1f2328", "#656d76", "#afb8c1", "#f3f5f7", "#4c78a8"
GREEN, RED = "#1a7f37", "#cf222e"
# Columns as fractions of the width: stage, touchpoint (right-aligned), bars, volume beside the bar, step
# conversion (right-aligned), its change, and what the step converts to.
X_STAGE, X_NAME, X_BAR, BAR_W, X_RATE, X_DELTA, X_STEP = 0.012, 0.398, 0.408, 0.29, 0.795, 0.805, 0.866
NAME_CHARS, STAGE_CHARS, STEP_CHARS, TITLE_CHARS = 52, 18, 28, 150
NO_DATA_W = 0.09  # a short hatched chip: a full-width one would read as a large volume
LEGEND = ("Bars: volume over the period on one log scale for the whole picture, so a page with tens of thousands "
          "of sessions and a step with a dozen checkouts both read; hatched: no data for this segment.",
          "Step conversion with its change in points against the previous period: ↑ green / ↓ red from "
          f"{MEANINGFUL_PP:.0f} pt, grey below.")


def shorten(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with an ellipsis when it was longer."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def segment_label(segment: str) -> str:
    return "all customers" if segment == "all" else segment.replace("persona=", "persona ")


def title(view: MapView) -> str:
    return shorten(f"{view.business} — journey funnels for {segment_label(view.segment)}, "
                   f"{view.since.isoformat()} – {view.until.isoformat()}", TITLE_CHARS)


def delta_label(change: float | None) -> tuple[str, str]:
    """The change of step conversion in points as text and colour; coloured only when it is meaningful."""
    if change is None:
        return "—", LIGHT
    if round(change, 1) == 0:
        return "±0.0 pp", GREY
    arrow = "↑" if change > 0 else "↓"
    colour = (GREEN if change > 0 else RED) if abs(change) >= MEANINGFUL_PP else GREY
    return f"{arrow} {fmt_pp(change)}", colour


def bar_length(volume: float, top: float) -> float:
    """Width of a bar as a fraction of the figure. Log scale, because a journey's volumes span four or five
    orders of magnitude (40 000 sessions, 12 checkouts): linear bars would make the end of the funnel, where
    the money is, an invisible sliver. log10(1 + v) keeps zero at zero; the largest volume in the picture
    fills the bar column, and every journey shares that scale so a small journey does not look like a big one."""
    return BAR_W * math.log10(1 + max(volume, 0.0)) / math.log10(1 + max(top, 1.0))


def funnel_png(view: MapView, journey_id: str | None = None) -> bytes:
    """Render the journey map as funnels: a section per journey, its stages in order top to bottom.

    Each touchpoint is a bar of its volume over the period (log scale) with the volume beside it, then its
    step conversion, the change against the previous period in points (↑ green / ↓ red when at least one
    point) and what the step converts to. Touchpoints without data for the segment show "no data".

    Args:
        view: the map over one period and segment (see `reports.map_view.build_map_view`).
        journey_id: draw only this journey; None draws every journey of the view.

    Returns:
        PNG bytes, 1500 px wide, 30 px taller per touchpoint; the same view always gives the same bytes.
        A view without (matching) journeys gives a small picture that says there is nothing to show.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    journeys = [j for j in view.journeys if journey_id in (None, j.id)]
    fig = Figure(figsize=(WIDTH_IN, 1.0), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_axis_off()
    ax.set_xlim(0.0, 1.0)
    ax.text(X_STAGE, 0.8, title(view), fontsize=15, weight="bold", color=INK, va="center")
    for row, line in enumerate(LEGEND if journeys else ()):
        ax.text(X_STAGE, 1.6 + 0.55 * row, line, fontsize=9, color=GREY, va="center")
    top = max((tp.volume or 0.0 for j in journeys for s in j.stages for tp in s.touchpoints), default=0.0)
    y = 2.5 if journeys else 1.2
    for journey in journeys:
        y = _draw_journey(ax, journey, view.currency, y, top)
    if not journeys:
        what = f"no journey '{journey_id}' in this map" if journey_id else "the map has no journeys"
        ax.text(X_STAGE, y + 0.8, f"Nothing to show: {what}.", fontsize=12, color=GREY, va="center")
        y += 1.6
    height = y + 0.3
    ax.set_ylim(height, 0.0)  # rows count downwards
    fig.set_size_inches(WIDTH_IN, height * ROW_IN)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    return buffer.getvalue()


def _draw_journey(ax: Axes, journey: JourneyView, currency: str, y: float, top: float) -> float:
    """Draw one journey from row `y` down, bars scaled to `top`; returns the row below it."""
    from matplotlib.patches import Rectangle

    heading = f"{journey.name} — {journey.goal} ({currency} {fmt_money(journey.value)} per conversion)"
    ax.text(X_STAGE, y + 0.8, shorten(heading, TITLE_CHARS - 20), fontsize=12.5, weight="bold", color=INK,
            va="center")
    y += 1.8
    decades = [10**d for d in range(1, int(math.log10(top)) + 1)] if top >= 10 else []
    small: dict[str, Any] = {"fontsize": 8.5, "color": GREY, "va": "center"}
    for label, x, ha in (("Stage", X_STAGE, "left"), ("Touchpoint", X_NAME, "right"),
                         ("Step conversion", X_RATE, "right"), ("Δ vs previous", X_DELTA, "left"),
                         ("converts to", X_STEP, "left")):
        ax.text(x, y, label, ha=ha, **small)
    for d in decades:  # the log scale's tick labels, above the bars
        ax.text(X_BAR + bar_length(d, top), y, f"{d:,.0f}" if d < 1000 else f"{d // 1000:,.0f}k", ha="center",
                **small)
    y += 0.5
    first = y
    for stage in journey.stages:
        rows = len(stage.touchpoints)
        ax.add_patch(Rectangle((0.004, y), 0.992, rows, facecolor=BAND, edgecolor="none", zorder=0))
        ax.text(X_STAGE, y + 0.5, shorten(stage.name, STAGE_CHARS), fontsize=10.5, weight="bold", color=INK,
                va="center")
        for k, tp in enumerate(stage.touchpoints):
            _draw_touchpoint(ax, tp, y + k + 0.5, top)
        y += rows + 0.2
    if decades:
        ax.vlines([X_BAR + bar_length(d, top) for d in decades], first, y - 0.2, colors="#d8dee4",
                  linewidth=0.7, zorder=1)
    return y + 0.2


def _draw_touchpoint(ax: Axes, tp: TouchpointView, yc: float, top: float) -> None:
    """One row centred on `yc`: name, bar and volume, step conversion, its change, the step's target."""
    from matplotlib.patches import Rectangle

    ax.text(X_NAME, yc, shorten(tp.name, NAME_CHARS), ha="right", va="center", fontsize=10, color=INK)
    if tp.step_to:
        ax.text(X_STEP, yc, shorten(f"→ {tp.step_to}", STEP_CHARS), va="center", fontsize=9, color=GREY)
    if tp.volume is None:  # the source has no data for this segment: not a zero
        ax.add_patch(Rectangle((X_BAR, yc - 0.32), NO_DATA_W, 0.64, facecolor="white", edgecolor=LIGHT,
                               hatch="////", linewidth=0.6, zorder=2))
        ax.text(X_BAR + NO_DATA_W + 0.004, yc, "no data", va="center", fontsize=9.5, style="italic", color=GREY)
        ax.text(X_RATE, yc, "—", ha="right", va="center", fontsize=10.5, color=LIGHT)
        return
    length = bar_length(tp.volume, top)
    if length > 0:
        ax.add_patch(Rectangle((X_BAR, yc - 0.34), length, 0.68, facecolor=BAR, edgecolor="none", zorder=2))
    ax.text(X_BAR + length + 0.004, yc, fmt_volume(tp.volume), va="center", fontsize=9.5,
            color=RED if tp.volume == 0 else INK, weight="bold" if tp.volume == 0 else "normal", zorder=3)
    ax.text(X_RATE, yc, fmt_rate(tp.conversion), ha="right", va="center", fontsize=10.5,
            weight="bold" if tp.conversion is not None else "normal", color=INK if tp.conversion is not None else LIGHT)
    text, colour = delta_label(tp.conversion_change)
    ax.text(X_DELTA, yc, text, va="center", fontsize=10, color=colour,
            weight="bold" if colour in (GREEN, RED) else "normal")
