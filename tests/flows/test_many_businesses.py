"""Many businesses on two machines: one Prefect server, the deployments of prefect.yaml, and two process workers
each in a working directory of its own; the `daily` deployment runs four demo businesses (one `business` run
each, taken by both workers), and each business's part of the warehouse then holds what a single-business run
of its map leaves. SQLite and PostgreSQL warehouses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from models.db import business_url, make_engine
from tests.conftest import ROOT, example_map_with
from tests.flows.test_concurrent_runs import dump
from tests.flows.test_deployments import PREFECT, _free_port, _run_deployment, _start, _stop, _wait_healthy

pytestmark = pytest.mark.slow
BUSINESSES = ("acme", "bolt", "cove", "dune")
AS_OF = "2026-09-30"
PROJECT = ("flows", "connectors", "models", "checks", "reports", "journey.yaml", "prefect.yaml", "pyproject.toml")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A Prefect server with the deployments of prefect.yaml; the environment to reach it."""
    home = tmp_path_factory.mktemp("prefect-many")
    port = _free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_WORKER_QUERY_SECONDS": "1",
           "PREFECT_WORKER_PREFETCH_SECONDS": "1", "JOURNEYMAP_HOME": str(ROOT)}
    env.pop("PREFECT_PROFILE", None)
    process = _start([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env,
                     home / "server.log")
    try:
        _wait_healthy(port, process, home / "server.log")
        for command in ([sys.executable, "-m", "flows.cli", "setup-prefect"],
                        [PREFECT, "--no-prompt", "deploy", "--all"]):
            done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=180,
                                  check=False)
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        yield env
    finally:
        _stop(process)


def _machine(root: Path, name: str) -> Path:
    """A working directory of its own holding the project, as a second machine's checkout would."""
    home = root / name
    home.mkdir()
    for part in PROJECT:
        source = ROOT / part
        (shutil.copytree if source.is_dir() else shutil.copy)(source, home / part)
    return home


@pytest.fixture
def workers(server: dict[str, str], db_url: str, tmp_path: Path) -> Iterator[tuple[dict[str, str], list[Path]]]:
    """Two process workers, two slots each, in two working directories, sharing the maps, the outbox folder and
    the warehouse; the job environment and the workers' logs."""
    maps = tmp_path / "maps"
    maps.mkdir()
    short = {"lag_days": 2, "lookback_days": 3, "history_days": 21}
    for business in BUSINESSES:
        made = example_map_with(tmp_path, sources={s: short for s in ("ga4", "mailchimp", "stripe", "surveys")})
        made.rename(maps / f"{business}.yaml")
    shared = {"JOURNEY_DATABASE_URL": db_url, "JOURNEY_MAPS_DIR": str(maps),
              "JOURNEY_OUTBOX_DIR": str(tmp_path / "outbox")}
    started, logs = [], []
    try:
        for name in ("machine-1", "machine-2"):
            home = _machine(tmp_path, name)
            log = tmp_path / f"{name}.log"
            env = {**server, **shared, "JOURNEYMAP_HOME": str(home)}
            started.append(subprocess.Popen([PREFECT, "worker", "start", "--pool", "journeymap", "--limit", "2"],
                                            env=env, cwd=home, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                                            start_new_session=True))
            logs.append(log)
        yield shared, logs
    finally:
        for process in started:
            _stop(process)
        _drop_business_schemas(db_url)


Rows = dict[str, list[tuple[object, ...]]]
_ALONE: list[Rows] = []


def alone(server: dict[str, str], factory: pytest.TempPathFactory, map_file: Path) -> Rows:
    """The warehouse a single-business run of the same map leaves (run once for both databases' variants)."""
    if not _ALONE:
        folder = factory.mktemp("alone")
        env = {**os.environ, "JOURNEY_DATABASE_URL": f"sqlite:///{folder / 'alone.db'}",
               "PREFECT_API_URL": server["PREFECT_API_URL"], "JOURNEY_MAP_FILE": str(folder / "journey.yaml"),
               "JOURNEY_OUTBOX_DIR": str(folder / "outbox")}
        shutil.copy(map_file, folder / "journey.yaml")
        env.pop("JOURNEY_MAPS_DIR", None)
        done = subprocess.run([sys.executable, "-m", "flows.cli", "run", "--demo", "--as-of", AS_OF], env=env,
                              cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        _ALONE.append(dump(f"sqlite:///{folder / 'alone.db'}"))
    return _ALONE[0]


def test_the_daily_run_of_four_businesses_on_two_workers_leaves_what_each_alone_leaves(
        server: dict[str, str], workers: tuple[dict[str, str], list[Path]], db_url: str, tmp_path: Path,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    shared, logs = workers
    state, message, parent = _run_deployment(server, "journey-daily/daily", {"demo": True, "as_of": AS_OF}, shared,
                                             timeout=900)
    assert state == "COMPLETED", message + "".join(log.read_text()[-2000:] for log in logs)

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: server["PREFECT_API_URL"]}), get_client(sync_client=True) as client:
        children = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent])))
    by_business = {run.parameters.get("business"): run for run in children if run.deployment_id}
    assert sorted(by_business) == sorted(BUSINESSES)
    assert all(run.state is not None and run.state.is_completed() for run in by_business.values())
    taken = [{str(run.id) for run in by_business.values() if str(run.id) in log.read_text()} for log in logs]
    assert all(taken), f"each worker takes business runs: {taken}"

    expected = alone(server, tmp_path_factory, Path(shared["JOURNEY_MAPS_DIR"]) / "acme.yaml")
    assert sum(len(rows) for rows in expected.values()) > 1000
    for business in BUSINESSES:
        assert dump(business_url(db_url, business)) == expected, business
    for business in BUSINESSES:  # each published its own map
        assert (tmp_path / "outbox" / business / "journey-map.html").is_file()


def _drop_business_schemas(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        return
    engine = make_engine(db_url)
    with engine.begin() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar()
        for business in BUSINESSES:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}_{business}" CASCADE'))
    engine.dispose()
