"""What the sync tests share: one source's sync run as a Prefect flow in this process (the way a run calls it),
every table of a warehouse as sorted rows, and two empty warehouses (SQLite and PostgreSQL) for one test."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect import flow
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

import models.backfill
import models.outbox  # noqa: F401  (and the Slack outbox)
from flows.pipeline import prepare_database
from flows.sources import sync_source
from models.mapfile import load_map
from models.mapping import map_window
from models.sync import SourceResult
from models.tables import Base
from tests.conftest import PG_ENV


@flow(name="test-sync-source", persist_result=False)
def run_source(url: str, map_file: str, source: str, as_of: dt.date,
               window: tuple[dt.date, dt.date] | None = None, map_days: int = 0) -> SourceResult:
    """Sync one source as a run does (its task, its settings from the environment); with `map_days`, map the last
    that many days before `as_of` too."""
    journey_map = load_map(Path(map_file))
    engine = prepare_database(url, journey_map)
    try:
        result = sync_source(engine, journey_map, source, as_of, False, window)
        if map_days:
            with engine.begin() as conn:
                map_window(conn, journey_map, as_of - dt.timedelta(days=map_days), as_of - dt.timedelta(days=1),
                           accounts={source: result.account})
        return result
    finally:
        engine.dispose()


def all_rows(url: str, skip: tuple[str, ...] = ()) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of the warehouse (but `skip`) as its rows in a stable order, read through the tables' own
    types, so that SQLite's and PostgreSQL's rows compare value for value."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {name: sorted((tuple(_plain(v) for v in row) for row in conn.execute(select(table))), key=repr)
                    for name, table in sorted(Base.metadata.tables.items()) if name not in skip}
    finally:
        engine.dispose()


def _plain(value: Any) -> Any:
    return round(value, 9) if isinstance(value, float) else value


@pytest.fixture
def two_warehouses(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """An empty SQLite file and an empty PostgreSQL schema, for a test that loads the same reads into both."""
    base = os.environ.get(PG_ENV)
    if not base:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set: in CI every PostgreSQL test must run")
        pytest.skip(f"set {PG_ENV} to compare SQLite with PostgreSQL")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    pg = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)
    try:
        yield f"sqlite:///{tmp_path / 'both.db'}", pg
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
