"""Backfills in chunks: the plan, a killed backfill that resumes with the chunks it is missing, and the API's global
concurrency limit holding chunks back — against the fake Stripe API, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from flows.chunks import Chunk, connections_for, plan_chunks, settled
from models.mapfile import load_map
from tests.conftest import EXAMPLE_MAP, ROOT, example_map_with, journeymap
from tests.fakes.stripe_api import FakeStripe

MON = dt.date(2026, 8, 3)  # a Monday
WEEKS = 4


def test_chunks_are_calendar_weeks_per_source_and_whole_ranges_where_the_api_reads_no_end() -> None:
    chunks = plan_chunks(["ga4", "mailchimp", "stripe"], dt.date(2026, 9, 2), dt.date(2026, 9, 22))  # Wed..Tue
    assert chunks[0] == Chunk("mailchimp", dt.date(2026, 9, 2), dt.date(2026, 9, 22), snapshots=True)
    weeks = sorted({(c.since, c.until) for c in chunks if c.source == "ga4"})
    assert weeks == [(dt.date(2026, 9, 2), dt.date(2026, 9, 6)), (dt.date(2026, 9, 7), dt.date(2026, 9, 13)),
                     (dt.date(2026, 9, 14), dt.date(2026, 9, 20)), (dt.date(2026, 9, 21), dt.date(2026, 9, 22))]
    assert [c.source for c in chunks[1:3]] == ["ga4", "stripe"]  # every source of a week before the next week
    assert [c.snapshots for c in chunks if c.source == "stripe"] == [False, False, False, True]  # read once
    days = {(c.source, c.since + dt.timedelta(days=i)) for c in chunks for i in range((c.until - c.since).days + 1)}
    assert len(days) == 3 * 21  # every day of every source, once


def test_recent_chunks_are_never_settled_and_chunks_share_their_source_connections() -> None:
    journey_map = load_map(EXAMPLE_MAP)
    lookback = journey_map.source_settings("ga4").settle_days
    as_of = dt.date(2026, 9, 30)
    old = Chunk("ga4", dt.date(2026, 9, 1), as_of - dt.timedelta(days=lookback))
    recent = Chunk("ga4", dt.date(2026, 9, 1), as_of - dt.timedelta(days=lookback - 1))
    assert settled(old, journey_map, as_of)
    assert not settled(recent, journey_map, as_of)  # late data may still change it: a rerun loads it again
    configured = journey_map.source_settings("ga4").concurrency
    assert connections_for("ga4", journey_map, 1) == configured
    assert connections_for("ga4", journey_map, configured) == 1
    assert connections_for("ga4", journey_map, 4) * 4 <= max(configured, 4)
    assert connections_for("mailchimp", journey_map, 4) == journey_map.source_settings("mailchimp").concurrency


def _fill(fake: FakeStripe) -> int:
    """Sessions on every day of the weeks, and a few outside them; returns how many fall inside."""
    inside = 0
    for d in range(-2, WEEKS * 7 + 2):
        day = MON + dt.timedelta(days=d)
        for i in range(3):
            fake.add_session(created=dt.datetime.combine(day, dt.time(9 + i), dt.UTC), product_id="prod_course",
                             product_name="Sourdough Masterclass", customer_email=f"b{d}-{i}@example.com")
            inside += 0 <= d < WEEKS * 7
    return inside


def _env(db_url: str, tmp_path: Path, fake: FakeStripe, prefect_api_url: str) -> dict[str, str]:
    journey = example_map_with(tmp_path, sources={"stripe": {"history_days": 40, "lookback_days": 2}})
    return {"JOURNEY_DATABASE_URL": db_url, "JOURNEY_MAP_FILE": str(journey), "PREFECT_API_URL": prefect_api_url,
            "STRIPE_API_KEY": fake.api_key, "STRIPE_API_BASE": fake.url}


def _scalar(url: str, sql: str) -> Any:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    except Exception:  # the table is not there yet
        return None
    finally:
        engine.dispose()


def _session_windows(fake: FakeStripe) -> list[str]:
    """The created[gte] of every checkout-session list request the fake answered (one per page)."""
    return [r.params.get("created[gte]", "") for r in list(fake.requests) if r.path == "/v1/checkout/sessions"]


def _backfill(*extra: str) -> list[str]:
    last = MON + dt.timedelta(days=WEEKS * 7 - 1)
    return ["backfill", "--start", MON.isoformat(), "--end", last.isoformat(), "--sources", "stripe", *extra]


@pytest.mark.slow
def test_a_killed_backfill_resumes_with_the_chunks_it_is_missing(db_url: str, tmp_path: Path,
                                                                   prefect_api_url: str) -> None:
    with FakeStripe() as fake:
        inside = _fill(fake)
        env = {**os.environ, **_env(db_url, tmp_path, fake, prefect_api_url),
               "JOURNEY_OUTBOX_DIR": tempfile.mkdtemp(prefix="journeymap-outbox-")}
        fake.latency = 0.25  # every chunk takes a few answers: long enough to be stopped between two of them
        process = subprocess.Popen([sys.executable, "-m", "flows.cli", *_backfill("--parallel", "1")], env=env,
                                   cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        deadline = time.monotonic() + 120
        while (_scalar(db_url, "SELECT COUNT(*) FROM backfill_chunks") or 0) < 2:
            assert process.poll() is None, "the backfill ended before it could be stopped"
            assert time.monotonic() < deadline, "no chunk was recorded in 120 s"
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)  # no chance to clean up: as a machine that loses power
        process.wait(timeout=30)
        recorded = _scalar(db_url, "SELECT COUNT(*) FROM backfill_chunks")
        assert 2 <= recorded < WEEKS
        done_windows = set(_session_windows(fake))
        before = len(fake.requests)

        fake.latency = 0.0
        rerun = journeymap(*_backfill(), env=_env(db_url, tmp_path, fake, prefect_api_url))
        assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-3000:]
        assert f"{WEEKS - recorded} chunks loaded, {recorded} already loaded by an earlier backfill" in rerun.stdout
        again = {r.params.get("created[gte]", "") for r in list(fake.requests)[before:]
                 if r.path == "/v1/checkout/sessions"}
        first_days = {str(int(dt.datetime.combine(MON + dt.timedelta(days=7 * w), dt.time(), dt.UTC).timestamp()))
                      for w in range(recorded)}
        assert first_days <= done_windows  # the stopped run read those weeks …
        assert not again & first_days  # … and the rerun did not read them again
    assert _scalar(db_url, "SELECT COUNT(*) FROM backfill_chunks") == WEEKS
    assert _scalar(db_url, "SELECT COUNT(*) FROM raw_stripe_checkout_sessions") == inside  # nothing lost, nothing twice
    assert _scalar(db_url, "SELECT COUNT(DISTINCT date) FROM touchpoint_daily WHERE touchpoint_id = 'checkout' "
                           f"AND date BETWEEN '{MON}' AND '{MON + dt.timedelta(days=WEEKS * 7 - 1)}'") == WEEKS * 7


@pytest.mark.slow
def test_the_apis_global_concurrency_limit_holds_chunks_back(db_url: str, tmp_path: Path,
                                                              prefect_api_url: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    def backfill(warehouse: str) -> int:
        with FakeStripe() as fake:
            _fill(fake)
            fake.latency = 0.1
            done = journeymap(*_backfill("--parallel", "4"), env={**_env(warehouse, tmp_path, fake,
                                                                         prefect_api_url)})
            assert done.returncode == 0, done.stderr[-3000:]
            return fake.max_concurrent

    free = backfill(db_url)  # no limit on the server: the chunks read side by side
    with get_client(sync_client=True) as client:
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name="stripe-api", limit=1))
        try:
            engine = create_engine(db_url)
            with engine.begin() as conn:  # load the same weeks again: the chunks must not be skipped
                conn.execute(text("DELETE FROM backfill_chunks"))
            engine.dispose()
            capped = backfill(db_url)
        finally:
            client.delete_global_concurrency_limit_by_name("stripe-api")
    assert free > 1
    assert capped == 1
