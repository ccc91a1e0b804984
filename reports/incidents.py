"""Incidents as people read them: stage › touchpoint, segment, rate now vs before, since, money at stake."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rich.table import Table

COLUMNS = ["Severity", "Stage › Touchpoint", "Segment", "Kind", "Rate now (95 % CI)", "Baseline", "Since",
           "Lost/day", "Money/day", "Top segments"]


def _cells(payload: Mapping[str, Any], currency: str) -> list[str]:
    def pct(name: str) -> str:
        value = payload.get(name)
        return "—" if value is None else f"{max(0.0, value):.1%}"

    rate = f"{pct('p_w')} ({pct('p_lo')}–{pct('p_hi')})"
    return [str(payload.get("severity") or ""), f"{payload.get('stage')} › {payload.get('touchpoint')}",
            str(payload.get("segment")), str(payload.get("kind")), rate, pct("p0"), str(payload.get("since")),
            f"{payload.get('lost_per_day') or 0:,.1f}", f"{currency} {payload.get('impact_per_day') or 0:,.0f}",
            str(payload.get("top_segments") or "")]


def incidents_table(rows: Iterable[Mapping[str, Any]], currency: str, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for name in COLUMNS:
        table.add_column(name)
    for payload in rows:
        table.add_row(*_cells(payload, currency), style="red" if payload.get("severity") == "critical" else None)
    return table


def incidents_markdown(rows: Iterable[Mapping[str, Any]], currency: str, title: str) -> str:
    lines = [f"## {title}", "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in _cells(p, currency)) + " |" for p in rows]
    return "\n".join(lines) + "\n"


def held_back_lines(held: Mapping[str, str]) -> list[str]:
    """The steps detection did not judge and why, one line per reason (steps held for the same reason together)."""
    by_reason: dict[str, list[str]] = {}
    for step, reason in held.items():
        by_reason.setdefault(reason, []).append(step)
    return [f"held back ({', '.join(sorted(steps))}): {reason}" for reason, steps in sorted(by_reason.items())]
