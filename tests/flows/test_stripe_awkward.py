"""Stripe as it really is, through the official library against the fake API: restricted keys that may read only
some endpoints, endpoints an account does not have, and long bursts of errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from prefect import flow
from sqlalchemy import create_engine, func, select

from flows.pipeline import prepare_database
from flows.sources import load_source
from models.mapfile import load_map
from models.sources.stripe.tables import StripeCheckoutSession, StripeSubscription
from models.sync import SourceResult
from models.tables import QualityResultRow
from tests.conftest import example_map_with, journeymap, latest_artifact
from tests.fakes.stripe_api import FakeStripe
from tests.flows.sync_helpers import run_source

AS_OF = dt.date(2026, 9, 30)


@pytest.fixture
def stripe_map(tmp_path: Path) -> Path:
    return example_map_with(tmp_path, sources={"stripe": {"lag_days": 1, "settle_days": 2, "history_days": 10}})


def fill(fake: FakeStripe) -> int:
    """Sessions on the ten days before AS_OF, a refund and a payment intent; returns the sessions."""
    made = 0
    for d in range(1, 11):
        for i in range(4):
            session = fake.add_session(created=dt.datetime.combine(AS_OF - dt.timedelta(days=d), dt.time(9 + i),
                                                                   dt.UTC), customer_email=f"b{d}-{i}@example.com")
            made += 1
    fake.add_payment_intent(created=dt.datetime.combine(AS_OF - dt.timedelta(days=2), dt.time(9), dt.UTC),
                            payment_intent_id=session["payment_intent"], amount=4900)
    fake.add_refund(created=dt.datetime.combine(AS_OF - dt.timedelta(days=1), dt.time(9), dt.UTC),
                    payment_intent=session["payment_intent"])
    fake.add_subscription(created=dt.datetime.combine(AS_OF - dt.timedelta(days=3), dt.time(9), dt.UTC))
    return made


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("JOURNEY_HASH_SALT", "PREFECT_API_URL", "STRIPE_ACCOUNT_ID"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def use(monkeypatch: pytest.MonkeyPatch, fake: FakeStripe, url: str, map_file: Path, key: str) -> None:
    for name, value in {"JOURNEY_DATABASE_URL": url, "JOURNEY_MAP_FILE": str(map_file), "STRIPE_API_KEY": key,
                        "STRIPE_API_BASE": fake.url}.items():
        monkeypatch.setenv(name, value)


def sessions(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        count = int(conn.execute(select(func.count()).select_from(StripeCheckoutSession)).scalar_one())
    engine.dispose()
    return count


def test_a_restricted_key_lands_the_checkouts_and_leaves_out_what_it_may_not_read(
        db_url: str, stripe_map: Path, prefect_api_url: str, environ: pytest.MonkeyPatch) -> None:
    """The README's restricted key reads Checkout Sessions, Products and Events: the other streams are left out
    with one warning naming each missing permission, the checkouts land, and the account still comes from Stripe
    (its refusal of /v1/account names it)."""
    with FakeStripe() as fake:
        made = fill(fake)
        key = fake.restricted_key(["rak_checkout_session_read", "rak_product_read", "rak_event_read"])
        use(environ, fake, db_url, stripe_map, key)
        done = run_source(db_url, str(stripe_map), "stripe", AS_OF)
    assert not done.failure, done.failure
    assert done.account == fake.account_id
    assert set(done.skipped) == {"subscriptions", "refunds", "payment_intents"}
    assert "rak_refund_read" in done.skipped["refunds"]
    assert "rak_payment_intent_read" in done.skipped["payment_intents"]
    warning, = done.warnings
    assert warning.startswith("Stripe: left out subscriptions, refunds, payment intents")
    assert all(p in warning for p in ("rak_subscription_read", "rak_refund_read", "rak_payment_intent_read"))
    assert sessions(db_url) == made


def test_an_endpoint_the_account_does_not_have_is_left_out_like_a_missing_permission(
        db_url: str, stripe_map: Path, prefect_api_url: str, environ: pytest.MonkeyPatch) -> None:
    with FakeStripe() as fake:
        made = fill(fake)
        fake.disable("payment_intents")
        use(environ, fake, db_url, stripe_map, fake.api_key)
        done = run_source(db_url, str(stripe_map), "stripe", AS_OF)
    assert not done.failure, done.failure
    assert list(done.skipped) == ["payment_intents"]
    assert "404" in done.skipped["payment_intents"]
    assert {s.stream for s in done.streams} == {"checkout_sessions", "subscriptions", "refunds"}
    assert sessions(db_url) == made


def test_without_any_word_of_the_account_the_rows_keep_one_account_and_the_run_says_how_to_name_it(
        db_url: str, stripe_map: Path, prefect_api_url: str, environ: pytest.MonkeyPatch) -> None:
    with FakeStripe() as fake:
        fill(fake)
        fake.disable("account")  # no /v1/account, and so no refusal naming the account either
        use(environ, fake, db_url, stripe_map, fake.api_key)
        guessed = run_source(db_url, str(stripe_map), "stripe", AS_OF)
        again = run_source(db_url, str(stripe_map), "stripe", AS_OF)
        environ.setenv("STRIPE_ACCOUNT_ID", "acct_Named")
        named = run_source(db_url, str(stripe_map), "stripe", AS_OF)
    assert guessed.account == again.account
    assert guessed.account
    assert guessed.account.startswith("key_")
    assert any("STRIPE_ACCOUNT_ID" in w for w in guessed.warnings)
    assert named.account == "acct_Named"
    assert not named.warnings


@flow(name="test-stripe-chunk", persist_result=False)
def backfill_chunk(url: str, map_file: str, window: tuple[dt.date, dt.date]) -> SourceResult:
    """One of a backfill's chunks that does not read the whole lists (`snapshots=False`)."""
    journey_map = load_map(Path(map_file))
    engine = prepare_database(url, journey_map)
    try:
        return load_source(engine, journey_map, "stripe", AS_OF, False, window, snapshots=False)
    finally:
        engine.dispose()


