"""Survey and NPS exports as the map knows them: answers per survey and stage."""

from __future__ import annotations

from models.sources.spec import SourceModel
from models.sources.surveys.section import SurveysSection, problems, used

SOURCE = SourceModel(
    name="surveys", title="Surveys",
    # survey: survey name regex; stage: the answer's stage id (regex)
    keys=("survey", "stage"), regex_keys=frozenset({"survey"}),
    metrics=("responses", "promoters", "passives", "detractors"),
    defaults={"lag_days": 1, "settle_days": 0},
    dated=(("responses", "submitted"),),  # answers arrive when people answer: no daily delivery to judge
    what_to_check="Read the latest answers for this stage.",
    discoverable=False,  # export files the map names, not something to discover
    whole_range="an export file is read whole",
    main_stream="responses",
    section=SurveysSection, section_used=used, section_problems=problems,
)
