"""The `journey.yaml` schema: business, stages, journeys, touchpoints, segments, personas, alerts."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from models.sources import SOURCES as REGISTRY
from models.sources import MapSections

# Which rule keys and metrics each source understands (each source declares its own: models/sources/). The keys
# of a touchpoint's `match:` are regular expressions (full match) unless noted.
SOURCES: dict[str, dict[str, tuple[str, ...]]] = {s.name: {"keys": s.keys, "metrics": s.metrics} for s in REGISTRY}
# Metrics that are money, not a count of people or events: never a touchpoint's volume or success (a rate of
# pounds over visits is not a conversion). Each names the count to use instead.
MONEY_METRICS = {metric: use for s in REGISTRY for metric, use in s.money.items()}
# Non-additive metrics that people reach for and that must never be summed over days, each with the fix.
NON_ADDITIVE = {"totalUsers": "use sessions", "activeUsers": "use sessions", "bounceRate": "use sessions",
                **{metric: f"use {fix}" for s in REGISTRY for metric, fix in s.non_additive.items()}}
REGEX_KEYS = set().union(*(s.regex_keys for s in REGISTRY))
DIMENSIONS = ("device", "channel", "user_type", "country")
STAGE_DEFAULTS = ("awareness", "consideration", "purchase", "retention", "advocacy")
# Who acts on an alert: a Slack member id (U…, W… on Enterprise Grid) or a user group's id (S…).
SLACK_OWNER = r"^(U|W|S)[A-Z0-9]{6,}$"
OWNER_FIX = ("a Slack member id (a profile's ⋯ › Copy member ID, e.g. U012AB3CDE) or a user group's id "
             "(Slack › People › User groups › the group's ⋯ › Copy group ID, e.g. S0123ABCD)")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Business(_Strict):
    name: str
    timezone: str = "UTC"
    currency: str = "USD"


def _owner(value: str | None) -> str | None:
    """An owner as journey.yaml names it: a Slack member or user-group id, never a name (Slack cannot mention
    a name, and a name changes)."""
    if value is None:
        return None
    text = value.strip().removeprefix("<@").removeprefix("<!subteam^").removesuffix(">")
    if not re.match(SLACK_OWNER, text):
        raise ValueError(f"owner {value!r} is not a Slack member or user-group id: use {OWNER_FIX}")
    return text


class Stage(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str
    owner: str | None = Field(default=None, description="who acts on this stage's alerts: " + OWNER_FIX)

    @field_validator("owner")
    @classmethod
    def _valid_owner(cls, value: str | None) -> str | None:
        return _owner(value)


class SourceSettings(_Strict):
    """How a source's days mature and settle, how far back the first sync goes, and how it is read.

    A day is read again on every run until a read happens `settle_days` after it (a web analytics API keeps processing
    a day for up to 72 hours); a day that came back empty from an otherwise active source is asked again for
    `empty_retry_days` runs before it is recorded as a confirmed gap. `lookback_days`, the older name of
    `settle_days`, is still read.
    """

    lag_days: int = Field(default=2, ge=0, le=14)
    settle_days: int = Field(default=3, ge=0, le=30, validation_alias=AliasChoices("settle_days", "lookback_days"),
                             description="a day is re-read until a read happens this many days after it")
    empty_retry_days: int = Field(default=0, ge=0, le=60,
                                  description="an empty day is asked again this many days before it is a gap")
    history_days: int = Field(default=180, ge=1, le=3650)
    concurrency: int = Field(default=4, ge=1, le=10, description="requests in flight (the APIs allow up to 10)")
    page_size: int = Field(default=100_000, ge=1, le=250_000)
    retry_minutes: float = Field(default=10, gt=0, le=240,
                                 description="time one run may spend waiting out a source's errors")
    quota_reserve: float = Field(default=0.10, ge=0, lt=1, description="stop while this share of quota is left")
    quota_tokens_per_day: int = Field(default=200_000, ge=1, description="standard: 200 000; 360: 2 000 000")
    quota_tokens_per_hour: int = Field(default=40_000, ge=1, description="standard: 40 000; 360: 400 000")


def _default_sources() -> dict[str, SourceSettings]:
    return {s.name: SourceSettings(**s.defaults) for s in REGISTRY}


def default_source_settings(source: str) -> SourceSettings:
    """A source's built-in settings (what a map that leaves the source out of `sources:` gets)."""
    return _default_sources()[source]


