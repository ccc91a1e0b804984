"""`journeymap setup-prefect`: what the deployments need on a Prefect server, created idempotently — the process
work pool, the global concurrency limit of each API and of each Google Cloud project the businesses' keys name
(daily syncs and backfill chunks hold their slots) and a Secret block for each secret set in the environment,
shared or a business's own (read back by `load_settings` when the variable is missing where the flow runs)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from flows.cli_common import fail, load_config, out

if TYPE_CHECKING:
    from pydantic import SecretStr

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
    from flows.settings import KEY_FILES, SECRETS, business_variable, secret_block_name

    limits = dict(API_LIMITS.values())
    blocks = [(secret_block_name(name), name.upper(), getattr(settings, name)) for name in SECRETS]
    blocks += [(block, name.upper(), _key(getattr(settings, name))) for name, block in KEY_FILES.items()]
    for business, own, problem in _businesses(settings):
        if own is None:
            blocks.append(("", "", problem))
            continue
        limits.update(_shared_limits(own))
        blocks += [(f"{business}-{KEY_FILES.get(name) or secret_block_name(name)}", business_variable(business, name),
                    value) for name, value in _own_secrets(business)]

    done = []
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(WORK_POOL)
            done.append(f"work pool '{WORK_POOL}': already there")
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(name=WORK_POOL, type="process"))
            done.append(f"work pool '{WORK_POOL}': created (type process)")
        for name, limit in limits.items():
            try:  # one already there keeps its limit: an operator may have sized it to the account's quota
                there = client.read_global_concurrency_limit_by_name(name)
                done.append(f"concurrency limit '{name}': already there ({there.limit} slots)")
            except ObjectNotFound:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=limit))
                done.append(f"concurrency limit '{name}': created ({limit} slots)")
    for block, variable, value in blocks:
        if not block:
            done.append(str(value))  # a business whose settings could not be read: why
        elif value is None:
            done.append(f"secret block '{block}': not set here ({variable} is empty), left as it is")
        else:
            Secret(value=value.get_secret_value()).save(block, overwrite=True)
            done.append(f"secret block '{block}': saved from {variable}")
    return done


def _businesses(settings: Settings) -> list[tuple[str, Settings | None, str]]:
    """Each business of JOURNEY_MAPS_DIR with its settings, or None and why they cannot be read."""
    from flows.settings import SettingsError, business_ids, load_settings

    found: list[tuple[str, Settings | None, str]] = []
    for business in business_ids(settings.journey_maps_dir):
        try:
            found.append((business, load_settings(business), ""))
        except SettingsError as exc:
            found.append((business, None, f"business '{business}': {exc}; its limits and blocks were left out"))
    return found


def _shared_limits(settings: Settings) -> dict[str, int]:
    """The limits of the quotas a business's reads share with other businesses' (a Google Cloud project)."""
    from flows.chunks import limits_of
    from models.sources import NAMES

    return {name: slots for source in NAMES for name, slots in limits_of(source, settings)}


def _own_secrets(business: str) -> list[tuple[str, SecretStr | None]]:
    """The business's own secrets and key files set here (<ID>_<NAME>): each saved as its `<id>-<name>` block."""
    from pydantic import SecretStr

    from flows.settings import KEY_FILES, SECRETS, business_variable

    def own(name: str) -> str | None:
        return os.environ.get(business_variable(business, name)) or None
    return [(name, SecretStr(value)) for name in SECRETS if (value := own(name))] + \
        [(name, _key(path)) for name in KEY_FILES if (path := own(name))]


def _key(path: object) -> SecretStr | None:
    """A key file's content, to be saved as a block (None: unset or unreadable, left as it is)."""
    from pathlib import Path

    from pydantic import SecretStr

    if not path:
        return None
    try:
        return SecretStr(Path(str(path)).read_text(encoding="utf-8"))
    except OSError:
        return None


def setup_prefect_command() -> None:
    """Create the work pool, the API concurrency limits and the Secret blocks the deployments use on the Prefect
    server at PREFECT_API_URL (idempotent: run it again after changing a key)."""
    settings, _ = load_config()
    if not os.environ.get("PREFECT_API_URL"):
        fail("PREFECT_API_URL is not set: start a server (prefect server start) and set PREFECT_API_URL to its "
             "API, e.g. http://127.0.0.1:4200/api")
    for line in setup_prefect(settings):
        out.print(line, highlight=False)
