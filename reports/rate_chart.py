"""The small picture in an alert's thread: a step's daily rate over the last 90 days, its 7-day rate, the usual
rate and the day the incident began. Drawn on a private Agg `Figure` (thread-safe, byte-identical for the same
input: fixed size and DPI, no metadata)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence

from reports.chart import BAR, GREY, INK, LIGHT, RED, shorten

DAYS = 90
WIDTH_IN, HEIGHT_IN, DPI = 8.0, 3.0, 100  # 800 × 300 px: readable in a thread without opening it


def rate_png(title: str, days: Sequence[dt.date], k: Sequence[float], n: Sequence[float], *,
             usual: float | None = None, since: dt.date | None = None) -> bytes:
    """PNG of k/n per day (dots; days without volume are left out, never drawn as 0 %), the rate of the 7 days
    up to each day (a line), the usual rate (dashed) and the first bad day (a red rule)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    if not (len(days) == len(k) == len(n)):
        raise ValueError(f"rate_png: {len(days)} days, {len(k)} successes and {len(n)} volumes must match")
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.08, 0.16, 0.9, 0.72))
    first = days[0] if days else dt.date.min

    def x(day: dt.date) -> float:
        return float((day - first).days)

    seen = [(x(d), ki / ni) for d, ki, ni in zip(days, k, n, strict=True) if ni > 0]
    if seen:
        ax.scatter([d for d, _ in seen], [r for _, r in seen], s=9, color=LIGHT, label="daily rate", zorder=2)
        weekly = []
        for i, day in enumerate(days):
            window = [(k[j], n[j]) for j in range(max(0, i - 6), i + 1)]
            volume = sum(b for _, b in window)
            if volume > 0:
                weekly.append((x(day), sum(a for a, _ in window) / volume))
        ax.plot([d for d, _ in weekly], [r for _, r in weekly], color=BAR, linewidth=1.8, label="7-day rate",
                zorder=3)
    else:
        ax.text(0.5, 0.5, "no volume in these days", transform=ax.transAxes, ha="center", color=GREY)
    if usual is not None:
        ax.axhline(usual, color=INK, linestyle="--", linewidth=1, label=f"usual {usual:.1%}", zorder=1)
    if since is not None and days and days[0] <= since <= days[-1]:
        ax.axvline(x(since), color=RED, linewidth=1, label=f"since {since}", zorder=1)
    ax.set_title(shorten(title, 90), fontsize=10, color=INK, loc="left")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ticks = days[::15]
    ax.set_xticks([x(d) for d in ticks], [d.strftime("%d %b") for d in ticks])
    ax.set_ylim(bottom=0)
    ax.tick_params(labelsize=8, colors=GREY)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(fontsize=7, frameon=False, loc="lower left", ncols=4)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    return buffer.getvalue()
