"""The deployments as users run them: a real `prefect server` on a free loopback port, `journeymap setup-prefect`
(the work pool), `prefect deploy --all` from prefect.yaml, a process worker, and a backfill started with dates the
way the UI's custom run sends them (strings) and through the UI itself in a browser; the warehouse then holds
exactly those days. SQLite and PostgreSQL warehouses."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import ROOT
from tests.conftest import chromium as find_chromium

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


def _wait_healthy(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise AssertionError(log.read_text()[-3000:]) from None
            time.sleep(0.5)


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
        _wait_healthy(port, server, home / "server.log")
        for command in ([sys.executable, "-m", "flows.cli", "setup-prefect"],  # the README's steps
                        [PREFECT, "--no-prompt", "deploy", "--all"]):
            done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        worker = _start([PREFECT, "worker", "start", "--pool", "journeymap", "--limit", "4"], env, home / "worker.log")
        yield env
    finally:
        if worker is not None:
            _stop(worker)  # the worker first, then the server it talks to
        _stop(server)


def _run_deployment(env: dict[str, str], name: str, parameters: dict[str, object],
                    job_env: dict[str, str], scheduled: Any = None, timeout: float = 300) -> tuple[str, str, Any]:
    """Start a run of the deployment as the UI does (or as its schedule did, for `scheduled`, an aware datetime)
    and wait for its end; (state, message, flow run id)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.states import Scheduled

    with temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}), get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(name)
        state = Scheduled(scheduled_time=scheduled) if scheduled is not None else None
        run = client.create_flow_run_from_deployment(deployment.id, parameters=parameters,
                                                     job_variables={"env": job_env}, state=state)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = client.read_flow_run(run.id).state
            if state is not None and state.is_final():
                return state.type.value, str(state.message or ""), run.id
            time.sleep(1)
    raise AssertionError(f"{name} did not finish in {timeout:.0f} s")


