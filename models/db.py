"""Engines and migrations: the warehouse is created or upgraded on first use; each business of a warehouse
has its own part of it (a PostgreSQL schema, a SQLite file beside the default one)."""

from __future__ import annotations

import re
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

MIGRATIONS = Path(__file__).parent / "migrations"
SUPPORTED = ("sqlite", "postgresql")


BUSINESS_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
_SEARCH_PATH = re.compile(r"-c\s*search_path\s*=\s*([A-Za-z0-9_]+)")


class DatabaseConfigError(ValueError):
    """The database URL is unusable; the message names the setting and the fix."""


def business_url(url: str, business: str) -> str:
    """The URL of one business's part of the warehouse at `url`: on PostgreSQL the schema `journey_<id>` (or
    `<schema>_<id>` when the URL already sets a search_path), on SQLite the file `<name>-<id>.db` beside the
    URL's. Every table of a business is there, so its rows, migrations and run lock are its own."""
    if not BUSINESS_ID.fullmatch(business):
        raise DatabaseConfigError(f"business id {business!r}: use 1-40 lower-case letters, digits and dashes, "
                                  "starting with a letter or digit (e.g. acme or acme-eu)")
    parsed = _parsed(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:":
            raise DatabaseConfigError("JOURNEY_DATABASE_URL is an in-memory SQLite database: several businesses "
                                      "need a file (e.g. sqlite:///journey.db) or PostgreSQL")
        path = Path(database)
        return parsed.set(database=str(path.with_name(f"{path.stem}-{business}{path.suffix}"))) \
            .render_as_string(hide_password=False)
    options = str(parsed.query.get("options", ""))
    found = _SEARCH_PATH.search(options)
    schema = f"{found.group(1) if found else 'journey'}_{business.replace('-', '_')}"
    rest = _SEARCH_PATH.sub("", options).strip()
    return parsed.update_query_dict({"options": f"{rest} -csearch_path={schema}".strip()}) \
        .render_as_string(hide_password=False)


def ensure_schema(engine: Engine) -> None:
    """Create the PostgreSQL schema the URL's search_path names when it is not there yet (a business's first
    run); nothing on SQLite, whose file is created on first use."""
    if engine.dialect.name != "postgresql":
        return
    found = _SEARCH_PATH.search(str(engine.url.query.get("options", "")))
    if found is None:
        return
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{found.group(1)}"'))


def _parsed(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseConfigError("JOURNEY_DATABASE_URL is not a database URL: use e.g. "
                                  "sqlite:///journey.db or postgresql+psycopg2://user@host/db") from None
    if parsed.get_backend_name() not in SUPPORTED:
        raise DatabaseConfigError(f"JOURNEY_DATABASE_URL names '{parsed.get_backend_name()}'; supported "
                                  f"warehouses are {', '.join(SUPPORTED)}")
    return parsed


def make_engine(url: str) -> Engine:
    """An engine for a SQLite or PostgreSQL URL (psycopg2 is the PostgreSQL driver). Its errors never show a
    statement's parameters: they may hold customer data, and a refused page would print thousands of them."""
    parsed = _parsed(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": 30}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(parsed, pool_pre_ping=True, hide_parameters=True)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB of page cache: big landing upserts touch wide keys
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (a no-op when it is already there)."""
    ensure_schema(engine)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
