"""Incidents as people read them: stage › touchpoint, segment, rate now vs before, since, money at stake — each from
the incident's one stored snapshot, and every list ordered by money at stake, the largest first."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rich.table import Table

from checks.incident_snapshot import Snapshot, snapshot_of
from reports.render import fmt_rate

COLUMNS = ["Severity", "Stage › Touchpoint", "Segment", "Kind", "Rate now (95 % CI)", "Baseline", "Since",
           "Through", "Lost/day", "Money/day", "Top segments"]


def money_per_day(value: float, currency: str) -> str:
    """Money at stake per day, as every surface writes it."""
    return f"{currency} {max(0.0, value):,.0f}"


def reading_line(reading: Snapshot, currency: str) -> str:
    """The snapshot in one line: the map's cards, the PNG and the summaries all show these figures."""
    rate = "" if reading.rate is None or reading.baseline is None else \
        f"{fmt_rate(max(0.0, reading.rate))} vs {fmt_rate(reading.baseline)}"
    since = f" since {reading.since}" if reading.since else ""
    return f"{rate}{since} · {money_per_day(reading.impact_per_day, currency)}/day".lstrip(" ·")


def by_money(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Incident payloads, the most money at stake per day first."""
    return sorted(rows, key=lambda p: -snapshot_of(p).impact_per_day)


def _cells(payload: Mapping[str, Any], currency: str) -> list[str]:
    reading = snapshot_of(payload)

    def pct(value: float | None) -> str:
        return "—" if value is None else fmt_rate(max(0.0, value))

    rate = f"{pct(reading.rate)} ({pct(reading.low)}–{pct(reading.high)})"
    return [str(payload.get("severity") or ""), f"{payload.get('stage')} › {payload.get('touchpoint')}",
            str(payload.get("segment")), str(payload.get("kind")), rate, pct(reading.baseline), str(reading.since),
            str(reading.through or "—"), f"{reading.lost_per_day:,.1f}",
            money_per_day(reading.impact_per_day, currency),
            str(payload.get("top_segments") or "")]


def incidents_table(rows: Iterable[Mapping[str, Any]], currency: str, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for name in COLUMNS:
        table.add_column(name)
    for payload in by_money(rows):
        table.add_row(*_cells(payload, currency), style="red" if payload.get("severity") == "critical" else None)
    return table


def incidents_markdown(rows: Iterable[Mapping[str, Any]], currency: str, title: str) -> str:
    lines = [f"## {title}", "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in _cells(p, currency)) + " |" for p in by_money(rows)]
    return "\n".join(lines) + "\n"


def held_back_lines(held: Mapping[str, str]) -> list[str]:
    """The steps detection did not judge and why, one line per reason (steps held for the same reason together)."""
    by_reason: dict[str, list[str]] = {}
    for step, reason in held.items():
        by_reason.setdefault(reason, []).append(step)
    return [f"held back ({', '.join(sorted(steps))}): {reason}" for reason, steps in sorted(by_reason.items())]
