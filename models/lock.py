"""One run at a time per warehouse: two runs that overlap (a daily run and a backfill, or the same deployment
started twice) wait for each other instead of interleaving their writes.

PostgreSQL: a session advisory lock keyed by the schema (so schemas of one database, and so the businesses of one
warehouse, do not block each other),
held on a connection of its own for the whole run. SQLite: an exclusive `flock` on a file beside the database
(each business has a file of its own).
Both are released by the operating system or the server if the process dies.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

from models.db import ensure_schema

POLL_SECONDS = 2.0
Waiting = Callable[[float], None]  # called while waiting, with the seconds waited so far


@contextmanager
def warehouse_lock(engine: Engine, waiting: Waiting | None = None, poll: float = POLL_SECONDS) -> Iterator[None]:
    """Hold the warehouse's run lock for the duration of the `with` block, waiting for it as long as it takes."""
    if engine.dialect.name == "postgresql":
        with _postgres_lock(engine, waiting, poll):
            yield
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield  # a private in-memory database: nobody else can write to it
        return
    with open(f"{database}.lock", "a+") as handle:
        _wait(lambda: _try_flock(handle.fileno()), waiting, poll)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def _postgres_lock(engine: Engine, waiting: Waiting | None, poll: float) -> Iterator[None]:
    key = "SELECT hashtext('journeymap:' || current_schema())"
    ensure_schema(engine)  # a business's first run: its schema is what the lock is keyed by
    with engine.connect() as conn:
        def attempt() -> bool:
            held = bool(conn.execute(text(f"SELECT pg_try_advisory_lock(({key}))")).scalar())
            conn.commit()  # a session lock outlives the transaction: keep none open for the run
            return held
        _wait(attempt, waiting, poll)
        try:
            yield
        finally:
            conn.execute(text(f"SELECT pg_advisory_unlock(({key}))"))
            conn.commit()


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _wait(attempt: Callable[[], bool], waiting: Waiting | None, poll: float) -> None:
    started = time.monotonic()
    while not attempt():
        if waiting is not None:
            waiting(time.monotonic() - started)
        time.sleep(poll)
