"""The `daily` deployment: every business of the warehouse, each as a run of the `business` deployment
(`run_deployment`), which any worker of the pool takes; the runs go on side by side (each business has its own
part of the warehouse and its own run lock) and share the APIs' quotas through their global concurrency limits.
With one map (no JOURNEY_MAPS_DIR folder) it runs that map here, as the daily run always has."""

from __future__ import annotations

import datetime as dt
from typing import cast

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import FlowRun
from prefect.runtime import flow_run
from prefect.states import Failed
from prefect.task_runners import ThreadPoolTaskRunner

from flows.days import today_in
from flows.notify import notify_failure
from flows.pipeline import journey_pipeline
from flows.settings import business_ids, load_settings
from flows.sources import Source
from models.mapfile import load_map

BUSINESS_DEPLOYMENT = "journey-pipeline/business"
MAX_STARTED = 64  # business runs waited for at once by one daily run (the workers' own limits pace the rest)


@task(cache_policy=NO_CACHE, task_run_name="business-{business}")
def run_business(business: str, as_of: dt.date, sources: list[Source] | None, demo: bool) -> str:
    """Start the business's run of the `business` deployment and wait for it; its final state's name."""
    from prefect.deployments import run_deployment

    parameters: dict[str, object] = {"business": business, "as_of": as_of.isoformat(), "demo": demo}
    if sources:
        parameters["sources"] = [s.value for s in sources]
    child = cast(FlowRun, run_deployment(BUSINESS_DEPLOYMENT, parameters=parameters, poll_interval=2,
                                         idempotency_key=f"{flow_run.id}:{business}",
                                         flow_run_name=f"{business} {as_of}"))
    state = child.state
    name = (state.name or state.type.value) if state is not None else "no state"
    get_run_logger().info("%s: its run %s ended %s", business, child.name, name)
    return name


def choose(asked: list[str] | None, known: list[str], maps_dir: object) -> list[str]:
    """The businesses to run: those asked for (each must have a map), else every one there is."""
    if not asked:
        return known
    unknown = sorted(set(asked) - set(known))
    if unknown:
        raise ValueError(f"businesses {', '.join(unknown)}: no map {maps_dir}/<id>.yaml for them; the businesses "
                         f"there are {', '.join(known) or 'none'}")
    return list(dict.fromkeys(asked))


@flow(name="journey-daily", log_prints=True, on_failure=[notify_failure])
def daily(businesses: list[str] | None = None, sources: list[Source] | None = None,
          as_of: dt.date | None = None, demo: bool = False) -> dict[str, str]:
    """The daily run of every business: one run of the `business` deployment each (any worker takes it), all
    waited for; with one map, that map's run here.

    Args:
        businesses: the businesses to run, by id (default: every map in JOURNEY_MAPS_DIR).
        sources: the sources to sync (default: every source each map uses).
        as_of: the day that counts as "today" (default: the day this run was scheduled for, in each map's
            timezone).
        demo: read the built-in demo business instead of the real APIs.
    """
    settings = load_settings()
    known = business_ids(settings.journey_maps_dir)
    if not known and not businesses:
        day = as_of or today_in(load_map(settings.journey_map_file))
        state = journey_pipeline(sources=sources, as_of=day, demo=demo, return_state=True)
        if not state.is_completed():  # the run's own failure is the daily run's
            return Failed(message=state.message or "the map's run did not complete",  # type: ignore[return-value]
                          data={"": state.name or state.type.value})
        return {"": state.name or state.type.value}
    chosen = choose(businesses, known, settings.journey_maps_dir)
    days = {b: as_of or today_in(load_map(settings.journey_maps_dir / f"{b}.yaml")) for b in chosen}
    with ThreadPoolTaskRunner[str](max_workers=min(len(chosen), MAX_STARTED)) as runner:
        futures = {b: runner.submit(run_business, {"business": b, "as_of": days[b], "sources": sources,
                                                   "demo": demo}) for b in chosen}
        ended = {b: f.result() for b, f in futures.items()}
    failed = {b: name for b, name in ended.items() if name != "Completed"}
    if failed:
        message = "; ".join(f"{b} ended {name}" for b, name in failed.items())
        return Failed(message=f"{len(failed)} of {len(ended)} businesses did not complete: {message}",  # type: ignore[return-value]
                      data=ended)
    return ended
