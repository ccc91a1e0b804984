"""The survey exports' reading half for a run: one reader per export the map names, its file found beside
journey.yaml, and its `SPEC` (files, so no account, no API and no day ledger)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from connectors import demo
from connectors.errors import Rejected
from connectors.spec import Reader, SourceSpec
from connectors.surveys.reader import Columns, SurveyFileError, read_survey_file
from connectors.surveys.records import SurveyResponse

Pages = Iterator[list[SurveyResponse | Rejected]]


@dataclass(frozen=True)
class SurveyExport:
    """One survey's export file, read whole each run."""

    name: str
    path: Path
    columns: Columns
    tz: ZoneInfo
    delimiter: str = ","
    date_format: str | None = None

    def read(self) -> Pages | str:
        """The export's pages (bad rows as `Rejected`), or why the file cannot be read at all (missing, empty,
        not CSV with the delimiter, a mapped column missing, month-first dates): a message naming the file and
        the fix, to report as bad input while the other exports still load."""
        try:
            return read_survey_file(self.path, self.name, self.columns, tz=self.tz, delimiter=self.delimiter,
                                    date_format=self.date_format)
        except SurveyFileError as exc:
            return str(exc)


def open_surveys(settings: Any, options: Any, request: Any) -> list[SurveyExport]:
    """The map's exports, in its order; their files relative to the folder of JOURNEY_MAP_FILE. `request`: the
    business's `timezone` (naive dates are its local time) and the `surveys`, each a mapping of its `name`, `file`,
    `columns` (Columns' fields), `delimiter` and `date_format`. No file is opened yet."""
    if not request:
        return []
    folder = Path(settings.journey_map_file).resolve().parent
    tz = ZoneInfo(request["timezone"])
    return [SurveyExport(s["name"], (folder / s["file"]).resolve(), _columns(s["columns"]), tz,
                         s.get("delimiter") or ",", s.get("date_format")) for s in request["surveys"]]


def _columns(given: Mapping[str, Any]) -> Columns:
    return Columns(**{**given, "persona": tuple(given.get("persona") or ())})


def missing_exports(settings: Any, request: Any) -> list[str]:
    """A note for each export the map names whose file is not there yet (the demo generates its answers)."""
    return [f"survey '{export.name}' reads {export.path}, which does not exist yet; a run without --demo will stop "
            "with exit 2 until the export is there" for export in open_surveys(settings, None, request)
            if not export.path.is_file()]


def demo_readers(outage: Any = None) -> dict[str, Reader]:
    """The demo's answers to its post-purchase and onboarding surveys."""
    return {"responses": demo.read_survey_responses}


# export files the map names: no account, no API; each survey's answers are kept under its own name
SPEC = SourceSpec("surveys", open=open_surveys, demo=demo_readers, demo_account=False, read_whole=True,
                  notes=missing_exports)
