"""Settings from the environment (pydantic-settings); only flows/ reads them. A business of a warehouse of
several (`--business ID`) has its own map, part of the warehouse, outbox, accounts, secrets and Slack channel."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pydantic import SecretStr, ValidationError, create_model
from pydantic_settings import BaseSettings, SettingsConfigDict

from connectors.registry import SOURCES as CONNECTORS
from models.db import BUSINESS_ID, DatabaseConfigError, business_url


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable and the fix."""


class CoreSettings(BaseSettings):
    """The settings of Journeymap itself; each connector adds the variables it reads (its `SPEC.settings`), and
    `Settings` is both. Each is documented in README.md."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    journey_database_url: str = "sqlite:///journey.db"
    journey_map_file: Path = Path("journey.yaml")
    journey_hash_salt: SecretStr | None = None  # salt of the stored email hashes; default: the source account id
    slack_bot_token: SecretStr | None = None
    slack_channel: str | None = None
    slack_api_url: str | None = None
    prefect_ui_url: str | None = None  # links in Slack messages to the flow run and the incident-action form
    journey_map_url: str | None = None  # where the rendered map is published (an alert's "Open the map" button)
    journey_outbox_dir: Path = Path("outbox")  # where messages go as Block Kit JSON when there is no Slack token
    journey_maps_dir: Path = Path("maps")  # the maps of a warehouse of several businesses: <id>.yaml each
    journey_business: str | None = None  # the business of this run, of those in journey_maps_dir (None: the one map)


_KINDS: dict[str, Any] = {"text": str | None, "path": Path | None, "secret": SecretStr | None}
# every connector's variables, once each (two connectors may read the same one)
SOURCE_SETTINGS = {s.name: s for spec in CONNECTORS for s in spec.settings}

if TYPE_CHECKING:
    Settings = CoreSettings
else:
    Settings = create_model("Settings", __base__=CoreSettings, __doc__="Every setting Journeymap reads.",
                            **{name: (_KINDS[s.kind], None) for name, s in SOURCE_SETTINGS.items()})

SECRETS = ("slack_bot_token", *(name for name, s in SOURCE_SETTINGS.items() if s.kind == "secret"),
           "journey_hash_salt")
# key files whose content may instead come from a Secret block (a container has no file): setting → block
KEY_FILES = {name: s.block for name, s in SOURCE_SETTINGS.items() if s.block}
# what a business sets for itself (<ID>_<NAME>, or a Secret block <id>-<name>); the accounts and the Slack channel
# are its own or none, the rest falls back to the shared setting (one Slack app or service account for all)
BUSINESS_SETTINGS = (*SECRETS, "slack_channel", "journey_map_url", *SOURCE_SETTINGS)
OWN_SETTINGS = frozenset({"slack_channel", *(a.lower() for spec in CONNECTORS for a in spec.account)})


def secret_block_name(setting: str) -> str:
    """The Prefect Secret block that may hold a secret setting: its name in kebab-case (slack-bot-token)."""
    return setting.replace("_", "-")


def business_variable(business: str, setting: str) -> str:
    """The environment variable of a business's own value of a setting: ACME_EU_GA4_PROPERTY_ID."""
    return f"{business.replace('-', '_')}_{setting}".upper()


def load_settings(business: str | None = None) -> Settings:
    """Read the settings now (never at import time), with errors that name the variable. A secret missing from
    the environment is read from the Prefect Secret block of its kebab-case name when a Prefect server is set.

    With a business: its map is `JOURNEY_MAPS_DIR/<id>.yaml`, its warehouse its own part of
    JOURNEY_DATABASE_URL's (`models.db.business_url`), its outbox `JOURNEY_OUTBOX_DIR/<id>`; each of
    `BUSINESS_SETTINGS` is its own `<ID>_<NAME>` variable, or for a secret its `<id>-<name>` Secret block, else
    the shared variable or block — except its accounts and Slack channel, which are its own or unset."""
    shared: dict[str, Any] = {}
    try:
        settings = Settings()
        business = business or settings.journey_business
        if business is not None:
            settings, shared = _business(settings, business)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "a setting"
        if business is not None and name.lower() in BUSINESS_SETTINGS:
            name = f"{business_variable(business, name)} (or {name})"
        raise SettingsError(f"{name}: {first['msg']}; fix the environment variable") from None
    return _with_secret_blocks(settings, business, shared)


