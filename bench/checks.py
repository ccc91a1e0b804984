"""The data-quality suite's cost: the full suite of a run over 1 000 000 raw rows and 5 000 000 touchpoint_daily
rows, beside a plain SQL `COUNT(*)` pass over the same tables in the same run, on SQLite and PostgreSQL.

Run:  PYTHONPATH=. .venv/bin/python -m bench.checks [--raw 1000000] [--facts 5000000] [--postgres URL]

The warehouse holds the example map's sources: GA4 rows, Mailchimp activity and Stripe checkout sessions
(split 50 / 35 / 15 % of the raw rows) over 35 days of history and a 28-day window, and facts for the
map's 32 touchpoints × as many segments as make up the facts rows. The suite is what `journeymap run` runs for the
window (the same builder, the same Great Expectations batches); "scan" counts every row of the tables the suite
reads. Each is timed in 3 rounds, side by side, and its best round is kept. Target: suite ≤ 10 × scan.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, text

from bench.ga4_sync import postgres_schema
from checks.quality import run_checks
from checks.quality_suite import build_suite, suite_inputs
from models.db import make_engine, migrate
from models.mapfile import load_map
from models.sources.ga4.tables import Ga4Row
from models.sources.mailchimp.tables import MailchimpActivity
from models.sources.stripe.tables import StripeCheckoutSession
from models.store import insert_values
from models.tables import TouchpointDaily, table_of

AS_OF = dt.date(2026, 9, 30)
WINDOW = 28
HISTORY = 35
MAP = load_map(Path(__file__).resolve().parents[1] / "journey.yaml")
ROUNDS = 3
TABLES = ("raw_ga4_rows", "raw_mailchimp_activity", "raw_stripe_checkout_sessions", "touchpoint_daily",
          "unmapped_daily", "ga4_report_meta", "quarantine")


def days() -> list[dt.date]:
    first = AS_OF - dt.timedelta(days=WINDOW + HISTORY - 1)
    return [first + dt.timedelta(days=i) for i in range(WINDOW + HISTORY)]


def fill(engine: Engine, raw: int, facts: int) -> None:
    """The warehouse, written in 100 000-row chunks through the product's own bulk insert."""
    span = days()
    per_day = {"ga4": raw * 50 // 100 // len(span), "mailchimp": raw * 35 // 100 // len(span),
               "stripe": raw * 15 // 100 // len(span)}

    def ga4(day: dt.date, i: int) -> tuple[object, ...]:
        return ("p1", "pages", day, f"k{i}", f"/page-{i}/", "Direct", "(direct)", "(none)", "mobile", "new",
                "GB", 10 + i % 7, 20, 0, 0.0, 0.0)

    def mail(day: dt.date, i: int) -> tuple[object, ...]:
        return ("a1", f"c{i % 40}", hashlib.sha256(f"{day}{i}".encode()).hexdigest(), "open",
                dt.datetime.combine(day, dt.time(i % 24, i % 60, i % 59)))

    def sale(day: dt.date, i: int) -> tuple[object, ...]:
        return ("a1", f"cs_{day}_{i}", dt.datetime.combine(day, dt.time(i % 24, i % 60)), "complete", "paid",
                "payment", 4900, "gbp", "prod_course", "Sourdough Masterclass", "", None, "")

    with engine.begin() as conn:
        for table, make, n in ((Ga4Row, ga4, per_day["ga4"]), (MailchimpActivity, mail, per_day["mailchimp"]),
                               (StripeCheckoutSession, sale, per_day["stripe"])):
            for day in span:
                insert_values(conn, table_of(table), [make(day, i) for i in range(n)])
        touchpoints = [tp.id for _, tp in MAP.touchpoints()]  # the map's steps: the facts checks read theirs
        segments = max(1, facts // (len(span) * len(touchpoints)))
        for day in span:
            insert_values(conn, table_of(TouchpointDaily), [
                (day, tp, "all" if s == 0 else f"segment={s}", "j1", 100.0, 40.0, 100.0, 0.0)
                for tp in touchpoints for s in range(segments)])


def scan(engine: Engine, rows: bool = False) -> float:
    """One `COUNT(*)` per table; with `rows`, over a subquery the planner cannot fold away, so every row is
    read and decoded (SQLite answers a bare COUNT(*) from the b-tree's page counts)."""
    every = "-1" if engine.dialect.name == "sqlite" else "ALL"
    started = time.perf_counter()
    with engine.connect() as conn:
        for table in TABLES:
            sql = (f"SELECT COUNT(*) FROM (SELECT * FROM {table} LIMIT {every}) AS t" if rows
                   else f"SELECT COUNT(*) FROM {table}")
            conn.execute(text(sql)).scalar()
    return time.perf_counter() - started


def suite(engine: Engine, url: str) -> tuple[float, int, int]:
    started = time.perf_counter()
    since = AS_OF - dt.timedelta(days=WINDOW - 1)
    with engine.connect() as conn:
        history, mapped = suite_inputs(conn, MAP, since, AS_OF)
    results = run_checks(url, build_suite(MAP, since, AS_OF, AS_OF, history, mapped), MAP.quality.severity)
    return time.perf_counter() - started, len(results), sum(not r.success for r in results)


def measure(label: str, url: str, raw: int, facts: int) -> str:
    engine = make_engine(url)
    migrate(engine)
    started = time.perf_counter()
    fill(engine, raw, facts)
    with engine.connect() as conn:
        counts = {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar() for t in TABLES}
    print(f"{label}: filled in {time.perf_counter() - started:.0f} s: " +
          ", ".join(f"{t} {n:,}" for t, n in counts.items() if n), flush=True)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    scan(engine, rows=True)  # warm the cache for all
    plain, read, took = float("inf"), float("inf"), float("inf")
    for _ in range(ROUNDS):  # side by side, round after round; each one's best (noise only slows a run down)
        plain, read = min(plain, scan(engine)), min(read, scan(engine, rows=True))
        seconds, n, failed = suite(engine, url)
        took = min(took, seconds)
    engine.dispose()
    print(f"{label}: COUNT(*) pass {plain:.3f} s, every row read {read:.2f} s; quality suite ({n} checks, "
          f"{failed} failed) {took:.1f} s = {took / plain:.1f}× the COUNT(*) pass, {took / read:.1f}× reading "
          "every row", flush=True)
    return f"{label} {took / plain:.1f}× COUNT(*), {took / read:.1f}× every row"


def main() -> None:
    started = time.perf_counter()
    import great_expectations  # noqa: F401 - once per process, before any timing

    print(f"Great Expectations import: {time.perf_counter() - started:.1f} s (once per run, not counted below)")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--raw", type=int, default=1_000_000)
    parser.add_argument("--facts", type=int, default=5_000_000)
    parser.add_argument("--postgres", default=os.environ.get("JOURNEY_TEST_DATABASE_URL",
                                                             "postgresql+psycopg2://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        ratios.append(measure("SQLite", f"sqlite:///{tmp}/bench.db", args.raw, args.facts))
    with postgres_schema(args.postgres) as pg:
        ratios.append(measure("PostgreSQL", pg, args.raw, args.facts))
    print("suite / scan — " + "; ".join(ratios) + " (target ≤ 10×)")


if __name__ == "__main__":
    main()
