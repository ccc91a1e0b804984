"""Every source failing after its retries, against the fakes, on SQLite and PostgreSQL: each source is a data alert
in the outbox (one thread per source and cause), the map says "no data since …" instead of zeros, the run is a
Failed flow run with a failure notice; the next run that reads the sources resolves their threads."""

from __future__ import annotations

import datetime as dt
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from flows.pipeline import journey_pipeline
from flows.run_result import outcome_of
from flows.sources import Source
from models.outbox import OutboxMessage
from models.tables import table_of
from reports.render import render_markdown
from tests.conftest import example_map_with
from tests.fakes.clock import FakeClock
from tests.flows.test_daily_operation import START, Business, midnight

pytestmark = pytest.mark.slow
SOURCES = [Source.ga4, Source.mailchimp, Source.stripe]


@pytest.fixture
def shop() -> Iterator[Business]:
    """The daily-operation test's small business: GA4, Mailchimp and Stripe fakes on one clock."""
    made = Business(FakeClock(midnight(START)))
    try:
        yield made
    finally:
        made.close()


def closed_port() -> str:
    """An address where nothing answers (the API is unreachable)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def outbox(url: str) -> list[dict[str, object]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(table_of(OutboxMessage)).order_by(
            table_of(OutboxMessage).c.seq)).mappings()]
    engine.dispose()
    return rows


def test_every_source_failing_is_told_in_slack_shown_as_no_data_and_fails_the_run(
        db_url: str, shop: Business, tmp_path: Path, prefect_api_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    quick = {"history_days": 14, "retry_minutes": 0.05}  # a few seconds of retries, then the source has failed
    map_file = example_map_with(tmp_path, sources={s.value: quick for s in SOURCES}, surveys=[])
    monkeypatch.setenv("JOURNEY_OUTBOX_DIR", str(tmp_path / "outbox"))
    for name, value in shop.env(db_url, map_file).items():
        monkeypatch.setenv(name, value)
    day1, day2, day3 = START, START + dt.timedelta(days=1), START + dt.timedelta(days=2)
    shop.clock.set(midnight(day1))
    first = outcome_of(journey_pipeline(as_of=day1, sources=SOURCES, return_state=True))
    assert not first.failed, first.failed

    shop.clock.set(midnight(day2))  # every source is down for the whole run
    monkeypatch.setenv("GA4_API_ENDPOINT", closed_port())
    shop.mailchimp.fail_next(100_000, 503)
    shop.stripe.fail_next(100_000, 503)
    state = journey_pipeline(as_of=day2, sources=SOURCES, return_state=True)
    down = outcome_of(state)
    assert state.is_failed()
    assert state.message is not None
    assert state.message.startswith("no source could be read: ga4: ")
    assert set(down.failures) == {"ga4", "mailchimp", "stripe"}
    assert down.exit_code == 1
    rows = outbox(db_url)
    tops = {str(r["key"]): json.loads(str(r["body"])) for r in rows if r["role"] == "top"}
    for source in ("ga4", "mailchimp", "stripe"):
        key = f"source|{source}|read|{day2}|opened"
        assert key in tops, sorted(tops)
        meta = tops[key]["metadata"]["event_payload"]
        assert (meta["alert_key"], meta["status"]) == (f"data|{source}|read", "open")
        assert tops[key]["blocks"][0]["text"]["text"] == f"⚠️ Source not read · {source}"
        assert down.failed[source] in tops[key]["text"]
    notices = [k for k in tops if k.startswith("run|journey-pipeline|")]
    assert len(notices) == 1  # the Failed run's notice
    assert "no source could be read" in tops[notices[0]]["text"]
    assert down.view is not None
    assert set(down.view.no_data) >= {"ga4", "mailchimp", "stripe"}
    assert all(last is not None and last < day2 - dt.timedelta(days=1) for last in down.view.no_data.values())
    markdown = render_markdown(down.view)
    assert "no data since" in markdown
    assert "| 0 |" not in markdown  # no zero stands for missing data

    shop.clock.set(midnight(day3))  # the sources are back
    monkeypatch.setenv("GA4_API_ENDPOINT", shop.ga4.url)
    shop.mailchimp.clear_faults()
    shop.stripe.clear_faults()
    back = outcome_of(journey_pipeline(as_of=day3, sources=SOURCES, return_state=True))
    assert not back.failed, back.failed
    keys = [str(r["key"]) for r in outbox(db_url)]
    for source in ("ga4", "mailchimp", "stripe"):
        thread = f"source|{source}|read|{day2}"
        assert keys.count(f"{thread}|opened") == 1  # one alert per source and cause, never reposted
        assert f"{thread}|resolved" in keys
        assert f"{thread}|resolved|update" in keys
