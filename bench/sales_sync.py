"""Email and sales sync throughput: 200 000 Stripe checkout sessions and 1 000 000 Mailchimp activity rows,
each beside the official client's raw fetch of the same pages in the same run.

Run:  .venv/bin/python -m bench.sales_sync [--sessions 200000] [--activity 1000000] [--only stripe|mailchimp]
      [--postgres URL] [--rounds 3]

Each fake serves from a process of its own on loopback. "raw fetch" makes exactly the requests the connector
makes (same endpoints, page sizes, filters and connection count) and only counts what the client parsed; "sync"
is the connector plus validation, quarantine checks and the landing upserts (cursor included), into SQLite and
PostgreSQL. The ratio sync / raw is the share of the client's own speed that our reading and loading keep.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any

from bench.ga4_sync import postgres_schema, timed
from connectors.mailchimp import Reader
from connectors.mailchimp import make_client as make_mailchimp_client
from connectors.pii import EmailHasher
from connectors.stripe import make_client as make_stripe_client
from connectors.stripe import read_checkout_sessions
from connectors.stripe.settings import PAGE_SIZE as STRIPE_PAGE
from connectors.stripe.settings import SESSION_EXPAND
from models.config import SourceSettings
from models.db import make_engine, migrate
from models.sources.mailchimp.sync import sync_activity
from models.sources.stripe.streams import STRIPE_CHECKOUTS
from models.sync import SourceResult, sync_stream

START = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
DAYS = 20
CONNECTIONS = 4


def _serve(kind: str, size: int, pipe: Connection) -> None:
    if kind == "stripe":
        from tests.fakes.stripe_api import FakeStripe

        with FakeStripe() as stripe_fake:
            stripe_fake.add_sessions_bulk(size, START, DAYS, seed=1)
            pipe.send((stripe_fake.url, stripe_fake.api_key, len(stripe_fake.requests)))
            pipe.recv()
    else:
        from tests.fakes.mailchimp import FakeMailchimp

        with FakeMailchimp() as mc_fake:
            mc_fake.bulk(size, campaigns=20, start=START, days=DAYS, seed=1)
            expected = sum(n for (_, action), n in mc_fake.totals().items() if action != "unsub")
            pipe.send((mc_fake.url, mc_fake.api_key, expected))
            pipe.recv()


@contextmanager
def fake(kind: str, size: int) -> Iterator[tuple[str, str, int]]:
    parent, child = mp.Pipe()
    process = mp.get_context("spawn").Process(target=_serve, args=(kind, size, child), daemon=True)
    process.start()
    answer = parent.recv()
    try:
        yield answer
    finally:
        parent.send("stop")
        process.join(timeout=10)


def _days() -> list[dt.date]:
    return [(START + dt.timedelta(days=i)).date() for i in range(DAYS + 1)]


def stripe_raw(url: str, key: str) -> int:
    """The client alone: per day, every page of sessions with line items expanded, as the connector asks."""
    client = make_stripe_client(key, url)
    seen = 0
    for day in _days():
        start = dt.datetime.combine(day, dt.time(), dt.UTC)
        params: dict[str, Any] = {"created": {"gte": int(start.timestamp()),
                                              "lt": int((start + dt.timedelta(days=1)).timestamp())},
                                  "limit": STRIPE_PAGE, "expand": list(SESSION_EXPAND)}
        while True:
            page = client.v1.checkout.sessions.list(params=params)  # type: ignore[arg-type]
            seen += len(page.data)
            if not page.has_more or not page.data:
                break
            params["starting_after"] = page.data[-1].id
    return seen


def stripe_sync(url: str, key: str, database: str) -> int:
    engine = make_engine(database)
    migrate(engine)
    client = make_stripe_client(key, url)
    days = _days()
    done = sync_stream(engine, STRIPE_CHECKOUTS, lambda s, u: read_checkout_sessions(client, s, u, salt="bench"),
                       "acct_bench", days[-1] + dt.timedelta(days=1), SourceSettings(history_days=3650),
                       hasher=EmailHasher("bench"), window=(days[0], days[-1]))
    engine.dispose()
    return done.rows + done.quarantined


def mailchimp_raw(url: str, key: str) -> int:
    """The client alone: the same campaign list, sent-to and email-activity pages, counting their rows."""
    reader = Reader(make_mailchimp_client(key, url), salt="bench", connections=CONNECTIONS)
    emails = reader.campaigns(_days()[0])
    client, since = reader.client, START.isoformat()

    def one(campaign_id: str) -> int:
        seen = 0
        for fn, key_name, fields, extra in (
                (client.reports.get_campaign_recipients, "sent_to", ["sent_to.email_address", "total_items"], {}),
                (client.reports.get_email_activity_for_campaign, "emails",
                 ["emails.email_address", "emails.activity", "total_items"], {"since": since})):
            offset = 0
            while True:
                page = fn(campaign_id, count=1000, offset=offset, fields=fields, **extra)
                items = page.get(key_name) or []
                seen += len(items) if key_name == "sent_to" else sum(
                    sum(a["action"] in ("open", "click", "bounce") for a in e.get("activity") or []) for e in items)
                offset += len(items)
                if not items or offset >= page["total_items"]:
                    break
        return seen

    with ThreadPoolExecutor(CONNECTIONS) as pool:
        return sum(pool.map(one, [e.campaign_id for e in emails]))


def mailchimp_sync(url: str, key: str, database: str) -> int:
    engine = make_engine(database)
    migrate(engine)
    reader = Reader(make_mailchimp_client(key, url), salt="bench", connections=CONNECTIONS)
    days = _days()
    emails = reader.campaigns(days[0])
    until = days[-1] + dt.timedelta(days=5)
    done = sync_activity(engine, reader, emails, "bench", until + dt.timedelta(days=1),
                         SourceSettings(history_days=3650), EmailHasher("bench"), (days[0], until),
                         SourceResult("mailchimp"), lambda _: None)
    engine.dispose()
    return done.rows + done.quarantined


def measure(label: str, fetched: int, run: Callable[[], int]) -> float:
    """Time a sync; it stores one row per natural key, so actions repeated within the same second (the
    fake's data has a few, as real exports do) are one row: at most 0.1 % fewer rows than fetched."""
    started = time.perf_counter()
    rows = run()
    seconds = time.perf_counter() - started
    assert fetched * 0.999 <= rows <= fetched, f"{label}: {rows} rows stored of {fetched} fetched"
    same = f"  ({fetched - rows} same-second repeats stored once)" if rows < fetched else ""
    print(f"{label:<28} {rows:>10,} rows  {seconds:7.1f} s  {fetched / seconds:10,.0f} rows/s{same}", flush=True)
    return fetched / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=200_000)
    parser.add_argument("--activity", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=os.environ.get("JOURNEY_TEST_DATABASE_URL",
                                                             "postgresql+psycopg2://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--only", choices=("stripe", "mailchimp"), help="run one source's half only")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of raw fetch, SQLite sync and PostgreSQL sync, one after the other; the ratio "
                             "takes each one's best round (a shared machine's noise only ever slows a run down)")
    args = parser.parse_args()
    print(f"Email and sales sync benchmark: fakes on loopback in their own processes, {CONNECTIONS} Mailchimp "
          f"connections, Stripe pages of 100 with line items expanded, {args.rounds} round(s)")
    ratios = []
    for kind, size, raw, sync in (("stripe", args.sessions, stripe_raw, stripe_sync),
                                  ("mailchimp", args.activity, mailchimp_raw, mailchimp_sync)):
        if args.only not in (None, kind):
            continue
        best = {"raw": 0.0, "lite": 0.0, "post": 0.0}
        with fake(kind, size) as (url, key, expected):
            expected = size if kind == "stripe" else expected
            for _ in range(args.rounds):
                best["raw"] = max(best["raw"], timed(f"{kind} raw client fetch", expected,
                                                     lambda: raw(url, key)))  # noqa: B023
                with tempfile.TemporaryDirectory() as tmp:
                    best["lite"] = max(best["lite"], measure(
                        f"{kind} sync → SQLite", expected, lambda: sync(url, key, f"sqlite:///{tmp}/bench.db")))  # noqa: B023
                with postgres_schema(args.postgres) as pg:
                    best["post"] = max(best["post"], measure(f"{kind} sync → PostgreSQL", expected,
                                                             lambda: sync(url, key, pg)))  # noqa: B023
        print(f"{kind} best rounds: raw {best['raw']:,.0f}, SQLite {best['lite']:,.0f}, "
              f"PostgreSQL {best['post']:,.0f} rows/s")
        ratios.append(f"{kind}: SQLite {best['lite'] / best['raw']:.2f}, PostgreSQL {best['post'] / best['raw']:.2f}")
    print("ratio sync/raw — " + "; ".join(ratios) + " (target ≥ 0.50)")


if __name__ == "__main__":
    main()
