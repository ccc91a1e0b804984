"""What a pipeline run did, and how a command reads it from the run's final state."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from prefect.client.schemas.objects import State

from checks.detection import DetectionOutcome
from flows.backfill import BackfillResult
from flows.slack import Delivery
from models.mapping import MappingResult
from models.sync import SourceResult
from reports.map_view import MapView


@dataclass
class PipelineResult:
    """What a run did. `failed` lists sources that failed; `misconfigured` those whose fix is configuration."""

    as_of: dt.date
    synced: list[SourceResult] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    misconfigured: set[str] = field(default_factory=set)
    mapping: MappingResult | None = None
    view: MapView | None = None
    detection: DetectionOutcome | None = None
    quality: list[dict[str, Any]] = field(default_factory=list)  # the run's quality_results rows
    delivery: Delivery | None = None  # what the Slack step sent, wrote or kept for the next run
    backfill: BackfillResult | None = None  # a backfill's chunks: loaded, skipped, failed

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def read(self) -> set[str]:
        """The sources this run read (a source whose input was partly refused was read)."""
        return {s.source for s in self.synced}

    @property
    def failures(self) -> dict[str, tuple[str, str]]:
        """Source → (cause, reason) of each source not read: `setup` when its fix is configuration, else `read`."""
        return {s: ("setup" if s in self.misconfigured else "read", reason) for s, reason in self.failed.items()
                if s not in self.read}

    @property
    def nothing_read(self) -> str | None:
        """Why the run read no source at all (each source and its failure), or None when one was read."""
        if self.read or not self.failed:
            return None
        return "no source could be read: " + "; ".join(f"{s}: {r}" for s, r in sorted(self.failed.items()))

    @property
    def blocked(self) -> bool:
        """A blocking data-quality check failed (what passed is stored)."""
        return any(not r["success"] and r["severity"] == "blocking" for r in self.quality)

    @property
    def undelivered(self) -> bool:
        """Slack delivery stopped or refused a message (what was not sent waits in the outbox)."""
        return self.delivery is not None and bool(self.delivery.error or self.delivery.rejected)

    @property
    def exit_code(self) -> int:
        """0 all good; 2 every failure needs a configuration fix; 1 otherwise (a blocking check or undelivered
        Slack messages included)."""
        if not self.failed:
            return 1 if self.blocked or self.undelivered else 0
        return 2 if set(self.failed) <= self.misconfigured and not self.blocked else 1


def outcome_of(state: State[PipelineResult]) -> PipelineResult:
    """A pipeline run's result, also of a run that read no source (a Failed run that still holds its result);
    any other failure is raised."""
    value = state.result(raise_on_failure=False)
    if isinstance(value, PipelineResult):
        return value
    if isinstance(value, BaseException):
        raise value
    raise RuntimeError(f"the pipeline run ended {state.type.value}: {state.message}")
