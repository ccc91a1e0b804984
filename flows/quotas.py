"""The API quotas every business's reads share: a read holds slots of its API's global concurrency limit, and of
the limit of a quota it shares with other sources (a Google Cloud project), for as long as it reads — whichever
business, run, flow or worker it belongs to. `journeymap setup-prefect` creates the limits; a server without
them (the temporary one of a command-line run) caps nothing, which is said once."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from flows.chunks import limits_of
from flows.settings import Settings


@cache
def on_server(name: str) -> bool:
    """Whether the Prefect server has the global concurrency limit (asked once per name and process)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            logging.getLogger("journeymap.quotas").info(
                "the Prefect server has no %s concurrency limit: reads are not capped across runs "
                "(journeymap setup-prefect creates it)", name)
            return False
    return True


@contextmanager
def api_slots(source: str, settings: Settings, connections: int, demo: bool) -> Iterator[None]:
    """Hold the source's quota slots (as many as the connections it opens, at most a limit's size) while the
    block reads; the demo reads no API and holds none."""
    from prefect.concurrency.sync import concurrency

    limits = [] if demo else [(name, slots) for name, slots in limits_of(source, settings) if on_server(name)]
    if not limits:
        yield
        return
    with concurrency([name for name, _ in limits], occupy=min(connections, *(s for _, s in limits)), strict=True):
        yield
