"""What every `journeymap` command shares: the consoles, and input checked early with errors that name the fix."""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:  # types only: a command imports what it uses when it runs, so `--help` stays light
    from flows.settings import Settings
    from models.config import JourneyMap

# piped output: wide enough for the map table (COLUMNS may widen it)
_PIPED_WIDTH = max(160, int(os.environ.get("COLUMNS", "0") or 0)) if os.environ.get("COLUMNS", "").isdigit() else 160
out = Console(width=None if sys.stdout.isatty() else _PIPED_WIDTH)
err = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print an error on one line per problem and exit (2 = bad input or configuration)."""
    for line in message.splitlines():
        err.print(f"[bold red]error:[/] {line}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def parse_date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date; use YYYY-MM-DD, e.g. {option} 2026-09-30")


# every command that reads a map or the warehouse takes it; the flows it runs here read JOURNEY_BUSINESS too
Business = Annotated[str | None, typer.Option(
    "--business", envvar="JOURNEY_BUSINESS", show_envvar=False,
    help="the business, by id (its map is JOURNEY_MAPS_DIR/<id>.yaml; default: the one map, JOURNEY_MAP_FILE)")]


def load_config(business: str | None = None) -> tuple[Settings, JourneyMap]:
    """Settings and the validated map (of `business`, in a warehouse of several), or exit 2 naming the file,
    line and fix."""
    from flows.settings import SettingsError, load_settings
    from models.db import DatabaseConfigError, make_engine
    from models.mapfile import MapConfigError, load_map

    if business:
        os.environ["JOURNEY_BUSINESS"] = business  # the flows this command runs in this process read it
    try:
        settings = load_settings()
        journey_map = load_map(settings.journey_map_file)
        make_engine(settings.journey_database_url).dispose()
    except (MapConfigError, SettingsError, DatabaseConfigError) as exc:
        fail(str(exc))
    return settings, journey_map


def slack_setup(settings: Settings) -> None:
    """A Slack token needs a channel and must be a bot token (messages are written to files without one)."""
    if settings.slack_bot_token is None:
        return
    from connectors.errors import PermanentError
    from flows.notify import slack_client

    try:
        slack_client(settings)
    except PermanentError as exc:
        fail(str(exc))
    if not settings.slack_channel:
        fail("SLACK_BOT_TOKEN is set but SLACK_CHANNEL is not: set it to the channel for alerts and summaries "
             "(e.g. #journey-alerts, or its ID), and invite the app there")


STARTUP_SECONDS = 120  # a temporary Prefect server takes ~20 s on 2 cores: Prefect's own 20 s is too tight
STARTUP_VARIABLE = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"


@contextmanager
def prefect_api() -> Iterator[None]:
    """Run flows against PREFECT_API_URL, or else against a temporary server Prefect starts for the command,
    given STARTUP_SECONDS to come up (or what PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS says) and said
    so, and timed (`server_hint`); a server that does not start is one line with the fix (exit 2), not a
    traceback."""
    import httpx
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, temporary_settings

    if PREFECT_API_URL.value():
        yield
        return
    seconds = PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value() if STARTUP_VARIABLE in os.environ \
        else STARTUP_SECONDS
    err.print(f"Starting a temporary Prefect server for this command (up to {seconds} s; set PREFECT_API_URL to "
              "use a running one)…", highlight=False)
    try:
        with temporary_settings({PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: seconds}):
            _start_temporary_server()
            yield
    except (RuntimeError, httpx.HTTPError) as exc:
        if not _server_start(exc):
            raise
        fail(f"the temporary Prefect server did not start within {seconds} s; start one with `prefect server start` "
             "and set PREFECT_API_URL=http://127.0.0.1:4200/api, or allow it more time with "
             f"{STARTUP_VARIABLE}")


STARTED: list[float] = []  # seconds each temporary Prefect server of this process took to come up
HINT_STAMP = "prefect-server-hint"  # in the cache folder: the user was told what a temporary server costs


def _start_temporary_server() -> None:
    """Start the temporary server now, not at the flow's first API call, and time Prefect's own startup: from
    launching its process to its health check answering (the flow then finds it running)."""
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()  # the one Prefect's clients use
    if server.running:
        return
    began = time.monotonic()
    server.start()
    STARTED.append(time.monotonic() - began)


def cache_dir() -> Path:
    """Where Journeymap remembers things for the user: JOURNEY_CACHE_DIR, else $XDG_CACHE_HOME/journeymap, else
    ~/.cache/journeymap."""
    if os.environ.get("JOURNEY_CACHE_DIR"):
        return Path(os.environ["JOURNEY_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "journeymap"


def server_hint() -> None:
    """After a command that started a temporary Prefect server: how long it took and how to skip it, said once
    per user (a stamp in `cache_dir()`)."""
    if not STARTED:
        return
    stamp = cache_dir() / HINT_STAMP
    if stamp.exists():
        return
    err.print(f"note: the temporary Prefect server took {sum(STARTED):.1f} s of this command; start one with "
              "`prefect server start` and set PREFECT_API_URL=http://127.0.0.1:4200/api to skip that",
              highlight=False, soft_wrap=True)
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(f"told {dt.datetime.now().isoformat(timespec='seconds')}\n", encoding="utf-8")
    except OSError:  # a folder it cannot write: said again next time rather than failing the command over a note
        pass


def _server_start(exc: BaseException) -> bool:
    """Whether the error is the temporary server failing to come up (Prefect says so, or its health check)."""
    import httpx

    if isinstance(exc, httpx.HTTPStatusError):
        return exc.request.url.path.endswith("/health")
    return "ephemeral Prefect API server" in str(exc)
