"""The survey exports' part of journey.yaml: its top-level `surveys:` list, and what a map must hold for it (each
survey named once; its stage and touchpoint among the map's)."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SurveyColumns(_Strict):
    """The export's column names (as in its header row; case and surrounding spaces do not matter)."""

    date: str
    score: str = Field(description="the 0–10 'how likely are you to recommend us' answer")
    stage: str | None = None
    touchpoint: str | None = None
    comment: str | None = None
    persona: list[str] = Field(default_factory=list)
    id: str | None = Field(default=None, description="the export's response id (stable re-imports)")


class Survey(_Strict):
    """A survey / NPS export (Typeform, Google Forms, Hotjar CSV) and where its answers sit on the map."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    file: str = Field(description="the CSV export, relative to journey.yaml")
    columns: SurveyColumns
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    date_format: str | None = Field(default=None, description="strptime format when dates are not ISO 8601")
    stage: str | None = Field(default=None, description="stage of answers without a stage column")
    touchpoint: str | None = Field(default=None, description="touchpoint of answers without a touchpoint column")


class SurveysSection(_Strict):
    """journey.yaml's `surveys:`: the exports the map reads."""

    surveys: list[Survey] = Field(default_factory=list)


Loc = tuple[str | int, ...]


def used(section: object) -> bool:
    """The map reads the exports (it lists any)."""
    return bool(getattr(section, "surveys", ()))


def problems(section: object, stages: Sequence[str], touchpoints: Sequence[str]) -> Iterator[tuple[Loc, str]]:
    """(where in journey.yaml, what is wrong and the fix) of each survey a map lists."""
    surveys: list[Survey] = list(getattr(section, "surveys", ()))
    seen: set[str] = set()
    for i, survey in enumerate(surveys):
        if survey.name in seen:
            yield ("surveys", i, "name"), f"duplicate survey '{survey.name}'; each must be unique, rename one"
        seen.add(survey.name)
    for i, survey in enumerate(surveys):
        if survey.stage is not None and survey.stage not in stages:
            yield ("surveys", i, "stage"), (f"survey '{survey.name}' references unknown stage '{survey.stage}'"
                                            f"{_suggest(survey.stage, stages)}; stages are {', '.join(stages)}")
        if survey.touchpoint is not None and survey.touchpoint not in touchpoints:
            yield ("surveys", i, "touchpoint"), (f"survey '{survey.name}' references unknown touchpoint "
                                                 f"'{survey.touchpoint}'{_suggest(survey.touchpoint, touchpoints)}")


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
