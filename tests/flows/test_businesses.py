"""Many businesses, one warehouse: what `--business ID` resolves to (map, part of the warehouse, outbox, own
accounts, secrets and Slack channel), and that each business's part is its own on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text

from flows.settings import SettingsError, load_settings
from models.db import DatabaseConfigError, business_url, make_engine, migrate
from models.lock import warehouse_lock
from tests.conftest import EXAMPLE_MAP


@pytest.fixture
def maps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two businesses' maps in JOURNEY_MAPS_DIR, a SQLite warehouse, and no variable of the environment leaking in."""
    folder = tmp_path / "maps"
    folder.mkdir()
    for business in ("acme", "bolt-eu"):
        shutil.copy(EXAMPLE_MAP, folder / f"{business}.yaml")
    for name in ("GA4_PROPERTY_ID", "STRIPE_API_KEY", "SLACK_CHANNEL", "SLACK_BOT_TOKEN", "PREFECT_API_URL",
                 "JOURNEY_BUSINESS", "JOURNEY_MAP_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JOURNEY_MAPS_DIR", str(folder))
    monkeypatch.setenv("JOURNEY_DATABASE_URL", f"sqlite:///{tmp_path}/journey.db")
    monkeypatch.setenv("JOURNEY_OUTBOX_DIR", str(tmp_path / "outbox"))
    return folder


def test_a_business_has_its_own_map_warehouse_and_outbox(maps: Path, tmp_path: Path) -> None:
    one = load_settings()
    acme = load_settings("acme")
    assert one.journey_business is None
    assert one.journey_map_file == Path("journey.yaml")
    assert acme.journey_business == "acme"
    assert acme.journey_map_file == maps / "acme.yaml"
    assert acme.journey_database_url == f"sqlite:///{tmp_path}/journey-acme.db"
    assert acme.journey_outbox_dir == tmp_path / "outbox" / "acme"


