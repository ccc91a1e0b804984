"""Many businesses on Prefect workers: N demo businesses with D days of history each in one warehouse, then the
`daily` deployment for all of them on W process workers; prints business runs per minute and each run's time.

    PYTHONPATH=. .venv/bin/python -m bench.fleet [--businesses 20] [--days 180] [--workers 2] [--limit 1]
        [--database sqlite|postgresql|both]

History is loaded once (one business's first run, through the CLI against the same server) and copied to the
other businesses' parts of the warehouse (a SQLite file copy; `pg_dump` of the schema, restored under the
other business's schema), so that the measured daily run starts from N businesses with the same history."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.prefect_server import ROOT, deploy, prefect_server, workers
from models.db import business_url

AS_OF = dt.date(2026, 9, 30)
SOURCES = ("ga4", "mailchimp", "stripe", "surveys")


def write_maps(folder: Path, businesses: list[str], days: int) -> None:
    data = yaml.safe_load((ROOT / "journey.yaml").read_text(encoding="utf-8"))
    data["sources"] = {**data.get("sources", {}),
                       **{s: {**data.get("sources", {}).get(s, {}), "history_days": days} for s in SOURCES}}
    folder.mkdir(parents=True)
    for business in businesses:
        (folder / f"{business}.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def copy_part(url: str, source: str, target: str) -> None:
    """The business `source`'s part of the warehouse, copied as `target`'s."""
    if url.startswith("sqlite"):
        database = make_url(business_url(url, source)).database
        assert database is not None
        shutil.copy(database, make_url(business_url(url, target)).database or "")
        return
    old, new = (_schema(business_url(url, b)) for b in (source, target))
    plain = make_url(url).set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    dump = subprocess.run(["pg_dump", "--no-owner", "-n", old, plain], capture_output=True, text=True, check=True)
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", plain], input=dump.stdout.replace(old, new),
                   capture_output=True, text=True, check=True)


def _schema(url: str) -> str:
    options = str(make_url(url).query.get("options", ""))
    return options.split("search_path=")[1].split()[0]


def measure(database: str, businesses: int, days: int, worker_count: int, limit: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="journeymap-fleet-"))
    ids = [f"b{i:02d}" for i in range(businesses)]
    write_maps(work / "maps", ids, days)
    schema = None
    if database == "sqlite":
        url = f"sqlite:///{work / 'journey.db'}"
    else:
        base = os.environ.get("JOURNEY_TEST_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
        schema = f"fleet_{uuid.uuid4().hex[:8]}"
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    shared = {"JOURNEY_DATABASE_URL": url, "JOURNEY_MAPS_DIR": str(work / "maps"),
              "JOURNEY_OUTBOX_DIR": str(work / "outbox")}
    try:
        with prefect_server(work) as env:
            env.update(shared)
            deploy(env)
            started = time.monotonic()
            seeded = subprocess.run([sys.executable, "-m", "flows.cli", "run", "--demo", "--as-of", AS_OF.isoformat()],
                                    env={**env, "JOURNEY_BUSINESS": ids[0]}, cwd=ROOT, capture_output=True, text=True,
                                    check=False)
            if seeded.returncode:
                raise RuntimeError(seeded.stderr[-3000:])
            seed_seconds = time.monotonic() - started
            for business in ids[1:]:
                copy_part(url, ids[0], business)
            copy_seconds = time.monotonic() - started - seed_seconds
            with workers(env, worker_count, limit, work):  # the daily run itself here, its business runs on them
                begun = time.monotonic()
                day = (AS_OF + dt.timedelta(days=1)).isoformat()
                done = subprocess.run([sys.executable, "-c", "import datetime, sys; from flows.daily import daily; "
                                       f"daily(demo=True, as_of=datetime.date.fromisoformat('{day}'))"],
                                      env=env, cwd=ROOT, capture_output=True, text=True, check=False)
                seconds = time.monotonic() - begun
                state = "COMPLETED" if done.returncode == 0 else f"FAILED ({done.stderr[-500:]})"
            runs = _child_seconds(env)
        per_minute = businesses / (seconds / 60)
        print(f"{database:10s} {businesses} businesses × {days} days: history of one {seed_seconds:.0f} s, copied to "
              f"the others {copy_seconds:.0f} s; daily run for all on {worker_count} workers × {limit}: {state} "
              f"in {seconds:.1f} s = {per_minute:.1f} business runs per minute; each run "
              f"{min(runs):.1f}–{max(runs):.1f} s (median {sorted(runs)[len(runs) // 2]:.1f} s)", flush=True)
    finally:
        if schema is not None:
            engine = create_engine(make_url(url).set(query={}))
            with engine.begin() as conn:
                for business in ids:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}_{business}" CASCADE'))
            engine.dispose()
        shutil.rmtree(work, ignore_errors=True)


def _child_seconds(env: dict[str, str]) -> list[float]:
    """How long each business run took, as the server recorded it."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName, FlowRunFilter
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}), get_client(sync_client=True) as client:
        found = client.read_flow_runs(deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["business"])),
                                      flow_run_filter=FlowRunFilter())
    return [run.total_run_time.total_seconds() for run in found] or [0.0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--businesses", type=int, default=20)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=1, help="runs each worker takes at once")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    for database in (("sqlite", "postgresql") if args.database == "both" else (args.database,)):
        measure(database, args.businesses, args.days, args.workers, args.limit)


if __name__ == "__main__":
    main()
