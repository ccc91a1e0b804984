"""Settings from the environment (pydantic-settings); only flows/ reads them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pydantic import SecretStr, ValidationError, create_model
from pydantic_settings import BaseSettings, SettingsConfigDict

from connectors.registry import SOURCES as CONNECTORS


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


def secret_block_name(setting: str) -> str:
    """The Prefect Secret block that may hold a secret setting: its name in kebab-case (slack-bot-token)."""
    return setting.replace("_", "-")


def load_settings() -> Settings:
    """Read the settings now (never at import time), with errors that name the variable. A secret missing from
    the environment is read from the Prefect Secret block of its kebab-case name when a Prefect server is set."""
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "a setting"
        raise SettingsError(f"{name}: {first['msg']}; fix the environment variable") from None
    return _with_secret_blocks(settings)


def _with_secret_blocks(settings: Settings) -> Settings:
    missing = [name for name in SECRETS if getattr(settings, name) is None]
    if not missing or not os.environ.get("PREFECT_API_URL"):  # no server to ask: nothing to look up
        return settings
    from prefect.blocks.system import Secret

    found: dict[str, SecretStr] = {}
    for name in missing:
        try:
            block = cast(Secret[str], Secret.load(secret_block_name(name)))  # called from sync code: the block itself
            found[name] = SecretStr(str(block.get()))
        except ValueError:  # no such block
            continue
        except Exception as exc:  # the server cannot answer: say which setting was being looked up, and where
            raise SettingsError(f"{name.upper()} is not set, and its Prefect Secret block '{secret_block_name(name)}' "
                                f"could not be read from PREFECT_API_URL ({type(exc).__name__}); set the variable "
                                "or check that the Prefect server is up") from None
    return settings.model_copy(update=found) if found else settings
