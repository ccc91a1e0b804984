"""GA4 sync throughput: a 1 000 000-row sync against the fake Data API, beside the raw SDK fetch alone.

Run:  .venv/bin/python -m bench.ga4_sync [--rows-per-day 100000] [--days 10] [--postgres URL]

The fake serves from a process of its own on loopback, so it does not share the interpreter with the
client. Both measurements make the same requests (same report, dimensions, metrics, page size and
concurrency) in the same run; the ratio "sync / raw fetch" is the share of the SDK's own speed that
our parsing, validation and loading keep.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from connectors.errors import AccessDenied, ConnectorError, QuotaExhausted, RetryPolicy
from connectors.ga4 import PropertyReader, make_client, plan_reports
from connectors.pii import EmailHasher
from models.config import SourceSettings
from models.db import make_engine, migrate
from models.mapfile import load_map
from models.sources.ga4.sync import sync_days
from models.sync import ReadErrors, SyncRun

START = dt.date(2026, 1, 1)
EXAMPLE_MAP = Path(__file__).resolve().parents[1] / "journey.yaml"  # a run's map (the days read ignore it)
PLANS = plan_reports({"pages": ["sessions", "screen_page_views", "event_count", "key_events", "purchase_revenue"]},
                     {"pages": ["channel", "source", "medium", "device", "user_type", "country"]})


def _serve(rows_per_day: int, pipe: Connection) -> None:
    from tests.fakes.ga4 import FakeGA4, bulk_data

    with FakeGA4(bulk_data(rows_per_day), property_id="123", today=dt.date(2026, 12, 31)) as fake:
        pipe.send((fake.url, str(fake.credentials_file)))
        pipe.recv()  # serve until the parent says stop


@contextmanager
def fake_in_another_process(rows_per_day: int) -> Iterator[tuple[str, Path]]:
    parent, child = mp.Pipe()
    process = mp.get_context("spawn").Process(target=_serve, args=(rows_per_day, child), daemon=True)
    process.start()
    url, credentials = parent.recv()
    try:
        yield url, Path(credentials)
    finally:
        parent.send("stop")
        process.join(timeout=10)


def raw_fetch(url: str, credentials: Path, days: list[dt.date], page_size: int, concurrency: int) -> int:
    """The SDK alone: the same requests, responses parsed into the SDK's objects, nothing else."""
    client = make_client(credentials, url)
    plan = PLANS[0]

    def one_day(day: dt.date) -> int:
        seen, total = 0, None
        while total is None or seen < total:
            response = client.run_report(request=plan.request("123", day, limit=page_size, offset=seen), timeout=600)
            total = int(response.row_count)
            seen += len(response.rows)
        return seen

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return sum(pool.map(one_day, days))


def our_sync(url: str, credentials: Path, days: list[dt.date], page_size: int, concurrency: int,
             database: str) -> int:
    engine = make_engine(database)
    migrate(engine)
    settings = SourceSettings(history_days=3650, concurrency=concurrency, page_size=page_size, quota_reserve=0)
    reader = PropertyReader(make_client(credentials, url), "123", PLANS, RetryPolicy(), page_size)
    errors = ReadErrors(quota=(QuotaExhausted,), refused=(AccessDenied,), failed=(ConnectorError,))
    run = SyncRun(engine, load_map(EXAMPLE_MAP), "ga4", days[-1] + dt.timedelta(days=30), None, settings,
                  hasher=EmailHasher, errors=errors)
    result = sync_days(run, reader, days)
    engine.dispose()
    return result.rows


@contextmanager
def postgres_schema(base: str) -> Iterator[str]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def timed(label: str, rows_expected: int, run: object) -> float:
    started = time.perf_counter()
    rows = run()  # type: ignore[operator]
    seconds = time.perf_counter() - started
    assert rows == rows_expected, f"{label}: {rows} rows, expected {rows_expected}"
    rate = rows / seconds
    print(f"{label:<28} {rows:>10,} rows  {seconds:7.1f} s  {rate:10,.0f} rows/s", flush=True)
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows-per-day", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--page-size", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--postgres", default=os.environ.get("JOURNEY_TEST_DATABASE_URL",
                                                             "postgresql+psycopg2://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    days = [START + dt.timedelta(days=i) for i in range(args.days)]
    total = args.rows_per_day * args.days
    print(f"GA4 sync benchmark: {total:,} rows ({args.days} days × {args.rows_per_day:,}), page size "
          f"{args.page_size:,}, {args.concurrency} requests in flight, fake on loopback in its own process")
    with fake_in_another_process(args.rows_per_day) as (url, credentials):
        raw_fetch(url, credentials, days[:1], args.page_size, 1)  # warm the fake's day cache and imports
        raw = timed("raw SDK fetch", total, lambda: raw_fetch(url, credentials, days, args.page_size,
                                                              args.concurrency))
        with tempfile.TemporaryDirectory() as tmp:
            lite = timed("sync → SQLite", total, lambda: our_sync(url, credentials, days, args.page_size,
                                                                  args.concurrency, f"sqlite:///{tmp}/bench.db"))
        with postgres_schema(args.postgres) as pg:
            post = timed("sync → PostgreSQL", total, lambda: our_sync(url, credentials, days, args.page_size,
                                                                      args.concurrency, pg))
    print(f"ratio sync/raw: SQLite {lite / raw:.2f}, PostgreSQL {post / raw:.2f} (target ≥ 0.50)")


if __name__ == "__main__":
    main()
