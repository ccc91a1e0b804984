"""Shared fixtures: every database test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

PG_ENV = "JOURNEY_TEST_DATABASE_URL"
ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_MAP = ROOT / "journey.yaml"
_pg_skips: list[str] = []


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty warehouse: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'journey.db'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set: in CI every PostgreSQL test must run")
        pytest.skip(f"set {PG_ENV} to run the PostgreSQL variant")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a fresh, migrated warehouse (SQLite and PostgreSQL)."""
    from models.db import make_engine, migrate

    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def prefect_api_url() -> Iterator[str]:
    """One Prefect test server for the whole session (it takes ~10 s to start); its API URL."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        url = PREFECT_API_URL.value()
        assert url, "the Prefect test harness did not set an API URL"
        yield url
        # what is still queued for a server that is gone (a test module's own) must not hold up the session's end
        EventsWorker.drain_all(timeout=30)
        APILogWorker.drain_all(timeout=30)


def journeymap(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the `journeymap` command as a user would, in a process of its own (Slack messages it cannot send go
    to a temporary folder unless `env` names one)."""
    outbox = {"JOURNEY_OUTBOX_DIR": tempfile.mkdtemp(prefix="journeymap-outbox-")}
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], env={**os.environ, **outbox, **env}, cwd=ROOT,
                          capture_output=True, text=True, timeout=600, check=False)


def latest_artifact(api_url: str, key: str) -> str:
    """The Markdown of the newest artifact with that key on the Prefect server."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
                                      sort=ArtifactSort.CREATED_DESC, limit=1)
    assert found, f"the run published no {key} artifact"
    return str(found[0].data)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow end-to-end tests first (in file order), the quick ones after. Handed out two at a time
    (`--maxschedchunk 2`), the slow ones alternate between the two workers and the quick ones fill in, so both
    end together instead of one running long tests alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "postgresql" in report.nodeid:
        _pg_skips.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CI") and _pg_skips:
        print(f"\n{len(_pg_skips)} PostgreSQL test(s) were skipped; in CI that is a failure:")
        for nodeid in _pg_skips:
            print(f"  {nodeid}")
        session.exitstatus = 1


def example_map_with(tmp_path: Path, **changes: Any) -> Path:
    """The example journey.yaml with top-level sections replaced (e.g. a short `sources:` history, so that a run
    takes seconds), written into `tmp_path`."""
    data = yaml.safe_load(EXAMPLE_MAP.read_text(encoding="utf-8"))
    for key, value in changes.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    path = tmp_path / "journey.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def chromium() -> str:
    """Debian's Chromium for the browser tests; in CI they must run, so a missing one fails them there."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("Chromium is not installed: in CI the browser test must run (apt-get install -y chromium)")
    pytest.skip("no Chromium found (apt-get install -y chromium) for the browser test")
