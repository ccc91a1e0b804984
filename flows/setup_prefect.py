"""`journeymap setup-prefect`: what the deployments need on a Prefect server, created idempotently — the process
work pool, the global concurrency limit of each API (backfill chunks hold its slots) and a Secret block for each
secret set in the environment (read back by `load_settings` when the variable is missing where the flow runs)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from flows.cli_common import fail, load_config, out

if TYPE_CHECKING:
    from flows.settings import Settings

WORK_POOL = "journeymap"


def setup_prefect(settings: Settings) -> list[str]:
    """Create what is missing; one line per thing, saying whether it was created or already there (secret values
    are never shown)."""
    from prefect.blocks.system import Secret
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, WorkPoolCreate
    from prefect.exceptions import ObjectNotFound

    from flows.chunks import API_LIMITS
    from flows.settings import SECRETS, secret_block_name

    done = []
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(WORK_POOL)
            done.append(f"work pool '{WORK_POOL}': already there")
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(name=WORK_POOL, type="process"))
            done.append(f"work pool '{WORK_POOL}': created (type process)")
        for name, limit in API_LIMITS.values():
            try:  # one already there keeps its limit: an operator may have sized it to the account's quota
                there = client.read_global_concurrency_limit_by_name(name)
                done.append(f"concurrency limit '{name}': already there ({there.limit} slots)")
            except ObjectNotFound:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=limit))
                done.append(f"concurrency limit '{name}': created ({limit} slots)")
    for name in SECRETS:
        value = getattr(settings, name)
        block = secret_block_name(name)
        if value is None:
            done.append(f"secret block '{block}': not set here ({name.upper()} is empty), left as it is")
            continue
        Secret(value=value.get_secret_value()).save(block, overwrite=True)
        done.append(f"secret block '{block}': saved from {name.upper()}")
    return done


def setup_prefect_command() -> None:
    """Create the work pool, the API concurrency limits and the Secret blocks the deployments use on the Prefect
    server at PREFECT_API_URL (idempotent: run it again after changing a key)."""
    settings, _ = load_config()
    if not os.environ.get("PREFECT_API_URL"):
        fail("PREFECT_API_URL is not set: start a server (prefect server start) and set PREFECT_API_URL to its "
             "API, e.g. http://127.0.0.1:4200/api")
    for line in setup_prefect(settings):
        out.print(line, highlight=False)
