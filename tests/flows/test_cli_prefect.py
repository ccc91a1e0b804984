"""The command line and the Prefect server it needs: a temporary one gets time enough to start on a small machine,
says what it waits for, and one that does not start is one line with the fix, not a traceback; the time one took
is said once per user, with how to skip it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows import cli_common
from flows.cli_common import HINT_STAMP, STARTUP_SECONDS, STARTUP_VARIABLE, cache_dir, prefect_api, server_hint
from tests.conftest import EXAMPLE_MAP, ROOT

HINT = "the temporary Prefect server took"


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """A fresh record of the temporary servers started, and a start that launches none: it notes the time the
    server was given instead."""
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

    given: list[float] = []

    def start(self: SubprocessASGIServer, timeout: int | None = None) -> None:
        given.append(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())
        self.running = True

    monkeypatch.setattr(SubprocessASGIServer, "_instances", {})  # not the session's test server
    monkeypatch.setattr(SubprocessASGIServer, "start", start)
    monkeypatch.setattr(cli_common, "STARTED", [])
    return given


def test_a_temporary_server_gets_time_enough_and_the_user_is_told(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str],
                                                                 started: list[float]) -> None:
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, temporary_settings

    monkeypatch.delenv(STARTUP_VARIABLE, raising=False)
    assert PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value() < STARTUP_SECONDS  # Prefect's own is too short
    with temporary_settings(restore_defaults={PREFECT_API_URL}), prefect_api():
        assert PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value() == STARTUP_SECONDS
    assert f"Starting a temporary Prefect server for this command (up to {STARTUP_SECONDS} s" in capsys.readouterr().err
    assert started == [STARTUP_SECONDS]  # started on entering, with that time, and timed
    assert len(cli_common.STARTED) == 1
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:4200/api"}), prefect_api():  # a running server
        assert PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value() != STARTUP_SECONDS
    assert "temporary" not in capsys.readouterr().err
    assert started == [STARTUP_SECONDS]
    assert len(cli_common.STARTED) == 1


def test_the_time_a_temporary_server_took_is_said_once_per_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("JOURNEY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cli_common, "STARTED", [])
    server_hint()  # no temporary server: nothing to say, nothing remembered
    assert capsys.readouterr().err == ""
    assert not (tmp_path / "cache").exists()
    cli_common.STARTED.append(9.44)
    server_hint()
    [said] = capsys.readouterr().err.splitlines()
    assert said == (f"note: {HINT} 9.4 s of this command; start one with `prefect server start` and set "
                    "PREFECT_API_URL=http://127.0.0.1:4200/api to skip that")
    assert (tmp_path / "cache" / HINT_STAMP).is_file()
    server_hint()  # the next command: already said
    assert capsys.readouterr().err == ""


def test_the_cache_folder_follows_journey_cache_dir_then_xdg_then_home(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOURNEY_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "journeymap"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "journeymap"
    monkeypatch.setenv("JOURNEY_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"


def test_a_folder_the_note_cannot_be_remembered_in_does_not_fail_the_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("JOURNEY_CACHE_DIR", str(tmp_path / "file" / "cache"))
    monkeypatch.setattr(cli_common, "STARTED", [3.0])
    server_hint()
    assert HINT in capsys.readouterr().err


@pytest.mark.slow
def test_a_temporary_server_that_does_not_start_in_time_is_one_line_with_the_fix(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update({"JOURNEY_DATABASE_URL": f"sqlite:///{tmp_path / 'j.db'}", "JOURNEY_MAP_FILE": str(EXAMPLE_MAP),
                "JOURNEY_OUTBOX_DIR": str(tmp_path / "outbox"), "PREFECT_HOME": str(tmp_path / "prefect"),
                STARTUP_VARIABLE: "1"})  # a server that takes longer than the time it is given
    done = subprocess.run([sys.executable, "-m", "flows.cli", "run", "--demo", "--as-of", "2026-09-30"], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "the temporary Prefect server did not start within 1 s" in errors[0]
    assert "PREFECT_API_URL=http://127.0.0.1:4200/api" in errors[0]


@pytest.mark.slow
def test_a_command_on_a_temporary_server_says_at_its_end_what_the_server_took(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update({"JOURNEY_DATABASE_URL": f"sqlite:///{tmp_path / 'j.db'}", "JOURNEY_MAP_FILE": str(EXAMPLE_MAP),
                "JOURNEY_OUTBOX_DIR": str(tmp_path / "outbox"), "PREFECT_HOME": str(tmp_path / "prefect"),
                "JOURNEY_CACHE_DIR": str(tmp_path / "cache")})
    done = subprocess.run([sys.executable, "-m", "flows.cli", "discover", "--demo", "--days", "7", "--as-of",
                           "2026-09-30", "--out", str(tmp_path / "proposed.yaml")], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stderr.splitlines()
    assert sum("Starting temporary server on" in line for line in lines) == 1  # the flow ran on the one started
    [said] = [i for i, line in enumerate(lines) if HINT in line]
    assert not any(line.startswith(("note:", "error:")) for line in lines[said + 1:])  # the command's last word
    assert (tmp_path / "cache" / HINT_STAMP).is_file()