def test_a_backfill_chunk_reads_its_window_and_leaves_the_subscriptions_to_the_chunk_that_reads_them(
        db_url: str, stripe_map: Path, prefect_api_url: str, environ: pytest.MonkeyPatch) -> None:
    window = (AS_OF - dt.timedelta(days=4), AS_OF - dt.timedelta(days=2))
    with FakeStripe() as fake:
        fill(fake)
        use(environ, fake, db_url, stripe_map, fake.api_key)
        done = backfill_chunk(db_url, str(stripe_map), window)
        paths = {r.path for r in fake.requests}
    assert not done.failure, done.failure
    assert [(s.stream, s.since, s.until) for s in done.streams] == [
        ("checkout_sessions", *window), ("refunds", *window), ("payment_intents", *window)]
    assert done.streams[0].rows == 12
    assert "/v1/subscriptions" not in paths
    engine = create_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(StripeSubscription)).scalar_one() == 0
    engine.dispose()


@pytest.mark.slow
def test_six_errors_in_a_row_are_waited_out(db_url: str, stripe_map: Path, prefect_api_url: str,
                                            environ: pytest.MonkeyPatch) -> None:
    with FakeStripe() as fake:
        made = fill(fake)
        fake.fail_next(3, 429, retry_after=1)
        fake.fail_next(3, 503, retry_after=1)
        use(environ, fake, db_url, stripe_map, fake.api_key)
        done = run_source(db_url, str(stripe_map), "stripe", AS_OF)
        statuses = [r.status for r in fake.requests[:7]]
    assert statuses == [429, 429, 429, 503, 503, 503, 200]
    assert not done.failure, done.failure
    assert sessions(db_url) == made


@pytest.mark.slow
def test_a_restricted_key_run_exits_0_and_says_what_it_left_out_everywhere(db_url: str, stripe_map: Path,
                                                                          prefect_api_url: str) -> None:
    with FakeStripe() as fake:
        fill(fake)
        key = fake.restricted_key(["rak_checkout_session_read", "rak_product_read", "rak_event_read"])
        env = {"JOURNEY_DATABASE_URL": db_url, "JOURNEY_MAP_FILE": str(stripe_map), "PREFECT_API_URL": prefect_api_url,
               "STRIPE_API_KEY": key, "STRIPE_API_BASE": fake.url}
        done = journeymap("run", "--sources", "stripe", "--as-of", AS_OF.isoformat(), env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert "left out subscriptions, refunds, payment intents" in done.stderr  # the run's output …
    assert "left out subscriptions, refunds, payment intents" in latest_artifact(prefect_api_url, "journey-map")
    engine = create_engine(db_url)  # … its artifact, and the data-quality results
    with engine.connect() as conn:
        streams = dict(conn.execute(select(QualityResultRow.check_name, QualityResultRow.observed).where(
            QualityResultRow.kind == "streams")).all())
    engine.dispose()
    assert set(streams) == {"stripe subscriptions is read", "stripe refunds is read", "stripe payment intents is read"}
    assert "rak_refund_read" in streams["stripe refunds is read"]
