"""GA4 sync end to end against the fake Data API: incremental runs, late data, quota stop and resume."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, create_engine, select, text

from connectors.demo import read_ga4_rows
from connectors.errors import RetryPolicy
from connectors.ga4 import plan_reports, plans_of
from models.config import SourceSettings
from models.mapfile import load_map
from models.sources.ga4.sync import days_to_read, request, sync_days
from models.sources.ga4.tables import Ga4ReportMeta, Ga4Row
from models.tables import Quarantine, SyncedDay
from tests.conftest import EXAMPLE_MAP, example_map_with, journeymap
from tests.connectors.test_ga4 import reader_for
from tests.fakes.ga4 import FakeGA4, bulk_data
from tests.models.test_ga4_awkward import Job

AS_OF = dt.date(2026, 9, 30)
FAST = RetryPolicy(attempts=3, base_seconds=0.01, max_seconds=0.05)


def rows_of(engine: Engine, table: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(table.__table__).order_by(*table.__table__.primary_key))]


def test_incremental_runs_reread_only_the_lookback_and_replace_late_data(engine: Engine) -> None:
    settings = SourceSettings(history_days=10, lookback_days=3, concurrency=3)
    journey_map = load_map(EXAMPLE_MAP)
    with FakeGA4(property_id="123", today=AS_OF) as fake:
        job = Job(reader_for(fake, plans_of(request(journey_map)), policy=FAST), settings)
        run = job.run(engine, AS_OF)
        since = AS_OF - dt.timedelta(days=9)
        first_days = days_to_read(run, job.reader, since, AS_OF)
        assert first_days == [since + dt.timedelta(days=i) for i in range(10)]
        first = sync_days(run, job.reader, first_days)
        assert (first.days, first.left, first.stopped) == (10, [], "")
        snapshot = {t: rows_of(engine, t) for t in (Ga4Row, Ga4ReportMeta, SyncedDay)}

        again = days_to_read(run, job.reader, since, AS_OF)
        assert again == [AS_OF - dt.timedelta(days=d) for d in (2, 1, 0)]
        sync_days(run, job.reader, again)
        assert {t: rows_of(engine, t) for t in snapshot} == snapshot  # a rerun changes nothing

        late, old = AS_OF - dt.timedelta(days=1), AS_OF - dt.timedelta(days=5)
        fake.revise(late, 2.0)
        fake.revise(old, 2.0)  # outside the lookback: GA4 is done with it, so it is not read again
        before = _sessions(engine)
        sync_days(run, job.reader, days_to_read(run, job.reader, since, AS_OF))
        after = _sessions(engine)
    assert after[late] == 2 * before[late]
    assert after[old] == before[old]
    assert after[AS_OF] == before[AS_OF]


def _sessions(engine: Engine) -> dict[dt.date, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(Ga4Row.date, Ga4Row.sessions).where(Ga4Row.report == "traffic")).all()
    out: dict[dt.date, int] = {}
    for day, sessions in rows:
        out[day] = out.get(day, 0) + sessions
    return out


def test_a_quota_stop_resumes_without_reading_finished_days_again(engine: Engine) -> None:
    """A 365-day backfill stops at the quota reserve; the next run reads only the days still missing."""
    plans = plan_reports({"pages": ["screen_page_views"]}, {"pages": []})
    settings = SourceSettings(history_days=3650, lookback_days=3, concurrency=4, quota_reserve=0.10,
                              quota_tokens_per_day=200)
    start, end = dt.date(2025, 1, 1), dt.date(2025, 12, 31)
    today = dt.date(2026, 9, 30)
    with FakeGA4(bulk_data(rows_per_day=5), property_id="123", today=today) as fake:
        fake.quota(tokens_per_day=200, tokens_per_request=1)
        job = Job(reader_for(fake, plans, policy=FAST), settings)
        run = job.run(engine, today)
        first = sync_days(run, job.reader, days_to_read(run, job.reader, start, end))
        assert "quota" in first.stopped
        assert 150 <= first.days <= 185  # stopped with about 10 % of 200 tokens left
        assert len(first.left) == 365 - first.days
        asked_first = _days_asked(fake)

        fake.quota(tokens_per_day=10_000)  # a new day: a fresh budget
        fake.requests.clear()
        remaining = days_to_read(run, job.reader, start, end)
        assert remaining == first.left
        second = sync_days(run, job.reader, remaining)
        asked_second = _days_asked(fake)
    assert (second.days, second.left, second.stopped) == (len(remaining), [], "")
    assert not (asked_second & _committed(asked_first, first.left))  # no finished day was requested again
    with engine.connect() as conn:
        assert conn.execute(select(SyncedDay.day).where(SyncedDay.source == "ga4").order_by(SyncedDay.day)
                            ).scalars().all() == \
            [start + dt.timedelta(days=i) for i in range(365)]


def _days_asked(fake: FakeGA4) -> set[dt.date]:
    return {lo for r in fake.requests.snapshot() if r.rpc == "batchRunReports" for lo, _ in r.date_ranges}


def _committed(asked: set[dt.date], left: list[dt.date]) -> set[dt.date]:
    return asked - set(left)


def test_bad_rows_are_quarantined_and_the_day_still_loads(engine: Engine) -> None:
    journey_map = load_map(EXAMPLE_MAP)
    day = AS_OF - dt.timedelta(days=4)
    with FakeGA4(property_id="123", today=AS_OF) as fake:
        fake.inject_rows(day, "landingPage", [{"date": day.strftime("%Y%m%d"), "landingPage": "/broken/",
                                               "sessions": "n/a"}])
        job = Job(reader_for(fake, plans_of(request(journey_map)), policy=FAST), SourceSettings(history_days=5))
        result = sync_days(job.run(engine, AS_OF), job.reader, [day])
    assert result.quarantined == 1
    assert result.rows > 100
    with engine.connect() as conn:
        (reason, payload), = conn.execute(select(Quarantine.reason, Quarantine.payload)).all()
    assert reason == "metric sessions is 'n/a', not a number"
    assert '"landingPage": "/broken/"' in payload


# --- the command line, as a user runs it ---------------------------------------------------------------------


@pytest.fixture
def ga4_map(tmp_path: Path) -> Path:
    """The example map with a short GA4 history, so a run takes seconds."""
    return example_map_with(tmp_path, sources={"ga4": {"lag_days": 2, "lookback_days": 3, "history_days": 14}})


@pytest.mark.slow
def test_run_sources_ga4_maps_exactly_what_ga4_reported(db_url: str, ga4_map: Path, prefect_api_url: str) -> None:
    with FakeGA4(property_id="123", today=AS_OF) as fake:
        env = {"JOURNEY_DATABASE_URL": db_url, "JOURNEY_MAP_FILE": str(ga4_map), "PREFECT_API_URL": prefect_api_url,
               "GA4_PROPERTY_ID": "123", "GA4_CREDENTIALS_FILE": str(fake.credentials_file),
               "GA4_API_ENDPOINT": fake.url}
        first = journeymap("run", "--sources", "ga4", "--as-of", AS_OF.isoformat(), env=env)
        assert first.returncode == 0, first.stderr[-3000:]
        assert "Sourdough Masterclass" in first.stdout
        facts = _facts(db_url)
        second = journeymap("run", "--sources", "ga4", "--as-of", AS_OF.isoformat(), env=env)
        assert second.returncode == 0, second.stderr[-3000:]
        assert _facts(db_url) == facts

        fake.revise(AS_OF - dt.timedelta(days=1), 1.5)
        third = journeymap("run", "--sources", "ga4", "--as-of", AS_OF.isoformat(), env=env)
        assert third.returncode == 0, third.stderr[-3000:]
        revised = _facts(db_url)

        backfill = journeymap("backfill", "--start", "2026-08-01", "--end", "2026-08-03", "--sources", "ga4", env=env)
        assert backfill.returncode == 0, backfill.stderr[-3000:]
        assert "Backfill: 2 chunks loaded" in backfill.stdout  # Saturday and Sunday, then Monday's week
        assert "ga4/rows: 2026-08-01..2026-08-02, 2 days" in backfill.stderr
        assert "ga4/rows: 2026-08-03..2026-08-03, 1 days" in backfill.stderr

        fake.allowed_properties = {"999"}
        denied = journeymap("run", "--sources", "ga4", "--as-of", AS_OF.isoformat(), env=env)
    assert denied.returncode == 2, denied.stderr[-2000:]
    assert "permission denied" in denied.stderr
    assert "Viewer" in denied.stderr

    journey_map = load_map(ga4_map)
    since, until = AS_OF - dt.timedelta(days=14), AS_OF - dt.timedelta(days=1)  # the 14 days before --as-of
    for _, tp in journey_map.touchpoints():
        if tp.source != "ga4":
            continue
        expected = _fake_total(tp.match, tp.volume, since, until)
        assert facts[tp.id] == pytest.approx(expected), tp.id
    day = AS_OF - dt.timedelta(days=1)
    cart = {"page_path": "/cart/"}
    revised_day = _fake_total(cart, "screenPageViews", day, day, factor=1.5)
    assert revised_day > _fake_total(cart, "screenPageViews", day, day)
    assert revised["cart"] - facts["cart"] == revised_day - _fake_total(cart, "screenPageViews", day, day)


def _facts(url: str) -> dict[str, float]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("select touchpoint_id, sum(volume) from touchpoint_daily "
                                 "where segment = 'all' group by touchpoint_id")).all()
    engine.dispose()
    return {tp: float(v) for tp, v in rows}


FIELDS = {"landing_page": "item", "page_path": "item", "event_name": "item", "channel": "channel",
          "source": "source", "medium": "medium"}
METRIC_FIELDS = {"sessions": "sessions", "screenPageViews": "screen_page_views", "eventCount": "event_count",
                 "keyEvents": "key_events"}


def _fake_total(match: dict[str, Any], metric: str, since: dt.date, until: dt.date, factor: float = 1.0) -> float:
    """What GA4 (the fake, serving the demo business) holds for a rule: summed from the source records.

    `factor` is a revision; the fake rounds each revised count to the nearest integer (half to even).
    """
    report = "events" if "event_name" in match else "pages" if "page_path" in match else "traffic"
    total = 0.0
    for page in read_ga4_rows(since, until):
        for row in page:
            if row.report == report and all(re.fullmatch(str(p), getattr(row, FIELDS[k])) for k, p in match.items()):
                value = getattr(row, METRIC_FIELDS[metric])
                total += float(np.rint(value * factor)) if factor != 1.0 else value
    return total


def test_response_metadata_is_kept_per_report_and_day(engine: Engine) -> None:
    journey_map = load_map(EXAMPLE_MAP)
    day = AS_OF - dt.timedelta(days=6)
    with FakeGA4(property_id="123", today=AS_OF) as fake:
        fake.flags(day, data_loss_from_other_row=True, subject_to_thresholding=True, sampled=(1000, 5000))
        job = Job(reader_for(fake, plans_of(request(journey_map)), policy=FAST), SourceSettings(history_days=10))
        sync_days(job.run(engine, AS_OF), job.reader, [day, day + dt.timedelta(days=1)])
    with engine.connect() as conn:
        meta = {(m.date, m.report): m for m in conn.execute(select(Ga4ReportMeta.__table__))}
    flagged = meta[(day, "pages")]
    assert (flagged.data_loss_from_other_row, flagged.subject_to_thresholding, flagged.sampled) == (True, True, True)
    assert (flagged.samples_read, flagged.sampling_space) == (1000, 5000)
    assert (flagged.currency_code, flagged.time_zone) == ("GBP", "Europe/London")
    assert flagged.row_count > 0
    clean = meta[(day + dt.timedelta(days=1), "pages")]
    assert (clean.data_loss_from_other_row, clean.subject_to_thresholding, clean.sampled) == (False, False, False)


def test_the_map_decides_which_dimensions_and_metrics_are_asked_for() -> None:
    plans = {p.report: p for p in plans_of(request(load_map(EXAMPLE_MAP)))}
    assert set(plans) == {"traffic", "pages", "events"}
    assert plans["traffic"].api_dimensions == ["date", "landingPage", "sessionDefaultChannelGroup", "sessionSource",
                                               "sessionMedium", "deviceCategory", "newVsReturning"]
    assert "country" not in plans["pages"].api_dimensions  # no segment or persona uses it
    assert "totalUsers" not in plans["traffic"].api_metrics
    assert plans["pages"].api_metrics[0] == "screenPageViews"


def test_missing_ga4_settings_exit_2_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from flows.cli import app

    monkeypatch.setenv("JOURNEY_MAP_FILE", str(EXAMPLE_MAP))
    monkeypatch.setenv("JOURNEY_DATABASE_URL", f"sqlite:///{tmp_path / 'j.db'}")
    monkeypatch.delenv("GA4_PROPERTY_ID", raising=False)
    result = CliRunner().invoke(app, ["run", "--sources", "ga4"])
    assert result.exit_code == 2
    assert "GA4_PROPERTY_ID is not set" in result.output
    monkeypatch.setenv("GA4_PROPERTY_ID", "123")
    monkeypatch.setenv("GA4_CREDENTIALS_FILE", str(tmp_path / "nope.json"))
    result = CliRunner().invoke(app, ["run", "--sources", "ga4"])
    assert result.exit_code == 2
    assert "GA4_CREDENTIALS_FILE" in result.output
    result = CliRunner().invoke(app, ["backfill", "--start", "2026-09-05", "--end", "2026-09-01", "--sources", "ga4"])
    assert result.exit_code == 2
    assert "before the start date" in result.output
    for source, variable in (("mailchimp", "MAILCHIMP_API_KEY"), ("stripe", "STRIPE_API_KEY")):
        monkeypatch.delenv(variable, raising=False)
        result = CliRunner().invoke(app, ["run", "--sources", source])
        assert result.exit_code == 2
        assert f"{variable} is not set" in result.output
    assert not (tmp_path / "j.db").exists()