class Touchpoint(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str
    stage: str
    source: str
    match: dict[str, str | int] = Field(default_factory=dict)
    volume: str
    success: str | None = None
    questions: list[str] = Field(default_factory=list)


class Journey(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str
    goal: str
    value: float = Field(ge=0, description="value of one conversion, in the business currency")
    goal_touchpoint: str | None = Field(default=None, description="touchpoint whose success is the goal")
    slack_channel: str | None = Field(default=None, description="Slack channel of this journey's alerts and "
                                                                "summaries (default: SLACK_CHANNEL)")
    owner: str | None = Field(default=None, description="who acts on this journey's alerts: " + OWNER_FIX)
    touchpoints: list[Touchpoint] = Field(min_length=1)

    @field_validator("owner")
    @classmethod
    def _valid_owner(cls, value: str | None) -> str | None:
        return _owner(value)


class Persona(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    description: str = ""
    where: dict[str, str] = Field(min_length=1)


class AlertPolicy(_Strict):
    """Detection defaults of the bottleneck spec, tunable per business."""

    baseline_days: int = Field(default=28, ge=7)
    windows: list[int] = Field(default_factory=lambda: [3, 7, 14])
    fdr_q: float = Field(default=0.05, gt=0, lt=1)
    min_relative_drop: float = Field(default=0.20, gt=0, lt=1)
    min_lost_conversions: float = Field(default=5, ge=0)
    min_expected_window: float = Field(default=30, ge=0)
    min_expected_baseline: float = Field(default=100, ge=0)
    cusum_threshold: float = Field(default=5, gt=0)
    volume_floor: float = Field(default=0.20, ge=0, lt=1)
    critical_share_of_weekly_value: float = Field(default=0.05, gt=0)
    segment_min_traffic_share: float = Field(default=0.10, ge=0, le=1)
    resolve_drop: float = Field(default=0.10, ge=0, lt=1)
    max_new_alerts_per_day: int = Field(default=5, ge=0)


SEVERITY: dict[str, Literal["blocking", "warning"]] = {
    "not_null": "blocking", "unique": "blocking", "non_negative": "blocking", "currency": "blocking",
    "in_window": "blocking", "freshness": "blocking", "volume": "blocking", "facts": "blocking",
    "coverage": "warning", "ga4_flags": "warning", "quarantine": "warning", "settled": "warning",
    "streams": "warning"}
QUALITY_KINDS = ("not_null", "unique", "non_negative", "currency", "in_window", "freshness", "volume", "coverage",
                 "ga4_flags", "facts", "quarantine", "settled", "streams")


class QualityPolicy(_Strict):
    """Data-quality checks: how strict each family is, and their bands. A blocking failure holds back the
    source's step alerts (one data alert instead) and makes the run exit 1; a warning is only shown."""

    severity: dict[str, Literal["blocking", "warning"]] = Field(default_factory=lambda: dict(SEVERITY))
    volume_floor: float = Field(default=0.20, ge=0, lt=1, description="a day's rows under this share of usual")
    volume_ceiling: float = Field(default=5.0, gt=1, description="a day's rows over this multiple of usual")
    max_unmapped_share: float = Field(default=0.50, gt=0, le=1, description="of a source's volume, unmapped")

    @field_validator("severity")
    @classmethod
    def _known(cls, value: dict[str, Literal["blocking", "warning"]]) -> dict[str, Literal["blocking", "warning"]]:
        unknown = sorted(set(value) - set(QUALITY_KINDS))
        if unknown:
            raise ValueError(f"unknown check kind(s) {', '.join(unknown)}; the kinds are {', '.join(QUALITY_KINDS)}")
        return {**SEVERITY, **value}


class JourneyMap(MapSections, _Strict):
    version: Literal[1] = 1
    business: Business
    stages: list[Stage] = Field(min_length=1)
    sources: dict[str, SourceSettings] = Field(default_factory=_default_sources)
    segments: list[str] = Field(default_factory=lambda: ["device", "channel", "user_type"])
    personas: list[Persona] = Field(default_factory=list)
    alerts: AlertPolicy = Field(default_factory=AlertPolicy)
    quality: QualityPolicy = Field(default_factory=QualityPolicy)
    journeys: list[Journey] = Field(min_length=1)

    def source_settings(self, source: str) -> SourceSettings:
        """The settings of a source: what journey.yaml sets, the source's own defaults for the rest (a map that
        sets only a source's `history_days` keeps that source's own lag and settle time, not another's)."""
        defaults = default_source_settings(source)
        given = self.sources.get(source)
        if given is None:
            return defaults
        return defaults.model_copy(update={name: getattr(given, name) for name in given.model_fields_set})

    def used_sources(self) -> list[str]:
        """Sources that at least one touchpoint reads, in the order of SOURCES."""
        used = {tp.source for j in self.journeys for tp in j.touchpoints} | {
            s.name for s in REGISTRY if s.section_used is not None and s.section_used(self)}
        return [s for s in SOURCES if s in used]

    def touchpoints(self) -> list[tuple[Journey, Touchpoint]]:
        """Every (journey, touchpoint) pair in map order."""
        return [(j, tp) for j in self.journeys for tp in j.touchpoints]

    def stage_order(self) -> dict[str, int]:
        return {s.id: i for i, s in enumerate(self.stages)}

    def ordered_touchpoints(self, journey: Journey) -> list[Touchpoint]:
        """A journey's touchpoints by stage order, then file order inside a stage."""
        order = self.stage_order()
        return sorted(journey.touchpoints, key=lambda tp: order[tp.stage])

    def owners(self, journey_id: str, stage_id: str) -> list[str]:
        """Who acts on an alert of this journey's stage: the stage's owner, then the journey's (each once)."""
        stage = next((s.owner for s in self.stages if s.id == stage_id), None)
        journey = next((j.owner for j in self.journeys if j.id == journey_id), None)
        return list(dict.fromkeys(o for o in (stage, journey) if o))


def as_dict(model: BaseModel) -> dict[str, Any]:
    """A plain dict of a config model (for storage as JSON)."""
    return model.model_dump(mode="json")