def test_the_business_variable_names_the_business_of_every_run(maps: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOURNEY_BUSINESS", "bolt-eu")
    assert load_settings().journey_map_file == maps / "bolt-eu.yaml"
    assert load_settings("acme").journey_map_file == maps / "acme.yaml"  # an explicit business wins


def test_accounts_and_channel_are_a_business_s_own_and_the_rest_is_shared(
        maps: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GA4_PROPERTY_ID", "111")  # the single map's property: never another business's
    monkeypatch.setenv("SLACK_CHANNEL", "#everyone")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-shared")  # one Slack app for every business
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_shared")
    monkeypatch.setenv("ACME_GA4_PROPERTY_ID", "222")
    monkeypatch.setenv("ACME_SLACK_CHANNEL", "#acme-journey")
    monkeypatch.setenv("BOLT_EU_STRIPE_API_KEY", "sk_test_bolt")
    acme, bolt = load_settings("acme"), load_settings("bolt-eu")
    assert (acme.ga4_property_id, acme.slack_channel) == ("222", "#acme-journey")
    assert (bolt.ga4_property_id, bolt.slack_channel) == (None, None)
    assert acme.slack_bot_token is not None
    assert acme.slack_bot_token.get_secret_value() == "xoxb-shared"
    assert acme.stripe_api_key is not None
    assert acme.stripe_api_key.get_secret_value() == "sk_test_shared"
    assert bolt.stripe_api_key is not None
    assert bolt.stripe_api_key.get_secret_value() == "sk_test_bolt"


def test_a_business_without_a_map_is_refused_naming_the_file_and_the_businesses_there(maps: Path) -> None:
    with pytest.raises(SettingsError) as missing:
        load_settings("acme-uk")
    assert f"there is no map {maps / 'acme-uk.yaml'}" in str(missing.value)
    assert "the businesses there are acme, bolt-eu" in str(missing.value)
    with pytest.raises(SettingsError, match="lower-case letters, digits and dashes"):
        load_settings("Acme Ltd")


def test_business_urls() -> None:
    assert business_url("sqlite:////data/journey.db", "acme") == "sqlite:////data/journey-acme.db"
    assert business_url("postgresql+psycopg2://u@h/db", "bolt-eu") == \
        "postgresql+psycopg2://u@h/db?options=-csearch_path%3Djourney_bolt_eu"
    assert business_url("postgresql+psycopg2://u@h/db?options=-csearch_path%3Dprod", "acme") == \
        "postgresql+psycopg2://u@h/db?options=-csearch_path%3Dprod_acme"
    with pytest.raises(DatabaseConfigError, match="in-memory"):
        business_url("sqlite://", "acme")


def test_each_business_has_its_own_tables_and_run_lock(db_url: str) -> None:
    """Two businesses of one warehouse: migrated apart (a PostgreSQL schema or a SQLite file each, created on
    first use), rows of one never seen by the other, and one's run lock does not hold up the other's."""
    engines = {b: make_engine(business_url(db_url, b)) for b in ("acme", "bolt-eu")}
    same = make_engine(business_url(db_url, "acme"))
    try:
        for engine in engines.values():
            migrate(engine)
        with engines["acme"].begin() as conn:
            conn.execute(text("INSERT INTO annotations (touchpoint_id, date, note) VALUES ('tp', '2026-09-01', 'x')"))
        with engines["bolt-eu"].connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM annotations")).scalar() == 0
            assert "raw_ga4_rows" in inspect(conn).get_table_names()
        with same.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM annotations")).scalar() == 1
        order: list[str] = []
        waited: list[float] = []

        def holder(engine: Engine, name: str) -> None:
            with warehouse_lock(engine, waited.append if name == "acme again" else None, poll=0.05):
                order.append(name)
        with warehouse_lock(engines["acme"]):
            threads = [threading.Thread(target=holder, args=(same, "acme again")),
                       threading.Thread(target=holder, args=(engines["bolt-eu"], "bolt-eu"))]
            for thread in threads:
                thread.start()
            threads[1].join(timeout=20)
            deadline = time.monotonic() + 20
            while not waited and time.monotonic() < deadline:  # until the same business's holder is waiting
                time.sleep(0.05)
            assert order == ["bolt-eu"]  # another business went on; the same one waits
            assert waited, "a second run of the same business waits for its lock"
            order.append("acme done")
        threads[0].join(timeout=20)
        assert order == ["bolt-eu", "acme done", "acme again"]
    finally:
        for engine in (*engines.values(), same):
            engine.dispose()
        if db_url.startswith("postgresql"):
            admin = make_engine(db_url)
            with admin.begin() as conn:
                schema = conn.execute(text("SELECT current_schema()")).scalar()
                for business in ("acme", "bolt_eu"):
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}_{business}" CASCADE'))
            admin.dispose()


def test_google_sources_share_their_project_s_limit_and_the_others_only_their_api_s(
        maps: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.chunks import limits_of

    key = tmp_path / "key.json"
    key.write_text(json.dumps({"type": "service_account", "project_id": "agency-analytics"}))
    monkeypatch.setenv("ACME_GA4_CREDENTIALS_FILE", str(key))
    acme, bolt = load_settings("acme"), load_settings("bolt-eu")
    assert limits_of("ga4", acme) == [("ga4-api", 10), ("google-project-agency-analytics", 10)]
    assert limits_of("search_console", acme)[1] == ("google-project-agency-analytics", 10)
    assert limits_of("ga4", bolt) == [("ga4-api", 10)]  # Application Default Credentials: no project known here
    assert limits_of("stripe", acme) == [("stripe-api", 10)]


def test_the_daily_run_refuses_a_business_without_a_map_before_starting_any() -> None:
    from flows.daily import choose

    assert choose(None, ["acme", "bolt"], "maps") == ["acme", "bolt"]
    assert choose(["bolt", "bolt"], ["acme", "bolt"], "maps") == ["bolt"]
    with pytest.raises(ValueError, match=r"^businesses zed: ") as refused:
        choose(["zed", "acme"], ["acme", "bolt"], "maps")
    assert str(refused.value) == "businesses zed: no map maps/<id>.yaml for them; the businesses there are acme, bolt"


def test_a_business_s_secret_comes_from_its_variable_its_block_the_shared_variable_the_shared_block(
        maps: Path, prefect_api_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.blocks.system import Secret

    monkeypatch.setenv("PREFECT_API_URL", prefect_api_url)
    name = f"z{uuid.uuid4().hex[:8]}"  # a business of this test alone: the session's server is shared
    shutil.copy(EXAMPLE_MAP, maps / f"{name}.yaml")
    Secret(value="sk_test_block_shared").save("stripe-api-key", overwrite=True)
    assert load_settings(name).stripe_api_key.get_secret_value() == "sk_test_block_shared"  # type: ignore[union-attr]
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_variable_shared")
    assert load_settings(name).stripe_api_key.get_secret_value() == "sk_test_variable_shared"  # type: ignore[union-attr]
    Secret(value="sk_test_block_own").save(f"{name}-stripe-api-key", overwrite=True)
    assert load_settings(name).stripe_api_key.get_secret_value() == "sk_test_block_own"  # type: ignore[union-attr]
    monkeypatch.setenv(f"{name.upper()}_STRIPE_API_KEY", "sk_test_variable_own")
    assert load_settings(name).stripe_api_key.get_secret_value() == "sk_test_variable_own"  # type: ignore[union-attr]
    assert load_settings().stripe_api_key.get_secret_value() == "sk_test_variable_shared"  # type: ignore[union-attr]


def test_a_server_that_cannot_answer_is_named_with_the_setting(maps: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    nowhere = "http://127.0.0.1:9/api"  # nothing listens there
    monkeypatch.setenv("PREFECT_API_URL", nowhere)
    with temporary_settings({PREFECT_API_URL: nowhere, PREFECT_CLIENT_MAX_RETRIES: 0}), pytest.raises(
            SettingsError, match=r"^SLACK_BOT_TOKEN is not set, and the Prefect Secret blocks could not be listed "
                                 r"from PREFECT_API_URL \("):
        load_settings("acme")


@pytest.mark.slow
def test_two_businesses_running_at_once_share_their_api_s_global_limit(
        db_url: str, tmp_path: Path, prefect_api_url: str) -> None:
    """Two businesses' daily runs started together read the same API side by side; with the API's global
    concurrency limit at one slot on the server, one waits for the other's sync (whichever worker runs them)."""
    import os
    import subprocess
    import sys

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    from tests.conftest import ROOT, example_map_with
    from tests.fakes.stripe_api import FakeStripe

    maps = tmp_path / "maps"
    maps.mkdir()
    made = example_map_with(tmp_path, sources={"stripe": {"history_days": 20, "lookback_days": 2, "concurrency": 1}})
    for business in ("acme", "bolt"):
        shutil.copy(made, maps / f"{business}.yaml")
    as_of = dt.date(2026, 9, 30)

    def together(fake: FakeStripe) -> int:
        env = {**os.environ, "JOURNEY_DATABASE_URL": db_url, "JOURNEY_MAPS_DIR": str(maps),
               "PREFECT_API_URL": prefect_api_url, "JOURNEY_OUTBOX_DIR": str(tmp_path / "outbox"),
               "STRIPE_API_BASE": fake.url, "ACME_STRIPE_API_KEY": fake.api_key, "BOLT_STRIPE_API_KEY": fake.api_key}
        runs = [subprocess.Popen([sys.executable, "-m", "flows.cli", "run", "--sources", "stripe", "--as-of",
                                  as_of.isoformat(), "--business", business], env=env, cwd=ROOT,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                for business in ("acme", "bolt")]
        for run in runs:
            _, err = run.communicate(timeout=600)
            assert run.returncode == 0, err[-3000:]
        return fake.max_concurrent

    def fake_stripe() -> FakeStripe:
        fake = FakeStripe()
        for d in range(20):
            day = as_of - dt.timedelta(days=d + 1)
            fake.add_session(created=dt.datetime.combine(day, dt.time(9), dt.UTC), product_id="prod_course",
                             product_name="Sourdough Masterclass", customer_email=f"c{d}@example.com")
        fake.latency = 0.4  # each read takes seconds: two runs started together surely overlap
        return fake

    with fake_stripe() as fake:
        free = together(fake)
    with get_client(sync_client=True) as client:
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name="stripe-api", limit=1))
        try:
            with fake_stripe() as fake:
                capped = together(fake)
        finally:
            client.delete_global_concurrency_limit_by_name("stripe-api")
    assert free == 2  # each reads one request at a time, and the two went on side by side
    assert capped == 1


def test_the_daily_run_of_the_one_map_ends_as_its_run_ends(db_url: str, tmp_path: Path, prefect_api_url: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.daily import daily
    from flows.sources import Source

    map_file = tmp_path / "journey.yaml"
    shutil.copy(EXAMPLE_MAP, map_file)
    for name in ("STRIPE_API_KEY", "JOURNEY_BUSINESS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JOURNEY_MAPS_DIR", str(tmp_path / "no-maps"))  # one map: no folder of maps
    monkeypatch.setenv("JOURNEY_MAP_FILE", str(map_file))
    monkeypatch.setenv("JOURNEY_DATABASE_URL", db_url)
    monkeypatch.setenv("JOURNEY_OUTBOX_DIR", str(tmp_path / "outbox"))
    as_of = dt.date(2026, 9, 30)
    done = daily(sources=[Source("stripe")], as_of=as_of, demo=True, return_state=True)
    assert done.is_completed()
    assert done.result() == {"": "Completed"}
    refused = daily(sources=[Source("stripe")], as_of=as_of, return_state=True)  # no key: nothing can be read
    assert refused.is_failed()
    assert "STRIPE_API_KEY" in str(refused.message)