def test_a_backfill_started_like_the_ui_does_loads_exactly_those_days(deployed: dict[str, str], db_url: str,
                                                                      tmp_path: Path) -> None:
    job_env = {"JOURNEY_DATABASE_URL": db_url, "JOURNEY_MAP_FILE": str(ROOT / "journey.yaml"),
               "JOURNEY_OUTBOX_DIR": str(tmp_path / "outbox")}
    state, message, _ = _run_deployment(deployed, "journey-pipeline/backfill", {
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

    state, message, _ = _run_deployment(deployed, "journey-pipeline/backfill", {"demo": True}, job_env)
    assert state == "FAILED"  # without dates: refused before any work, with the fix
    assert "needs start_date and end_date" in message


def test_a_scheduled_run_that_starts_late_reads_the_window_of_its_own_day(deployed: dict[str, str], db_url: str,
                                                                         tmp_path: Path) -> None:
    """A worker that was down catches up a daily run scheduled for 06:30 on 2026-09-30: it reads the days before
    that day, not before the day it finally runs on; an explicit as_of still wins."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    job_env = {"JOURNEY_DATABASE_URL": db_url, "JOURNEY_MAP_FILE": str(ROOT / "journey.yaml"),
               "JOURNEY_OUTBOX_DIR": str(tmp_path / "outbox")}
    due = dt.datetime(2026, 9, 30, 6, 30, tzinfo=ZoneInfo("Europe/London"))
    state, message, _ = _run_deployment(deployed, "journey-daily/daily", {"sources": ["stripe"], "demo": True},
                                        job_env, scheduled=due)
    assert state == "COMPLETED", message
    assert _last_stripe_day(db_url) == "2026-09-29"
    state, message, _ = _run_deployment(deployed, "journey-daily/daily", {
        "sources": ["stripe"], "demo": True, "as_of": "2026-10-05"}, job_env, scheduled=due)
    assert state == "COMPLETED", message
    assert _last_stripe_day(db_url) == "2026-10-04"


def _last_stripe_day(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as conn:
        day = conn.execute(text("SELECT MAX(created) FROM raw_stripe_checkout_sessions")).scalar()
    engine.dispose()
    return str(day)[:10]


def test_a_fanned_out_backfill_runs_each_chunk_as_a_deployment_run(deployed: dict[str, str], db_url: str,
                                                                   tmp_path: Path) -> None:
    """fan_out: the backfill starts a backfill-chunk run per chunk (a worker takes each), waits for them, maps
    what they loaded, and shows its progress as an artifact."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentUpdate
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
        FlowRunFilter,
        FlowRunFilterParentFlowRunId,
    )
    from prefect.settings import PREFECT_API_URL, temporary_settings

    job_env = {"JOURNEY_DATABASE_URL": db_url, "JOURNEY_MAP_FILE": str(ROOT / "journey.yaml"),
               "JOURNEY_OUTBOX_DIR": str(tmp_path / "outbox")}
    with temporary_settings({PREFECT_API_URL: deployed["PREFECT_API_URL"]}), get_client(sync_client=True) as client:
        chunk = client.read_deployment_by_name("backfill-chunk/backfill-chunk")  # where the pool's workers run it
        client.update_deployment(chunk.id, DeploymentUpdate(job_variables={"env": job_env}))
    state, message, run_id = _run_deployment(deployed, "journey-pipeline/backfill", {
        "start_date": "2026-09-14", "end_date": "2026-09-27", "sources": ["stripe"], "demo": True,
        "fan_out": True, "parallel_chunks": 2}, job_env)
    assert state == "COMPLETED", message
    with temporary_settings({PREFECT_API_URL: deployed["PREFECT_API_URL"]}), get_client(sync_client=True) as client:
        children = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[run_id])))
        progress = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=["backfill-progress"]), flow_run_id=ArtifactFilterFlowRunId(any_=[run_id])))
    assert sorted(c.name for c in children) == ["chunk stripe 2026-09-14..2026-09-20",
                                                "chunk stripe 2026-09-21..2026-09-27"]
    assert {c.deployment_id for c in children} == {chunk.id}
    assert all(c.state is not None and c.state.is_completed() for c in children)
    assert [a.data for a in progress] == [100.0]
    engine = create_engine(db_url)
    with engine.connect() as conn:
        days = conn.execute(text("SELECT COUNT(DISTINCT substr(CAST(created AS VARCHAR(32)), 1, 10)) "
                                 "FROM raw_stripe_checkout_sessions")).scalar()
        loaded_by = set(conn.execute(text("SELECT flow_run FROM backfill_chunks")).scalars())
        mapped = conn.execute(text("SELECT COUNT(DISTINCT date) FROM touchpoint_daily WHERE touchpoint_id = "
                                   "'checkout' AND date BETWEEN '2026-09-14' AND '2026-09-27'")).scalar()
    engine.dispose()
    assert days == 14
    assert loaded_by == {str(c.id) for c in children}  # each chunk recorded by the run that loaded it
    assert mapped == 14  # and the backfill mapped what its chunk runs loaded


def _newest_run(env: dict[str, str], deployment_id: Any) -> str:
    """The id of the deployment's newest flow run (the one the form just created)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}), get_client(sync_client=True) as client:
        runs = client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
                                     sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=1)
    assert runs, "the form created no flow run"
    return str(runs[0].id)


def _date(page: Any, name: str, day: str) -> None:
    """Set a date parameter through the form's date picker, typing the day into its date field."""
    from playwright.sync_api import expect

    prop = page.locator("div.schema-form-property").filter(has_text=f"{name} (Optional)")
    prop.get_by_role("button", name="date", exact=True).click()
    prop.get_by_text("Select date").click()
    field = page.locator("input[type=date]:visible").last
    expect(field).to_be_visible()
    field.fill(day)
    page.locator("button:visible", has_text="Apply").click()
    expect(prop.locator(".p-date-button__value")).not_to_have_text("Select date")  # the form took the day


