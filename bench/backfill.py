"""Backfill time with 1 vs 4 chunks at once: 90 days of the demo business (every source), and 90 days of Stripe
through the fake Stripe API answering each request after a round trip like the real API's — each on a fresh
SQLite and PostgreSQL warehouse, the two settings side by side in every round (best of `--rounds`).

Run:  PYTHONPATH=. .venv/bin/python -m bench.backfill [--postgres URL] [--rounds 2] [--latency 0.1] [--only demo|stripe]

"backfill" is the whole journey-pipeline run (chunks, then mapping and the data-quality checks, which do not
depend on the chunking); "chunks" is its loading part alone (the same chunks, loaded by `run_backfill`).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from bench.ga4_sync import postgres_schema

START, END = dt.date(2026, 7, 2), dt.date(2026, 9, 29)  # 90 days
CHOICES = (1, 4)


@contextlib.contextmanager
def warehouse(kind: str, postgres: str) -> Iterator[str]:
    if kind == "postgresql":
        with postgres_schema(postgres) as url:
            yield url
        return
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{folder}/bench.db"


def pipeline_seconds(url: str, parallel: int, demo: bool) -> float:
    from flows.pipeline import journey_pipeline
    from flows.sources import Source

    os.environ["JOURNEY_DATABASE_URL"] = url
    started = time.perf_counter()
    result = journey_pipeline(start_date=START, end_date=END, demo=demo, parallel_chunks=parallel,
                              sources=None if demo else [Source.stripe])
    seconds = time.perf_counter() - started
    if not result.ok or result.backfill is None or result.backfill.skipped:
        raise SystemExit(f"the backfill did not load every chunk: {result.failed}")
    return seconds


def chunk_seconds(url: str, parallel: int, demo: bool) -> float:
    from prefect import flow

    from flows.backfill import run_backfill
    from flows.pipeline import prepare_database
    from flows.settings import load_settings
    from models.mapfile import load_map

    @flow(name="bench-chunks")
    def chunks() -> float:
        settings = load_settings()
        journey_map = load_map(settings.journey_map_file)
        engine = prepare_database(url, journey_map)
        sources = journey_map.used_sources() if demo else ["stripe"]
        started = time.perf_counter()
        done = run_backfill(engine, settings, journey_map, sources, (START, END), END, demo, None, parallel, False)
        seconds = time.perf_counter() - started
        if done.failed or done.skipped:
            raise SystemExit(f"the chunks did not all load: {done.failed}")
        engine.dispose()
        return seconds

    os.environ["JOURNEY_DATABASE_URL"] = url
    return chunks()


def measure(label: str, kinds: list[str], postgres: str, rounds: int, demo: bool) -> None:
    for kind in kinds:
        for what, run in (("chunks", chunk_seconds), ("backfill", pipeline_seconds)):
            best: dict[int, float] = {}
            for _ in range(rounds):
                for parallel in CHOICES:  # side by side in every round
                    with warehouse(kind, postgres) as url:
                        seconds = run(url, parallel, demo)
                    best[parallel] = min(best.get(parallel, seconds), seconds)
            one, four = best[1], best[4]
            print(f"{label:<26} {kind:<10} {what:<8}  1 chunk: {one:6.1f} s   4 chunks: {four:6.1f} s   "
                  f"ratio {one / four:4.2f}×", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default=os.environ.get("JOURNEY_TEST_DATABASE_URL"),
                        help="a PostgreSQL URL (a schema of its own is made and dropped); default: SQLite only")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--latency", type=float, default=0.1, help="the fake Stripe's seconds per answer")
    parser.add_argument("--only", choices=("demo", "stripe"))
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ["JOURNEY_OUTBOX_DIR"] = tempfile.mkdtemp(prefix="bench-outbox-")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from prefect.testing.utilities import prefect_test_harness

    kinds = ["sqlite"] + (["postgresql"] if args.postgres else [])
    with prefect_test_harness(server_startup_timeout=60):
        if args.only in (None, "demo"):
            measure("demo, every source", kinds, args.postgres, args.rounds, demo=True)
        if args.only in (None, "stripe"):
            with stripe_fake(args.latency, Path(tempfile.mkdtemp(prefix="bench-map-"))):
                measure(f"stripe, {args.latency:.2f} s round trip", kinds, args.postgres, args.rounds, demo=False)


@contextlib.contextmanager
def stripe_fake(latency: float, folder: Path) -> Iterator[None]:
    """The fake Stripe API with 10 paid and expired checkouts a day, a map whose Stripe history covers the range."""
    import yaml

    from tests.conftest import EXAMPLE_MAP
    from tests.fakes.stripe_api import FakeStripe

    data = yaml.safe_load(EXAMPLE_MAP.read_text(encoding="utf-8"))
    data["sources"] = {**data.get("sources", {}), "stripe": {**data.get("sources", {}).get("stripe", {}),
                                                             "history_days": 200}}
    (folder / "journey.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with FakeStripe() as fake:
        add: Callable[..., object] = fake.add_session
        for d in range((END - START).days + 1):
            day = START + dt.timedelta(days=d)
            for i in range(10):
                add(created=dt.datetime.combine(day, dt.time(8 + i % 12, i), dt.UTC), status=("expired" if i % 3
                    else "complete"), product_id="prod_course", product_name="Sourdough Masterclass")
        fake.latency = latency
        previous = {k: os.environ.get(k) for k in ("STRIPE_API_KEY", "STRIPE_API_BASE", "JOURNEY_MAP_FILE")}
        os.environ.update({"STRIPE_API_KEY": fake.api_key, "STRIPE_API_BASE": fake.url,
                           "JOURNEY_MAP_FILE": str(folder / "journey.yaml")})
        try:
            yield
        finally:
            for key, value in previous.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


if __name__ == "__main__":
    main()