def _business(settings: Settings, business: str) -> tuple[Settings, dict[str, Any]]:
    """The business's settings, and the shared secrets it falls back to when it has no value or block of its own."""
    if not BUSINESS_ID.fullmatch(business):
        raise SettingsError(f"--business {business!r}: a business id is 1-40 lower-case letters, digits and "
                            "dashes (its map is JOURNEY_MAPS_DIR/<id>.yaml)")
    map_file = settings.journey_maps_dir / f"{business}.yaml"
    if not map_file.is_file():
        known = business_ids(settings.journey_maps_dir)
        raise SettingsError(f"--business {business}: there is no map {map_file}; create it (a copy of journey.yaml "
                            "to start) or set JOURNEY_MAPS_DIR to the folder of the maps"
                            + (f"; the businesses there are {', '.join(known)}" if known else ""))
    try:
        url = business_url(settings.journey_database_url, business)
    except DatabaseConfigError as exc:
        raise SettingsError(str(exc)) from None
    values = settings.model_dump()
    shared = {name: values[name] for name in (*SECRETS, *KEY_FILES)}
    for name in BUSINESS_SETTINGS:
        own = os.environ.get(business_variable(business, name))
        if own is not None:
            values[name] = own
            shared.pop(name, None)
        elif name in OWN_SETTINGS or name in shared:
            values[name] = None
    values.update(journey_business=business, journey_map_file=map_file, journey_database_url=url,
                  journey_outbox_dir=settings.journey_outbox_dir / business)
    return Settings(**values), shared


def business_ids(maps_dir: Path) -> list[str]:
    """The businesses of a warehouse of several: the maps in `maps_dir`, by id."""
    if not maps_dir.is_dir():
        return []
    return sorted(p.stem for p in maps_dir.glob("*.yaml") if BUSINESS_ID.fullmatch(p.stem))


def _with_secret_blocks(settings: Settings, business: str | None, shared: dict[str, Any]) -> Settings:
    """Each secret (or key file) still unset: the business's block, the shared variable, the shared block, in
    that order. A key file's block holds the file itself, written to a private file for the connector."""
    missing = [name for name in (*SECRETS, *KEY_FILES) if getattr(settings, name) is None]
    server = bool(os.environ.get("PREFECT_API_URL"))  # no server: no block to look up
    there = _secret_blocks(missing[0]) if server and missing else set()  # one request, not one per setting
    found: dict[str, Any] = {}
    for name in missing:
        block = KEY_FILES.get(name) or secret_block_name(name)
        own = f"{business}-{block}"
        value = _block(name, own) if business is not None and own in there else None
        if value is None:
            value = shared.get(name)
        if value is None and block in there:
            value = _block(name, block)
        if value is not None:
            found[name] = value
    return settings.model_copy(update=found) if found else settings


_KEY_DIR: list[Path] = []


def _key_file(block: str, content: str) -> Path:
    """A key file's content from its block, as a file only this user can read (one folder per process)."""
    if not _KEY_DIR:
        _KEY_DIR.append(Path(tempfile.mkdtemp(prefix="journeymap-keys-")))
    path = _KEY_DIR[0] / f"{block}.json"
    path.touch(mode=0o600)
    path.write_text(content, encoding="utf-8")
    return path


def _secret_blocks(name: str) -> set[str]:
    """The names of the Secret blocks on the server (`name`: the first setting looked up, for the message)."""
    from prefect.client.orchestration import get_client

    names: set[str] = set()
    try:
        with get_client(sync_client=True) as client:
            while page := client.read_block_documents_by_type("secret", offset=len(names), limit=200,
                                                             include_secrets=False):
                names |= {str(b.name) for b in page}
                if len(page) < 200:
                    break
    except Exception as exc:  # the server cannot answer: say which setting was being looked up, and where
        raise SettingsError(f"{name.upper()} is not set, and the Prefect Secret blocks could not be listed from "
                            f"PREFECT_API_URL ({type(exc).__name__}); set the variable or check that the Prefect "
                            "server is up") from None
    return names


def _block(name: str, block_name: str) -> SecretStr | Path | None:
    """The setting's value from the Secret block, or None when there is no such block."""
    from prefect.blocks.system import Secret

    try:
        block = cast(Secret[str], Secret.load(block_name))  # called from sync code: the block itself
    except ValueError:  # no such block
        return None
    except Exception as exc:  # the server cannot answer: say which setting was being looked up, and where
        raise SettingsError(f"{name.upper()} is not set, and its Prefect Secret block '{block_name}' could not "
                            f"be read from PREFECT_API_URL ({type(exc).__name__}); set the variable or check "
                            "that the Prefect server is up") from None
    found = block.get()
    value = found if isinstance(found, str) else json.dumps(found)  # a key saved as JSON rather than text
    return _key_file(block_name, value) if name in KEY_FILES else SecretStr(value)
