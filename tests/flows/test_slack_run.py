"""The acceptance runs against the fake Slack Web API, on SQLite and PostgreSQL: `journeymap run --demo` posts one
thread per incident of the demo's history, threads its updates and resolves it; with Slack down for a whole run
nothing is lost and the next run delivers every pending message once; `journeymap summary --demo` posts the
summary and its chart."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select

from models.outbox import SENT, OutboxMessage
from models.tables import table_of
from tests.conftest import EXAMPLE_MAP, journeymap
from tests.fakes.slack import FakeSlack

pytestmark = pytest.mark.slow


def test_demo_alerts_reach_slack_in_threads_and_survive_a_slack_outage(db_url: str, prefect_api_url: str,
                                                                       tmp_path: object) -> None:
    with FakeSlack() as slack:
        env = {"JOURNEY_DATABASE_URL": db_url, "JOURNEY_MAP_FILE": str(EXAMPLE_MAP), "PREFECT_API_URL": prefect_api_url,
               "SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.url, "SLACK_CHANNEL": "#journey-alerts"}
        slack.fail_next("*", status=503, retry_after=None, times=10_000)  # Slack is down for the whole first run
        down = journeymap("run", "--demo", "--as-of", "2026-09-29", env=env)
        assert down.returncode == 1, down.stderr[-3000:]  # the run finished; what it could not send waits
        assert "Slack delivery stopped" in down.stderr
        assert slack.posts == 0

        slack.clear_faults()  # Slack is back
        back = journeymap("run", "--demo", "--as-of", "2026-09-30", env=env)
        assert back.returncode == 0, back.stderr[-3000:]

        engine = create_engine(db_url)
        with engine.connect() as conn:
            outbox = list(conn.execute(select(table_of(OutboxMessage))).mappings())
        engine.dispose()
        assert {r["status"] for r in outbox} == {SENT}  # every pending message delivered …
        tops = [r for r in outbox if r["role"] == "top"]
        replies = [r for r in outbox if r["role"] == "reply"]
        assert slack.posts == len(tops) + len(replies)  # … once
        threads = {m["metadata"]["event_payload"]["message_key"]: m for m in slack.messages()}
        opened = {r["key"] for r in tops}
        assert set(threads) == opened  # one top-level message per incident (and per data alert)
        assert len([k for k in opened if k.startswith("alert|")]) >= 4  # the demo's history: several incidents
        resolved = [m for m in threads.values() if m["metadata"]["event_payload"]["status"] == "resolved"]
        assert resolved, "a demo incident resolves: its top message is edited to say so"
        for message in resolved:
            assert message["blocks"][0]["text"]["text"].startswith("✅")
            answers = [m for m in slack.replies(slack.channel_id, message["ts"]) if "metadata" in m]
            assert answers[-1]["metadata"]["event_payload"]["status"] == "resolved"
        # each alert's thread holds the step's rate of the last 90 days as a picture, uploaded once
        pictures = [f for f in slack.files.values() if f.name.startswith("rate-")]
        alert_tops = {m["ts"] for k, m in threads.items() if k.startswith("alert|")}
        assert sorted(f.thread_ts for f in pictures) == sorted(alert_tops)
        assert all(f.data is not None and f.data.startswith(b"\x89PNG") for f in pictures)
        checkout = [m for k, m in threads.items() if k.startswith("alert|course|checkout|")]
        assert checkout, "the demo's checkout collapse (2026-09-20) is alerted"
        assert "Purchase › Stripe Checkout" in checkout[0]["blocks"][0]["text"]["text"]

        summary = journeymap("summary", "--period", "month", "--as-of", "2026-09-30", "--demo", env=env)
        assert summary.returncode == 0, summary.stderr[-3000:]
        posted = [m for m in slack.messages() if (m.get("metadata") or {}).get("event_type") == "journey_summary"]
        assert len(posted) == 1
        charts = sorted((f for f in slack.files.values() if f.name.startswith("journey-map")), key=lambda f: f.name)
        assert [f.name for f in charts] == ["journey-map-month-2026-09-02-2026-09-29-cards.png",  # the map …
                                            "journey-map-month-2026-09-02-2026-09-29.png"]  # … and the funnels
        assert all(f.data.startswith(b"\x89PNG") for f in charts)
        assert "Chart: " in summary.stdout
