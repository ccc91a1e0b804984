"""The survey exports' sync: every export of the map read whole each run (exports are small; answers upsert by
id, so a re-import changes nothing). Bad rows are quarantined and named; the good rows of the same file still
load; a file that cannot be read at all is named as bad input while the other exports load. The readers come from
its connector (`connectors.surveys.SurveyExport`); this module imports none."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol

from models.config import JourneyMap
from models.sources.surveys.streams import SURVEY_RESPONSES
from models.sync import Pages, Reader, SourceResult, StreamResult, SyncRun, sync_stream
from models.sync.changes import changed_days, snapshot
from models.sync.ledger import history


class SurveyReads(Protocol):
    """One export of the map, as its connector's `open` builds it."""

    @property
    def name(self) -> str: ...

    def read(self) -> Pages | str:
        """The export's pages, or why the file cannot be read at all (a message naming the file and the fix)."""
        ...


def survey_request(journey_map: JourneyMap) -> dict[str, Any]:
    """What the connector needs of the map's surveys: each export's name, file (relative to journey.yaml),
    columns, delimiter and date format, and the business's timezone (naive dates are its local time)."""
    return {"timezone": journey_map.business.timezone,
            "surveys": [{"name": s.name, "file": s.file, "columns": s.columns.model_dump(), "delimiter": s.delimiter,
                         "date_format": s.date_format} for s in journey_map.surveys]}


def sync_surveys(run: SyncRun, readers: list[SurveyReads]) -> SourceResult:
    """Load each export whole, its answers under the survey's own name (its stream and account)."""
    result = SourceResult(run.source)
    for survey in readers:
        pages = survey.read()
        if isinstance(pages, str):
            result.bad_input.append(pages)
            continue
        stream = replace(SURVEY_RESPONSES, stream=survey.name)
        mine = stream.table.c.survey == survey.name
        before = snapshot(run.engine, stream, mine)
        done = sync_stream(run.engine, stream, _whole_file(pages), survey.name, run.as_of, run.settings,
                           hasher=run.hasher(survey.name), ledger=False)
        done = changed_days(done, stream, before, snapshot(run.engine, stream, mine), run.as_of)
        result.bad_input += done.reasons
        run.log.info("surveys/%s: %d answers, %d quarantined", survey.name, done.rows, done.quarantined)
        result.streams.append(done)
    if not result.streams:
        result.streams.append(StreamResult(run.source, SURVEY_RESPONSES.stream, *history(run.as_of, run.settings)))
    return result


def _whole_file(pages: Pages) -> Reader:
    """A reader that ignores the window: an export is read whole."""
    return lambda since, until: pages