def _submit(page: Any, tmp_path: Path) -> None:
    """Submit the run form and wait to be back on the deployment (the run is scheduled). On a loaded machine the
    UI may give up on a slow answer with its "Something went wrong" toast, the form still filled in: submit
    again, as a user would (twice at most)."""
    back = re.compile(r"/deployments/deployment/[^/?]+(\?.*)?$")
    toasts = page.get_by_text("Something went wrong")
    for _ in range(3):
        before = toasts.count()
        page.get_by_role("button", name="Submit").click()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if back.search(page.url):
                return
            if toasts.count() > before:  # a new one: this submit failed
                page.wait_for_timeout(5000)
                break
            page.wait_for_timeout(500)
        else:
            break
    page.screenshot(path=str(tmp_path / "form.png"), full_page=True)
    pytest.fail(f"the form did not submit (see {tmp_path}/form.png)")


def test_a_user_starts_a_backfill_from_the_prefect_ui(deployed: dict[str, str], db_url: str,
                                                      tmp_path: Path) -> None:
    """Deployments › backfill › Run › Custom run: two dates, one source, the demo switch, Submit; the run
    completes and the warehouse holds exactly those days."""
    from playwright.sync_api import expect, sync_playwright
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentUpdate
    from prefect.settings import PREFECT_API_URL, temporary_settings

    chromium = find_chromium()
    expect.set_options(timeout=30_000)  # a loaded CI machine renders the form slowly
    with temporary_settings({PREFECT_API_URL: deployed["PREFECT_API_URL"]}), get_client(sync_client=True) as client:
        backfill = client.read_deployment_by_name("journey-pipeline/backfill")
        client.update_deployment(backfill.id, DeploymentUpdate(job_variables={"env": {
            "JOURNEY_DATABASE_URL": db_url, "JOURNEY_MAP_FILE": str(ROOT / "journey.yaml"),
            "JOURNEY_OUTBOX_DIR": str(tmp_path / "outbox")}}))
    ui = deployed["PREFECT_API_URL"].removesuffix("/api")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        page.goto(f"{ui}/deployments")
        page.get_by_role("link", name="backfill").first.click()
        page.get_by_role("button", name="Run", exact=True).click()
        page.get_by_text("Custom run").click()
        _date(page, "start_date", "2026-09-08")
        _date(page, "end_date", "2026-09-10")
        sources = page.locator("div.schema-form-property").filter(has_text="sources (Optional)")
        sources.get_by_role("button", name="list", exact=True).click()
        sources.locator("button.p-select-button__control").click()
        page.keyboard.press("ArrowDown")  # opens the list of the enum's values
        option = page.locator("[role=option]:visible, li:visible", has_text="stripe").first
        expect(option).to_be_visible()
        option.click()
        page.keyboard.press("Escape")
        page.get_by_text("Parameters", exact=True).click()
        expect(sources.locator(".p-select-button__value")).to_contain_text("stripe")
        demo = page.get_by_role("switch").first
        demo.click()
        expect(demo).to_have_attribute("aria-checked", "true")
        _submit(page, tmp_path)
        run_id = _newest_run(deployed, backfill.id)
        page.goto(f"{ui}/runs/flow-run/{run_id}")
        deadline = time.monotonic() + 240
        while page.locator(".state-badge").filter(has_text="Completed").count() == 0:  # the run's own page
            if time.monotonic() > deadline or page.get_by_text("Failed", exact=True).count():
                page.screenshot(path=str(tmp_path / "runs.png"), full_page=True)
                pytest.fail(f"the run did not show Completed (see {tmp_path}/runs.png): {page.url}")
            page.wait_for_timeout(2000)
            page.reload()
        browser.close()
    engine = create_engine(db_url)
    with engine.connect() as conn:
        days = conn.execute(text("SELECT DISTINCT substr(CAST(created AS VARCHAR(32)), 1, 10) "
                                 "FROM raw_stripe_checkout_sessions ORDER BY 1")).scalars().all()
    engine.dispose()
    assert days == ["2026-09-08", "2026-09-09", "2026-09-10"]


