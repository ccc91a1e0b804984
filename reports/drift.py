"""A map's drift in words: what `journeymap discover --diff` prints and the monthly summary's "the map may be out
of date" part shows."""

from __future__ import annotations

from checks.discovery.drift import Drift

MAX_LINES = 5  # of each kind in the summary (the command prints them all)


def drift_lines(drift: Drift, *, limit: int | None = None) -> list[str]:
    """One line per finding, the largest first: uncovered pages and events, dead rules, new emails."""
    lines = [f"• not on the map: the {u.kind} {u.item} — {u.volume:,.0f}, {u.share:.1%} of all {u.kind} volume"
             for u in drift.uncovered[:limit]]
    lines += [f"• {d.journey} › {d.touchpoint} ({d.name}) takes nothing any more — its rule {d.rule}"
              + (f"; renamed to {d.closest}?" if d.closest else "") for d in drift.dead[:limit]]
    lines += [f"• a new email in the automation '{e.automation}': email {e.position}, “{e.title}” — no touchpoint "
              "takes it" for e in drift.new_emails[:limit]]
    return lines
