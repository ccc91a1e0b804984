"""The command line and the Prefect server it needs: a temporary one gets time enough to start on a small machine,
says what it waits for, and one that does not start is one line with the fix, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli_common import STARTUP_SECONDS, STARTUP_VARIABLE, prefect_api
from tests.conftest import EXAMPLE_MAP, ROOT


def test_a_temporary_server_gets_time_enough_and_the_user_is_told(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, temporary_settings

    monkeypatch.delenv(STARTUP_VARIABLE, raising=False)
    assert PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value() < STARTUP_SECONDS  # Prefect's own is too short
    with temporary_settings(restore_defaults={PREFECT_API_URL}), prefect_api():
        assert PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value() == STARTUP_SECONDS
    assert f"Starting a temporary Prefect server for this command (up to {STARTUP_SECONDS} s" in capsys.readouterr().err
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:4200/api"}), prefect_api():  # a running server
        assert PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value() != STARTUP_SECONDS
    assert "temporary" not in capsys.readouterr().err


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