def test_setup_prefect_is_idempotent_and_runs_read_the_secret_blocks_it_saves(
        deployed: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from prefect.events.worker import EventsWorker
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.settings import load_settings
    from tests.conftest import journeymap

    env = {**deployed, "JOURNEY_HASH_SALT": "pepper-from-the-setup", "JOURNEY_DATABASE_URL": f"sqlite:///{tmp_path}/w.db"}
    first = journeymap("setup-prefect", env=env)
    again = journeymap("setup-prefect", env=env)
    assert first.returncode == 0, first.stderr[-2000:]
    assert again.returncode == 0, again.stderr[-2000:]
    assert "work pool 'journeymap': already there" in again.stdout  # created by the fixture: left as it is
    for name, slots in (("ga4-api", 10), ("mailchimp-api", 10), ("stripe-api", 10)):
        assert f"concurrency limit '{name}': already there ({slots} slots)" in again.stdout
    assert "secret block 'journey-hash-salt': saved from JOURNEY_HASH_SALT" in again.stdout
    assert "pepper-from-the-setup" not in first.stdout + again.stdout  # values are never shown

    monkeypatch.delenv("JOURNEY_HASH_SALT", raising=False)  # where a run has no variable, the block answers
    monkeypatch.setenv("PREFECT_API_URL", deployed["PREFECT_API_URL"])
    with temporary_settings({PREFECT_API_URL: deployed["PREFECT_API_URL"]}):
        salt = load_settings().journey_hash_salt
        EventsWorker.drain_all()  # a block's load is an event: sent while this module's server is up
    assert salt is not None
    assert salt.get_secret_value() == "pepper-from-the-setup"
    unset = journeymap("setup-prefect", env={k: v for k, v in env.items() if k != "PREFECT_API_URL"} | {
        "PREFECT_API_URL": ""})
    assert unset.returncode == 2
    assert "PREFECT_API_URL is not set" in unset.stderr


def test_setup_prefect_saves_each_business_s_own_secrets_and_its_google_project_limit(
        deployed: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from prefect.events.worker import EventsWorker
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.settings import load_settings
    from tests.conftest import EXAMPLE_MAP, journeymap

    maps = tmp_path / "maps"
    maps.mkdir()
    for business in ("acme", "bolt"):
        (maps / f"{business}.yaml").write_text(EXAMPLE_MAP.read_text(encoding="utf-8"), encoding="utf-8")
    key = tmp_path / "acme-key.json"
    key.write_text('{"type": "service_account", "project_id": "acme-analytics"}', encoding="utf-8")
    env = {**deployed, "JOURNEY_MAPS_DIR": str(maps), "JOURNEY_DATABASE_URL": f"sqlite:///{tmp_path}/w.db",
           "ACME_STRIPE_API_KEY": "sk_test_acme_only", "ACME_GA4_CREDENTIALS_FILE": str(key)}
    done = journeymap("setup-prefect", env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "concurrency limit 'google-project-acme-analytics': created (10 slots)" in done.stdout
    assert "secret block 'acme-stripe-api-key': saved from ACME_STRIPE_API_KEY" in done.stdout
    assert "secret block 'acme-ga4-credentials': saved from ACME_GA4_CREDENTIALS_FILE" in done.stdout
    assert "bolt-stripe-api-key" not in done.stdout  # bolt has no key of its own here
    assert "sk_test_acme_only" not in done.stdout

    for name in ("ACME_STRIPE_API_KEY", "STRIPE_API_KEY", "ACME_GA4_CREDENTIALS_FILE", "GA4_CREDENTIALS_FILE"):
        # where a run has no variable (a container, another machine), the block answers
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JOURNEY_MAPS_DIR", str(maps))
    monkeypatch.setenv("PREFECT_API_URL", deployed["PREFECT_API_URL"])
    with temporary_settings({PREFECT_API_URL: deployed["PREFECT_API_URL"]}):
        acme, bolt = load_settings("acme"), load_settings("bolt")
        EventsWorker.drain_all()  # a block's load is an event: sent while this module's server is up
    assert acme.stripe_api_key is not None
    assert acme.stripe_api_key.get_secret_value() == "sk_test_acme_only"
    assert bolt.stripe_api_key is None or bolt.stripe_api_key.get_secret_value() != "sk_test_acme_only"
    assert acme.ga4_credentials_file is not None  # the key, from its block, as a file only this user reads
    assert acme.ga4_credentials_file != key
    assert acme.ga4_credentials_file.read_text(encoding="utf-8") == key.read_text(encoding="utf-8")
    assert acme.ga4_credentials_file.stat().st_mode & 0o077 == 0
