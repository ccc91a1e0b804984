"""Engines and migrations: the warehouse is created or upgraded on first use."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

MIGRATIONS = Path(__file__).parent / "migrations"
SUPPORTED = ("sqlite", "postgresql")


class DatabaseConfigError(ValueError):
    """The database URL is unusable; the message names the setting and the fix."""


def make_engine(url: str) -> Engine:
    """An engine for a SQLite or PostgreSQL URL (psycopg2 is the PostgreSQL driver). Its errors never show a
    statement's parameters: they may hold customer data, and a refused page would print thousands of them."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseConfigError("JOURNEY_DATABASE_URL is not a database URL: use e.g. "
                                  "sqlite:///journey.db or postgresql+psycopg2://user@host/db") from None
    if parsed.get_backend_name() not in SUPPORTED:
        raise DatabaseConfigError(f"JOURNEY_DATABASE_URL names '{parsed.get_backend_name()}'; supported "
                                  f"warehouses are {', '.join(SUPPORTED)}")
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
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
