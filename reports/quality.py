"""The data-quality section people read: what failed (blocking first), why, and which rows; a count of the rest."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.table import Table


def _sample(row: dict[str, Any], n: int = 3) -> str:
    rows = json.loads(row["sample"] or "[]")
    return "; ".join(json.dumps(r, default=str, ensure_ascii=False) if not isinstance(r, str) else r
                     for r in rows[:n])


def _what(row: dict[str, Any]) -> str:
    return f"{row['unexpected_count']:,} row(s)" if row["unexpected_count"] else str(row["observed"] or "")


def quality_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """A Markdown section: every failed check with its rows and fix, and how many passed."""
    failed = [r for r in rows if not r["success"]]
    lines = ["## Data-quality checks", "",
             f"{len(rows) - len(failed)} of {len(rows)} checks passed"
             + (f"; {sum(r['severity'] == 'blocking' for r in failed)} blocking failure(s)." if failed else ".")]
    if failed:
        lines += ["", "| severity | source | check | failing | e.g. | what to do |", "|---|---|---|---|---|---|"]
        lines += [f"| {r['severity']} | {r['source']} | {r['check_name']} | {_what(r)} | "
                  f"{_sample(r).replace('|', '/')} | {r['fix']} |" for r in failed]
    return "\n".join(lines) + "\n"


def quality_table(rows: Sequence[dict[str, Any]], title: str) -> Table:
    """The terminal table of the same."""
    table = Table(title=title, title_justify="left")
    for name in ("Severity", "Source", "Check", "Failing", "e.g.", "What to do"):
        table.add_column(name, overflow="fold")
    for r in rows:
        if not r["success"]:
            style = "bold red" if r["severity"] == "blocking" else "yellow"
            table.add_row(f"[{style}]{r['severity']}[/]", r["source"], r["check_name"], _what(r), _sample(r), r["fix"])
    return table


def quality_line(rows: Sequence[dict[str, Any]]) -> str:
    failed = [r for r in rows if not r["success"]]
    blocking = sum(r["severity"] == "blocking" for r in failed)
    if not failed:
        return f"Data-quality checks: all {len(rows)} passed."
    return (f"Data-quality checks: {len(rows) - len(failed)} of {len(rows)} passed; {len(failed)} failed"
            + (f", {blocking} of them blocking" if blocking else "") + ".")
