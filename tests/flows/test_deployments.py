"""The deployments as users run them: a real `prefect server` on a free loopback port, the work pool, `prefect
deploy --all` from prefect.yaml, a process worker, and a backfill triggered with dates the way the UI's custom run
sends them (strings); the warehouse then holds exactly those days. SQLite and PostgreSQL warehouses."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import ROOT

pytestmark = pytest.mark.slow
BIN = Path(os.environ.get("VIRTUAL_ENV") or ROOT / ".venv") / "bin"
PREFECT = str(BIN / "prefect") if (BIN / "prefect").exists() else "prefect"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A background process in a process group of its own (stopped with SIGINT, as Prefect expects)."""
    return subprocess.Popen(args, env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A Prefect server with Journeymap deployed and a worker polling its pool; the environment to reach it."""
    home = tmp_path_factory.mktemp("prefect")
    port = _free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_WORKER_QUERY_SECONDS": "1",
           "PREFECT_WORKER_PREFETCH_SECONDS": "1", "JOURNEYMAP_HOME": str(ROOT)}
    env.pop("PREFECT_PROFILE", None)
    server = _start([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env,
                    home / "server.log")
    worker = None
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError((home / "server.log").read_text()[-3000:]) from None
                time.sleep(0.5)
        for command in ([PREFECT, "work-pool", "create", "journeymap", "--type", "process"],
                        [PREFECT, "--no-prompt", "deploy", "--all"]):
            done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        worker = _start([PREFECT, "worker", "start", "--pool", "journeymap", "--limit", "2"], env, home / "worker.log")
        yield env
    finally:
        if worker is not None:
            _stop(worker)  # the worker first, then the server it talks to
        _stop(server)


def _run_deployment(env: dict[str, str], name: str, parameters: dict[str, object],
                    job_env: dict[str, str]) -> tuple[str, str]:
    """Start a run of the deployment as the UI does and wait for its end; (state, message)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}), get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(name)
        run = client.create_flow_run_from_deployment(deployment.id, parameters=parameters,
                                                     job_variables={"env": job_env})
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            state = client.read_flow_run(run.id).state
            if state is not None and state.is_final():
                return state.type.value, str(state.message or "")
            time.sleep(1)
    raise AssertionError(f"{name} did not finish in 300 s")


def test_a_backfill_started_like_the_ui_does_loads_exactly_those_days(deployed: dict[str, str], db_url: str,
                                                                      tmp_path: Path) -> None:
    job_env = {"JOURNEY_DATABASE_URL": db_url, "JOURNEY_MAP_FILE": str(ROOT / "journey.yaml"),
               "JOURNEY_OUTBOX_DIR": str(tmp_path / "outbox")}
    state, message = _run_deployment(deployed, "journey-pipeline/backfill", {
        "start_date": "2026-09-01", "end_date": "2026-09-07", "sources": ["stripe"], "demo": True}, job_env)
    assert state == "COMPLETED", message
    engine = create_engine(db_url)
    with engine.connect() as conn:
        days = conn.execute(text("SELECT DISTINCT substr(CAST(created AS VARCHAR(32)), 1, 10) "
                                 "FROM raw_stripe_checkout_sessions ORDER BY 1")).scalars().all()
        ga4 = conn.execute(text("SELECT COUNT(*) FROM raw_ga4_rows")).scalar()
    engine.dispose()
    assert days == [f"2026-09-0{d}" for d in range(1, 8)]
    assert ga4 == 0  # only the source asked for

    state, message = _run_deployment(deployed, "journey-pipeline/backfill", {"demo": True}, job_env)
    assert state == "FAILED"  # without dates: refused before any work, with the fix
    assert "needs start_date and end_date" in message
