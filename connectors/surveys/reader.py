"""Read a survey / NPS export (CSV) page by page as typed records; bad rows become `Rejected`, never a crash.

Handled export quirks (Typeform, Google Forms, Hotjar): a UTF-8 byte order mark, quoted multi-line
cells, `\\r\\n` line ends, blank lines, trailing empty cells, and rows whose bytes are not UTF-8 (only
that row is rejected).

Dates, without `date_format`:

1. ISO 8601 first: `2026-09-14`, `2026-09-14 10:31:00`, `2026-09-14T10:31:00Z`, `…+02:00`
   (a trailing ` UTC` / ` GMT` counts as `Z`).
2. Otherwise `d/m/yyyy` with an optional `H:MM[:SS]` time (also with `.` or `-` between the date's
   parts) is read **day first**, as Google Forms writes it outside the US: `03/04/2026` is 3 April.
   Month-first dates are never guessed. When the file has dates that only make sense month first
   (`9/14/2026`) and none that only make sense day first, the whole file is refused with the fix
   (`date_format: '%m/%d/%Y %H:%M:%S'`), so that a US export is not silently half misread.

With `date_format`, exactly that format is used (`datetime.strptime`). Naive values are local time
in `tz` (a date alone is midnight there); values with an offset keep it. All become UTC.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from connectors.errors import Rejected
from connectors.surveys.csvtext import NOT_UTF8, Row, quote_left_open, readable, split_records
from connectors.surveys.csvtext import shown as _shown
from connectors.surveys.dates import day_first_parts, parse_date
from connectors.surveys.pii import redact, strip_pii
from connectors.surveys.records import SurveyResponse

OTHER_DELIMITERS = (",", ";", "\t", "|")

_SCORE = re.compile(r"-?\d+(?:\.0*)?")


@dataclass(frozen=True)
class Columns:
    """Which CSV column holds what (names as in the export's header row, matched case-insensitively after trimming)."""

    date: str
    score: str
    stage: str | None = None
    touchpoint: str | None = None
    comment: str | None = None
    persona: tuple[str, ...] = ()
    id: str | None = None


class SurveyFileError(ValueError):
    """The file cannot be read at all (missing file, not CSV with the given delimiter, missing mapped column,
    empty); the message names the file, the column and the fix."""


def read_survey_file(path: Path, survey: str, columns: Columns, *, tz: ZoneInfo, delimiter: str = ",",
                     date_format: str | None = None, page_size: int = 5000,
                     ) -> Iterator[list[SurveyResponse | Rejected]]:
    """The export's rows in file order, in pages of at most `page_size` items, each a response or a `Rejected`.

    The file is read and checked when this is called: `SurveyFileError` (file missing, empty, no header,
    wrong delimiter, a mapped column missing, month-first dates) is raised before any page exists. A bad
    row (score not 0–10, unreadable date, not UTF-8, empty or duplicate id, stray cells, a quote never
    closed) is a `Rejected`
    keyed `"<file name>:<row>"`, row being the line its record starts on (the header is row 1); its payload
    is the row by header name, with personal data stripped. Blank lines are skipped.
    """
    if page_size < 1:
        raise ValueError(f"page_size must be at least 1, not {page_size}")
    export = _Export.open(path, columns, delimiter=delimiter, date_format=date_format)
    return _pages(export, survey, tz, date_format, page_size)


@dataclass(frozen=True, slots=True)
class _Export:
    name: str
    header: list[str]  # payload keys: the header's names, trimmed, made unique
    rows: list[Row]
    date: int
    score: int
    stage: int | None
    touchpoint: int | None
    comment: int | None
    persona: tuple[int, ...]
    id: int | None
    delimiter: str

    @classmethod
    def open(cls, path: Path, columns: Columns, *, delimiter: str, date_format: str | None) -> _Export:
        name = path.name
        if len(delimiter) != 1 or delimiter in "\"\r\n":
            raise SurveyFileError(f"{name}: delimiter {delimiter!r} cannot split a CSV file; set delimiter to ',', "
                                  f"';', '\\t' or '|' for this survey in journey.yaml")
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise SurveyFileError(f"{path}: the file does not exist; check the path in journey.yaml") from None
        except OSError as exc:
            raise SurveyFileError(f"{path}: cannot be read ({exc.strerror or exc}); check the path and its "
                                  f"permissions") from None
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise SurveyFileError(f"{name}: the file is UTF-16 text; export it again as CSV in UTF-8")
        text = data.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")
        rows = list(split_records(text, delimiter))
        if not rows or rows[0].error is not None:
            raise SurveyFileError(f"{name}: the file is empty or has no header row; export it again with its "
                                  f"header row")
        head, body = rows[0], rows[1:]
        if body and body[-1].last_line > body[-1].line and quote_left_open(body[-1].text, delimiter):
            last = body[-1]
            body[-1] = replace(last, error=f"a quote opened on line {last.line} is never closed, so lines "
                                           f"{last.line}–{last.last_line} were read as one cell")
        names = [readable(cell).strip() for cell in head.cells]
        _check_delimiter(name, head, delimiter)
        found = _find_columns(name, names, head, columns, date_format)
        export = cls(name=name, header=_unique(names), rows=body, delimiter=delimiter, **found)
        if date_format is None:
            export.check_day_first()
        return export

    def check_day_first(self) -> None:
        """Refuse a file whose slashed dates are month first: reading it day first would misdate some rows."""
        month_first: Row | None = None
        for row in self.rows:
            if row.error is not None or self.date >= len(row.cells):
                continue
            parts = day_first_parts(row.cells[self.date].strip())
            if parts is None:
                continue
            first, second = parts
            if first > 12 >= second:
                return  # day first for sure: rows that do not fit are rejected one by one
            if second > 12 >= first and month_first is None:
                month_first = row
        if month_first is not None:
            value = month_first.cells[self.date].strip()
            fmt = "%m/%d/%Y %H:%M:%S" if ":" in value else "%m/%d/%Y"
            raise SurveyFileError(f"{self.name}: the dates are month first (row {month_first.line}: "
                                  f"{_shown(value)}); set date_format: '{fmt}' for this survey in journey.yaml")


def _check_delimiter(name: str, head: Row, delimiter: str) -> None:
    if len(head.cells) != 1:
        return
    for other in OTHER_DELIMITERS:
        if other != delimiter and len(next(csv.reader([head.text], delimiter=other), [])) > 1:
            shown = "\\t" if other == "\t" else other
            raise SurveyFileError(f"{name}: the header has one column; the file looks '{shown}'-delimited — "
                                  f"set delimiter: '{shown}' for this survey in journey.yaml")


def _find_columns(name: str, names: list[str], head: Row, columns: Columns,
                  date_format: str | None) -> dict[str, Any]:
    """The position of every mapped column, or one error naming every missing one."""
    positions: dict[str, list[int]] = {}
    for i, header_name in enumerate(names):
        positions.setdefault(header_name.casefold(), []).append(i)
    wanted: list[tuple[str, str | None]] = [
        ("date", columns.date), ("score", columns.score), ("stage", columns.stage),
        ("touchpoint", columns.touchpoint), ("comment", columns.comment), ("id", columns.id)]
    personas = (columns.persona,) if isinstance(columns.persona, str) else columns.persona
    wanted += [("persona", p) for p in personas]
    found: dict[str, Any] = {"persona": []}
    missing: list[str] = []
    for role, column in wanted:
        if column is None:
            found[role] = None
            continue
        hits = positions.get(column.strip().casefold(), [])
        if not hits:
            missing.append(f"'{column}' ({role})")
            continue
        if len(hits) > 1:
            raise SurveyFileError(f"{name}: column '{column}' ({role}) appears {len(hits)} times in the header; "
                                  f"rename the duplicates in the export so that one column has that name")
        if role == "persona":
            found["persona"].append(hits[0])
        else:
            found[role] = hits[0]
    if missing:
        if any(parse_date(cell.strip(), UTC, date_format, _shown(cell.strip()))[0] is not None for cell in head.cells):
            raise SurveyFileError(f"{name}: the first line holds data, not a header ({_shown(strip_pii(head.text))}); "
                                  f"export the file again with its header row")
        listed = ", ".join(_shown(n) for n in names)
        hint = "; the header is not UTF-8 text — export the file as UTF-8" if NOT_UTF8.search(head.text) else ""
        raise SurveyFileError(f"{name}: no column {' or '.join(missing)} in the header, whose columns are: "
                              f"{listed}; fix the column names for this survey in journey.yaml{hint}")
    found["persona"] = tuple(found["persona"])
    return found


def _unique(names: list[str]) -> list[str]:
    out: list[str] = []
    for i, header_name in enumerate(names):
        key = header_name or f"column {i + 1}"
        n = 2
        while key in out:
            key = f"{header_name or f'column {i + 1}'} ({n})"
            n += 1
        out.append(key)
    return out


def _pages(export: _Export, survey: str, tz: ZoneInfo, date_format: str | None,
           page_size: int) -> Iterator[list[SurveyResponse | Rejected]]:
    seen_ids: dict[str, int] = {}
    page: list[SurveyResponse | Rejected] = []
    for row in export.rows:
        page.append(_to_item(export, row, survey, tz, date_format, seen_ids))
        if len(page) == page_size:
            yield page
            page = []
    if page:
        yield page


def _to_item(export: _Export, row: Row, survey: str, tz: ZoneInfo, date_format: str | None,
             seen_ids: dict[str, int]) -> SurveyResponse | Rejected:
    where = f"{export.name} row {row.line}"

    def reject(reason: str) -> Rejected:
        return Rejected(key=f"{export.name}:{row.line}", reason=reason, payload=_payload(export, row))

    def column(index: int) -> str:
        return f"column '{export.header[index]}'"

    if row.error is not None:
        return reject(f"{where}: cannot be split into cells ({row.error}); check the row's quotes in the export")
    if NOT_UTF8.search(row.text):
        return reject(f"{where}: not UTF-8 text; export the file as UTF-8")
    width = len(export.header)
    if any(cell.strip() for cell in row.cells[width:]):
        spans = f" (lines {row.line}–{row.last_line}: an unclosed quote?)" if row.last_line > row.line + 1 else ""
        return reject(f"{where}: {len(row.cells)} cells where the header has {width}{spans}; quote the cells "
                      f"that contain '{export.delimiter}' or fix the export")
    cells = row.cells + [""] * (width - len(row.cells))

    raw_date = cells[export.date].strip()
    submitted, problem = parse_date(raw_date, tz, date_format, _shown(raw_date))
    if submitted is None:
        return reject(f"{where}, {column(export.date)}: {problem}")

    raw_score = cells[export.score].strip()
    if not raw_score:
        return reject(f"{where}, {column(export.score)}: the score is empty; fill in a score from 0 to 10 "
                      f"or remove the row")
    score = int(raw_score.split(".", 1)[0]) if _SCORE.fullmatch(raw_score) else None
    if score is None or not 0 <= score <= 10:
        shown = raw_score if _SCORE.fullmatch(raw_score) else _shown(raw_score)
        return reject(f"{where}, {column(export.score)}: {shown} is not a score from 0 to 10; "
                      f"fix the export or remove the row")

    if export.id is not None:
        response_id = cells[export.id].strip()
        if not response_id:
            return reject(f"{where}, {column(export.id)}: the id is empty; fill it in or remove the row")
        if response_id in seen_ids:
            return reject(f"{where}, {column(export.id)}: id {_shown(response_id)} is already used by row "
                          f"{seen_ids[response_id]}; remove the duplicate row")
        seen_ids[response_id] = row.line
    else:
        digest = hashlib.sha256(f"{export.name}|{row.line}|{row.text}".encode())
        response_id = digest.hexdigest()[:32]

    def cell(index: int | None) -> str:
        return "" if index is None else " ".join(cells[index].split())

    return SurveyResponse(
        survey=survey, response_id=response_id, submitted=submitted, score=score,
        stage=cell(export.stage), touchpoint=cell(export.touchpoint),
        comment="" if export.comment is None else strip_pii(cells[export.comment]),
        persona=" / ".join(p for p in (cell(i) for i in export.persona) if p),
    )


def _payload(export: _Export, row: Row) -> dict[str, Any]:
    """The row by header name for the quarantine table, with personal data stripped: mapped date, score and
    id cells keep their digits (only addresses and query strings go), every other cell goes through
    `strip_pii`. Bytes that are not UTF-8 become U+FFFD."""
    if row.error is not None:
        return {"row text": strip_pii(readable(row.text))}
    exact = {export.date, export.score, export.id}
    payload: dict[str, Any] = {}
    for i, value in enumerate(row.cells):
        key = export.header[i] if i < len(export.header) else f"column {i + 1}"
        value = readable(value)
        payload[key] = redact(value, phones=False) if i in exact else strip_pii(value)
    return payload


