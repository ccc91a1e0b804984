"""Progress of long work: a bar in the terminal and a Prefect progress artifact in the UI."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import cast
from uuid import UUID

from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.context import FlowRunContext
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

_QUIET: ContextVar[bool] = ContextVar("journeymap_quiet_progress", default=False)


class Tracker:
    """Advance with `step(label)`; mirrors the count to the terminal and the Prefect UI."""

    def __init__(self, total: int, bar: Progress | None, artifact: UUID | None) -> None:
        self.total, self.done, self.bar, self.artifact = total, 0, bar, artifact
        self.task = bar.add_task("", total=total) if bar is not None else None

    def step(self, label: str) -> None:
        self.done += 1
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, completed=self.done, description=label)
        if self.artifact is not None:
            update_progress_artifact(self.artifact, progress=100.0 * self.done / max(self.total, 1))


@contextmanager
def tracked(total: int, key: str, description: str) -> Iterator[Tracker]:
    """A progress tracker for `total` steps; the bar shows only on an interactive terminal (and neither bar nor
    artifact inside `quiet()`)."""
    if _QUIET.get():
        yield Tracker(total, None, None)
        return
    artifact = None
    if FlowRunContext.get() is not None:
        artifact = cast(UUID, create_progress_artifact(progress=0.0, key=key, description=description))
    if not sys.stderr.isatty():
        yield Tracker(total, None, artifact)
        return
    columns = (TextColumn("[bold]{task.description:<34}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        yield Tracker(total, bar, artifact)


@contextmanager
def quiet() -> Iterator[None]:
    """Trackers opened inside show nothing: a backfill's chunks run side by side under one progress of its own."""
    token = _QUIET.set(True)
    try:
        yield
    finally:
        _QUIET.reset(token)
