"""An export's text as CSV records: the physical lines each record spans, a quote left open, text that was not
UTF-8 made readable, and a cell quoted for a message without the personal data in it."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

from connectors.surveys.pii import redact

MAX_SHOWN = 60  # characters of a cell quoted in a reason

NOT_UTF8 = re.compile("[\udc80-\udcff]")

@dataclass(frozen=True, slots=True)
class Row:
    line: int  # the physical line the record starts on, 1-based
    last_line: int
    cells: list[str]
    text: str  # the record as written in the file, without its final line end
    error: str | None = None  # why the csv module could not split it

def split_records(text: str, delimiter: str) -> Iterator[Row]:
    """The file's non-blank records, each with the lines it spans and its text."""
    lines = _Lines(text)
    reader = csv.reader(lines, delimiter=delimiter)
    while True:
        start = lines.count + 1
        lines.taken.clear()
        error = None
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            cells, error = [], str(exc)
        if error is None and not any(cell.strip() for cell in cells):
            continue
        yield Row(start, lines.count, cells, "".join(lines.taken).rstrip("\r\n"), error)

class _Lines:
    """The file's physical lines, remembering which ones the csv reader took for the current record."""

    def __init__(self, text: str) -> None:
        self._lines = iter(io.StringIO(text, newline=""))
        self.taken: list[str] = []
        self.count = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.taken.append(line)
        self.count += 1
        return line

def quote_left_open(text: str, delimiter: str) -> bool:
    """Whether `text` ends inside a quoted cell, read as the csv module reads it (the module itself
    silently takes an unclosed quote to run to the end of the file)."""
    quoted = closing = False
    at_start = True
    for char in text:
        if quoted:
            if char == '"':
                quoted, closing = False, True
            continue
        if char == '"' and (at_start or closing):
            quoted, closing = True, False  # a new quoted cell, or "" inside one
        else:
            closing = False
        at_start = char in (delimiter, "\r", "\n")
    return quoted

def readable(value: str) -> str:
    """Text with the bytes that were not UTF-8 (kept as surrogates while reading) turned into U+FFFD."""
    if not NOT_UTF8.search(value):
        return value
    return value.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")

def shown(value: str) -> str:
    """A cell quoted for a message: no address or query string, at most MAX_SHOWN characters."""
    text = " ".join(redact(readable(value), phones=False).split())
    if len(text) > MAX_SHOWN:
        text = text[:MAX_SHOWN - 1] + "…"
    return repr(text)
