"""Overlapping runs, on SQLite and PostgreSQL: the warehouse lock makes the second wait, and two runs started
together leave the warehouse as one run does."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, select

import models.outbox  # noqa: F401  (the Slack outbox is compared too)
from models.db import make_engine
from models.lock import warehouse_lock
from models.tables import Base
from tests.conftest import ROOT, example_map_with

WALL_CLOCK = {"attempted_at", "sent_at"}  # the only columns that record when, not what


def test_a_second_holder_waits_until_the_first_lets_go(engine: Engine) -> None:
    other = make_engine(engine.url.render_as_string(hide_password=False))
    order: list[str] = []
    waited: list[float] = []
    with warehouse_lock(engine):
        second = threading.Thread(target=lambda: _hold(other, order, waited))
        second.start()
        time.sleep(0.5)
        order.append("first done")
    second.join(timeout=10)
    other.dispose()
    assert order == ["first done", "second in"]
    assert waited  # it said it was waiting


def _hold(engine: Engine, order: list[str], waited: list[float]) -> None:
    with warehouse_lock(engine, waited.append, poll=0.05):
        order.append("second in")


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(url)
    out = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if c.name not in WALL_CLOCK]
            out[table.name] = [tuple(r) for r in conn.execute(select(*columns).order_by(*table.primary_key.columns))]
    engine.dispose()
    return out


@pytest.mark.slow
def test_two_runs_started_together_leave_what_one_run_leaves(db_url: str, prefect_api_url: str,
                                                             tmp_path: Path) -> None:
    short = {"lag_days": 2, "lookback_days": 3, "history_days": 21}  # shorter than the days the checks read
    journey_map = example_map_with(tmp_path, sources={s: short for s in ("ga4", "mailchimp", "stripe", "surveys")})
    alone_url = f"sqlite:///{tmp_path / 'alone.db'}"

    def start(url: str, outbox: str) -> tuple[subprocess.Popen[str], Path]:
        env = {"JOURNEY_DATABASE_URL": url, "JOURNEY_MAP_FILE": str(journey_map), "PREFECT_API_URL": prefect_api_url,
               "JOURNEY_OUTBOX_DIR": str(tmp_path / outbox)}
        err = tmp_path / f"{outbox}.stderr"
        with err.open("w") as sink:  # a file, so the test can watch it while the run goes on
            process = subprocess.Popen([sys.executable, "-m", "flows.cli", "run", "--demo", "--as-of", "2026-09-30"],
                                       env={**os.environ, **env}, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=sink,
                                       text=True)
        return process, err

    waiting = "waiting for the run that holds the warehouse"
    holder = make_engine(db_url)
    with warehouse_lock(holder):  # both runs start while the warehouse is held, so they surely overlap
        together = [start(db_url, "a"), start(db_url, "b")]
        deadline = time.monotonic() + 300  # however slow the machine, until both are waiting (or one ended)
        while time.monotonic() < deadline and not all(
                waiting in err.read_text() or process.poll() is not None for process, err in together):
            time.sleep(0.5)
    holder.dispose()
    alone = start(alone_url, "c")
    for process, err in [*together, alone]:
        assert process.wait(timeout=600) == 0, err.read_text()[-3000:]
    assert all(waiting in err.read_text() for _, err in together)
    assert dump(db_url) == dump(alone_url)
