"""Whether a daily run's cost grows with the stored history: one business (a GA4 property landing 50 000 rows a day,
Mailchimp activity and Stripe checkouts at a matching scale) with 30, 365 and 730 days stored, and the same daily
run on each: sync (yesterday and the unsettled days landed through each source's own sync, from in-process
readers that yield the connectors' records), mapping (the run's window), the quality checks, detection (as_of).

Run:  PYTHONPATH=. .venv/bin/python -m bench.scale [--scale 50000,730] [--database sqlite|postgresql|both]

The history is seeded in bulk (the landing tables, the ledger, the cursors and one day's facts repeated for every
day) through the product's own bulk insert; the daily runs then go through the product's code. Each stage is
timed on its own run at day 30, day 365 and the last day; the ratio last/day-30 must stay ≤ 1.2 (PASS).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, text

from bench.ga4_sync import postgres_schema
from connectors.demo.mail import automation_campaigns
from connectors.demo.site import ga4_rows
from connectors.ga4.reader import DayReport, Quota, ReportMeta
from connectors.ga4.records import Ga4ReportRow
from connectors.mailchimp.records import EmailActivity, EmailCampaign
from connectors.pii import EmailHasher
from connectors.stripe.records import CheckoutSession
from models.config import JourneyMap, SourceSettings
from models.db import make_engine, migrate
from models.mapfile import load_map
from models.mapping import facts_reach, map_window, persona_segment
from models.sources.ga4.sync import sync as sync_ga4
from models.sources.ga4.tables import Ga4ReportMeta, Ga4Row
from models.sources.mailchimp.sync import CURSOR, sync_mailchimp
from models.sources.mailchimp.tables import MailchimpActivity, MailchimpSendCheck
from models.sources.stripe.sync import sync_stripe
from models.sources.stripe.tables import StripeCheckoutSession
from models.store import insert_values, row_key, save_map, upsert
from models.sync import SourceResult, SyncRun
from models.sync.ledger import DayMark, Stream, write_marks
from models.sync.state import set_cursor
from models.tables import TouchpointDaily, TouchpointMetricDaily, UnmappedDaily, table_of

START = dt.date(2024, 1, 1)
STAGES = (30, 365)  # plus the last day of the history
PLAN = "bench"
PROPERTY, MAIL_ACCOUNT, SALES_ACCOUNT = "p1", "bench", "acct_bench"
LIMIT = 1.2
ROUNDS = 2
UTC = dt.UTC
# every dated stream the three sources' daily syncs read, with the ledger's account
LEDGER = (("ga4", "rows", PROPERTY), ("mailchimp", "activity", MAIL_ACCOUNT),
          ("stripe", "checkout_sessions", SALES_ACCOUNT), ("stripe", "refunds", SALES_ACCOUNT),
          ("stripe", "payment_intents", SALES_ACCOUNT))
PRODUCTS = (("prod_demo_masterclass", "Sourdough Masterclass"), ("prod_demo_club", "Bakers' Club"),
            ("prod_demo_apron", "Linen Apron"))


@dataclass(frozen=True)
class Scale:
    ga4: int  # GA4 rows a day
    days: int

    @property
    def mail(self) -> int:  # Mailchimp actions a day
        return max(20, self.ga4 // 10)

    @property
    def sales(self) -> int:  # Stripe checkout sessions a day
        return max(5, self.ga4 // 100)


# --- what the sources yield: one day's records, in the connectors' shapes ------------------------------------


@dataclass
class Ga4Day:
    """The GA4 rows of a day: the demo site's rows of one day, repeated with more countries up to the scale."""

    rows: int
    template: list[Ga4ReportRow] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        base = ga4_rows(7, START)
        copies = -(-self.rows // len(base))
        made = [replace(r, country=r.country if c == 0 else f"{r.country} {c}") for c in range(copies) for r in base]
        self.template = made[:self.rows]
        self.keys = [row_key(r.item, r.channel, r.source, r.medium, r.device, r.user_type, r.country)
                     for r in self.template]

    def records(self, day: dt.date) -> list[Ga4ReportRow]:
        return [replace(r, property_id=PROPERTY, date=day) for r in self.template]

    def values(self, day: dt.date) -> list[tuple[Any, ...]]:
        return [(PROPERTY, r.report, day, k, r.item, r.channel, r.source, r.medium, r.device, r.user_type, r.country,
                 r.sessions, r.screen_page_views, r.event_count, r.key_events, r.purchase_revenue)
                for r, k in zip(self.template, self.keys, strict=True)]

    def meta(self, day: dt.date) -> list[ReportMeta]:
        counts: dict[str, int] = {}
        for r in self.template:
            counts[r.report] = counts.get(r.report, 0) + 1
        return [ReportMeta(report, day, n, False, False, False, 0, 0, "GBP", "Europe/London")
                for report, n in counts.items()]


CAMPAIGNS: list[EmailCampaign] = automation_campaigns()


def activity(day: dt.date, n: int) -> list[EmailActivity]:
    """n actions of the day: a send and, an hour later, an open of the same subscriber, per pair."""
    out = []
    for k in range(n // 2):
        who = hashlib.sha256(f"{day}/{k}".encode()).hexdigest()
        sent = dt.datetime.combine(day, dt.time(k % 22, k % 60, k % 59), UTC)
        campaign = CAMPAIGNS[k % len(CAMPAIGNS)].campaign_id
        out += [EmailActivity(campaign, who, "sent", sent), EmailActivity(campaign, who, "open",
                                                                          sent + dt.timedelta(hours=1))]
    return out


def checkouts(day: dt.date, n: int) -> list[CheckoutSession]:
    out = []
    for k in range(n):
        product, name = PRODUCTS[k % len(PRODUCTS)]
        created = dt.datetime.combine(day, dt.time(k % 24, k % 60), UTC)
        out.append(CheckoutSession(f"cs_{day:%Y%m%d}_{k}", created, "complete" if k % 3 else "expired",
                                   "paid" if k % 3 else "unpaid", "payment", 4900, "gbp", product, name,
                                   hashlib.sha256(f"c{k}".encode()).hexdigest(), None, f"pi_{day:%Y%m%d}_{k}"))
    return out


def naive(t: dt.datetime) -> dt.datetime:
    return t.astimezone(UTC).replace(tzinfo=None)


# --- in-process readers (the sources' sync protocols) ----------------------------------------------------------


@dataclass
class BenchGa4:
    day_rows: Ga4Day
    property_id: str = PROPERTY
    plan_id: str = PLAN

    def check(self) -> None:
        return None

    def read_day(self, day: dt.date) -> DayReport:
        return DayReport(day, self.day_rows.records(day), [], self.day_rows.meta(day), Quota(), 1)


@dataclass
class CampaignRead:
    campaign_id: str
    since: dt.date
    records: Sequence[object]
    gone: str = ""


@dataclass
class BenchMailchimp:
    per_day: int
    on_retry: Any = None
    hasher: Any = None

    def account_id(self) -> str:
        return MAIL_ACCOUNT

    def campaigns(self, since: dt.date) -> list[EmailCampaign]:
        return CAMPAIGNS

    def campaign_reads(self, windows: list[tuple[EmailCampaign, dt.date]], until: dt.date) -> Iterator[CampaignRead]:
        first = min((since for _, since in windows), default=until)
        days = {first + dt.timedelta(days=i): activity(first + dt.timedelta(days=i), self.per_day)
                for i in range((until - first).days + 1)}
        for email, since in windows:
            yield CampaignRead(email.campaign_id, since, [a for d, acts in days.items() if d >= since
                                                          for a in acts if a.campaign_id == email.campaign_id])

    def list_growth(self) -> Iterator[Sequence[object]]:
        return iter([])

    def reports(self, campaigns: list[EmailCampaign], taken_on: dt.date) -> Sequence[object]:
        return []

    def __getattr__(self, name: str) -> Any:  # the send-history rebuild is seeded as done
        raise AttributeError(f"the benchmark's Mailchimp reader has no {name}")


@dataclass
class BenchStripe:
    per_day: int

    def account(self) -> tuple[str, str]:
        return SALES_ACCOUNT, ""

    def checkout_sessions(self, salt: Any, on_retry: Any) -> Callable[[dt.date, dt.date], Iterator[list[Any]]]:
        def read(since: dt.date, until: dt.date) -> Iterator[list[Any]]:
            for i in range((until - since).days + 1):
                yield checkouts(since + dt.timedelta(days=i), self.per_day)
        return read

    def _nothing(self, on_retry: Any) -> Callable[[dt.date, dt.date], Iterator[list[Any]]]:
        return lambda since, until: iter([])

    subscriptions = refunds = payment_intents = _nothing


# --- the warehouse ----------------------------------------------------------------------------------------------


def business_map(days: int) -> JourneyMap:
    """The example map, keeping `days` of history for every source."""
    journey_map = load_map(Path(__file__).resolve().parents[1] / "journey.yaml")
    history = max(days, 60)
    return journey_map.model_copy(update={"sources": {
        s: journey_map.source_settings(s).model_copy(update={"history_days": history})
        for s in journey_map.used_sources()}})


@dataclass
class Warehouse:
    engine: Engine
    url: str
    journey_map: JourneyMap
    scale: Scale
    ga4: Ga4Day
    facts: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)  # table → one day's rows, dated START

    def settings(self, source: str) -> SourceSettings:
        return self.journey_map.source_settings(source)

    def seed(self, first: dt.date, last: dt.date, as_of: dt.date) -> None:
        """first..last into the landing tables, the ledger (as a run on `as_of` leaves it) and the facts."""
        t = table_of
        for i in range((last - first).days + 1):
            day = first + dt.timedelta(days=i)
            with self.engine.begin() as conn:
                insert_values(conn, t(Ga4Row), self.ga4.values(day))
                insert_values(conn, t(Ga4ReportMeta), [(PROPERTY, m.report, day, m.row_count, False, False, False,
                                                         0, 0, "GBP", "Europe/London") for m in self.ga4.meta(day)])
                insert_values(conn, t(MailchimpActivity), [(MAIL_ACCOUNT, a.campaign_id, a.email_hash, a.action,
                                                             naive(a.timestamp))
                                                            for a in activity(day, self.scale.mail)])
                insert_values(conn, t(StripeCheckoutSession), [
                    (SALES_ACCOUNT, s.session_id, naive(s.created), s.status, s.payment_status, s.mode,
                     s.amount_total, s.currency, s.product_id, s.product_name, s.customer_hash, None, s.payment_intent)
                    for s in checkouts(day, self.scale.sales)])
                for table, rows in self.facts.items():
                    insert_values(conn, t_of(table), [(day, *r[1:]) for r in rows])
        rows = {"ga4": self.scale.ga4, "mailchimp": self.scale.mail, "stripe": self.scale.sales}
        marked = max(START, first - dt.timedelta(days=10))  # and the days the run before read, since settled
        with self.engine.begin() as conn:
            for source, stream, account in LEDGER:
                settle = self.settings(source).settle_days
                n = rows[source] if stream in ("rows", "activity", "checkout_sessions") else 0
                write_marks(conn, Stream(source, stream, account), [
                    DayMark(d, PLAN if source == "ga4" else "", as_of - dt.timedelta(days=1),
                            (as_of - dt.timedelta(days=1) - d).days >= settle, n)
                    for d in (marked + dt.timedelta(days=i) for i in range((last - marked).days + 1))])
            settled = as_of - dt.timedelta(days=1 + self.settings("mailchimp").settle_days)
            for c in CAMPAIGNS:
                set_cursor(conn, "mailchimp", CURSOR + c.campaign_id, MAIL_ACCOUNT, settled.isoformat())
            set_cursor(conn, "ga4", "rows", PROPERTY, last.isoformat())

    def start(self) -> None:
        """The map, the send-history rebuild as done, and one day's facts (mapped from the first day's rows) to repeat
        over the history."""
        with self.engine.begin() as conn:
            save_map(conn, self.journey_map, {p.name: persona_segment(p) for p in self.journey_map.personas})
            upsert(conn, table_of(MailchimpSendCheck), [
                {"account": MAIL_ACCOUNT, "campaign_id": c.campaign_id, "built_on": START, "emails_sent": 0,
                 "placed": 0, "method": "members"} for c in CAMPAIGNS])
        self.seed(START, START, START + dt.timedelta(days=1))
        before = START - dt.timedelta(days=max(self.settings(s).history_days for s in SYNCED))
        with self.engine.begin() as conn:  # the days before the business's first data: read empty, forgiven
            for source, stream, account in LEDGER:
                write_marks(conn, Stream(source, stream, account), [
                    DayMark(before + dt.timedelta(days=i), PLAN if source == "ga4" else "", START, True, 0)
                    for i in range((START - before).days)])
        with self.engine.begin() as conn:
            map_window(conn, self.journey_map, START, START, ACCOUNTS)
            for model in (TouchpointDaily, TouchpointMetricDaily, UnmappedDaily):
                table = table_of(model)
                self.facts[table.name] = [tuple(r) for r in conn.execute(select(table))]


SYNCED = ("ga4", "mailchimp", "stripe")
ACCOUNTS = {"ga4": PROPERTY, "mailchimp": MAIL_ACCOUNT, "stripe": SALES_ACCOUNT, "search_console": None,
            "surveys": None}


def t_of(name: str) -> Any:
    return {table_of(m).name: table_of(m) for m in (TouchpointDaily, TouchpointMetricDaily, UnmappedDaily)}[name]


# --- one daily run, stage by stage ------------------------------------------------------------------------------


def daily_run(w: Warehouse, as_of: dt.date) -> dict[str, float]:
    """A daily run on `as_of` (the history before it stored), each stage timed."""
    from checks.detection import history_needed, run_detection
    from checks.quality import unusable
    from flows.quality import quality_results

    errors_free = dict(hasher=lambda account: EmailHasher(f"bench-{account}"))
    out: dict[str, float] = {}
    started = time.perf_counter()
    synced: list[SourceResult] = []
    for source, sync, readers in (("ga4", sync_ga4, BenchGa4(w.ga4)),
                                  ("mailchimp", sync_mailchimp, BenchMailchimp(w.scale.mail)),
                                  ("stripe", sync_stripe, BenchStripe(w.scale.sales))):
        run = SyncRun(w.engine, w.journey_map, source, as_of, None, w.settings(source), **errors_free,
                      log=QUIET)
        synced.append(sync(run, readers))  # type: ignore[operator]
    out["sync"] = time.perf_counter() - started
    since = min(facts_reach(s.source, s.since) for s in synced)
    until = as_of - dt.timedelta(days=1)
    started = time.perf_counter()
    with w.engine.begin() as conn:
        map_window(conn, w.journey_map, since, until, ACCOUNTS)
    out["mapping"] = time.perf_counter() - started
    started = time.perf_counter()
    q_since = as_of - dt.timedelta(days=history_needed(w.journey_map))
    results = quality_results(w.engine, w.url, w.journey_map, q_since, until, as_of, ACCOUNTS)
    out["checks"] = time.perf_counter() - started
    with w.engine.begin() as conn:
        set_cursor(conn, "detection", "judged", "", until.isoformat())  # the day before was judged by its run
    started = time.perf_counter()
    run_detection(w.engine, w.journey_map, as_of, unusable(results), None, ACCOUNTS)
    out["detection"] = time.perf_counter() - started
    return out


QUIET = logging.getLogger("bench.scale")
QUIET.setLevel(logging.ERROR)


def measure(label: str, url: str, scale: Scale) -> dict[str, list[float]]:
    engine = make_engine(url)
    migrate(engine)
    w = Warehouse(engine, url, business_map(scale.days), scale, Ga4Day(scale.ga4))
    w.start()
    stages = sorted({d for d in STAGES if d < scale.days} | {scale.days})
    timings: dict[str, list[float]] = {}
    seeded, seeding = START + dt.timedelta(days=1), 0.0
    for day in stages:
        as_of = START + dt.timedelta(days=day)
        started = time.perf_counter()
        w.seed(seeded, as_of - dt.timedelta(days=2), as_of)  # the run itself lands the day before as_of
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        seeding += time.perf_counter() - started
        with engine.connect() as conn:
            ga4 = conn.execute(text("SELECT COUNT(*) FROM raw_ga4_rows")).scalar()
        print(f"{label}: day {day}: seeded in {time.perf_counter() - started:.0f} s ({ga4:,} GA4 rows stored)",
              flush=True)
        best: dict[str, float] = {}
        for _ in range(ROUNDS):  # the same run again (it reads the same days): each stage's best round
            for stage, seconds in daily_run(w, as_of).items():
                best[stage] = min(best.get(stage, seconds), seconds)
        for stage, seconds in best.items():
            timings.setdefault(stage, []).append(seconds)
        print(f"{label}: day {day}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in timings.items()), flush=True)
        seeded = as_of  # the day before it was landed by the run
    print(f"{label}: seeding {seeding:.0f} s in all", flush=True)
    engine.dispose()
    return timings


def table(label: str, scale: Scale, timings: dict[str, list[float]]) -> list[str]:
    days = sorted({d for d in STAGES if d < scale.days} | {scale.days})
    lines = [f"{label} ({scale.ga4:,} GA4 rows/day, {scale.days} days)",
             f"{'stage':<10}" + "".join(f"{'day ' + str(d):>11}" for d in days)
             + f"{f'{days[-1]}/{days[0]}':>9}  verdict" + (f"{f'{days[-1]}/{days[-2]}':>9}" if len(days) > 2 else "")]
    for stage, seconds in timings.items():
        ratio = seconds[-1] / seconds[0]
        lines.append(f"{stage:<10}" + "".join(f"{s:>10.2f}s" for s in seconds)
                     + f"{ratio:>9.2f}  {'PASS' if ratio <= LIMIT else 'FAIL':<7}"
                     + (f"{seconds[-1] / seconds[-2]:>9.2f}" if len(seconds) > 2 else ""))
    return lines


@contextlib.contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{tmp}/bench.db"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="50000,730", help="GA4 rows per day and days of history (50000,730)")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres", default=os.environ.get("JOURNEY_TEST_DATABASE_URL",
                                                             "postgresql+psycopg2://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    rows, days = (int(v) for v in args.scale.split(","))
    if days <= 30:
        parser.error("--scale needs more than 30 days of history (the first run is on day 30)")
    scale = Scale(rows, days)
    import great_expectations  # noqa: F401 - once per process, before any timing

    report: list[str] = []
    if args.database in ("sqlite", "both"):
        with sqlite_url() as url:
            report += table("SQLite", scale, measure("SQLite", url, scale))
    if args.database in ("postgresql", "both"):
        with postgres_schema(args.postgres) as url:
            report += table("PostgreSQL", scale, measure("PostgreSQL", url, scale))
    print("\n".join(report))


if __name__ == "__main__":
    main()
