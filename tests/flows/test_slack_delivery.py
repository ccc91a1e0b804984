"""Slack delivery through the outbox, with the official slack_sdk against the fake Slack Web API, on SQLite and
PostgreSQL: one thread per incident, edits of its top message, retries after 500 and 429, no double post after a
crash or a dropped answer, file uploads, data alerts, and what happens without a token."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from checks.detection import DetectionOutcome
from checks.incidents import Event, Incident
from connectors.slack.client import SlackClient
from flows.slack import deliver
from models.mapfile import load_map
from models.outbox import FAILED, PENDING, SENT, OutboxMessage, Outgoing, enqueue
from models.tables import table_of
from reports.news import alert_outbox, as_body
from reports.slack import Links
from tests.conftest import EXAMPLE_MAP
from tests.fakes.slack import FakeSlack

MAP = load_map(EXAMPLE_MAP)
KEY = "course|checkout|all|stall"
DAY = dt.date(2026, 9, 23)
PAYLOAD = {"journey": "course", "stage": "Purchase", "touchpoint": "Stripe Checkout", "source": "stripe",
           "segment": "all", "kind": "collapse", "severity": "critical", "p_w": 0.05, "p_lo": 0.01, "p_hi": 0.17,
           "p0": 0.63, "drop": 0.9, "lost_per_day": 7.1, "impact_per_day": 1410.0, "top_segments": "",
           "since": "2026-09-20"}


def links(key: str) -> Links:
    return Links("http://prefect.example/runs/flow-run/1")


def day(offset: int, action: str, status: str, severity: str = "critical", message: bool = True,
        data: dict[str, str] | None = None) -> DetectionOutcome:
    """The outcome of DAY + offset with one event of the checkout incident (opened on DAY)."""
    as_of = DAY + dt.timedelta(days=offset)
    incident = Incident(KEY, "course", "checkout", "all", "stall", status, severity, DAY, as_of,
                        as_of if status == "resolved" else None, payload=PAYLOAD)
    events = [Event(KEY, as_of, action, status, severity, message, {**PAYLOAD, "severity": severity})] if action \
        else []
    return DetectionOutcome(as_of, data or {}, events, [], {KEY: incident})


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def client(fake: FakeSlack, token: str | None = None, retries: int = 3) -> SlackClient:
    return SlackClient(token or fake.token, fake.url, rate_limit_retries=retries)


def queue(engine: Engine, outcome: DetectionOutcome, channel: str = "#journey-alerts") -> list[str]:
    with engine.begin() as conn:
        return alert_outbox(conn, MAP, outcome, links, channel)


def rows(engine: Engine) -> dict[str, dict[str, Any]]:
    table = table_of(OutboxMessage)
    with engine.connect() as conn:
        return {r["key"]: dict(r) for r in conn.execute(select(table)).mappings()}


def test_an_incident_lives_in_one_thread_whose_top_message_shows_its_status(engine: Engine, slack: FakeSlack,
                                                                            tmp_path: Path) -> None:
    for outcome in (day(0, "opened", "open"), day(2, "updated", "ongoing", severity="warning"),
                    day(3, "updated", "ongoing", severity="warning", message=False),  # no news: nothing queued
                    day(4, "resolved", "resolved", severity="warning")):
        queue(engine, outcome)
        result = deliver(engine, client(slack), tmp_path)
        assert result.error is None
    [top] = slack.messages()
    assert top["metadata"]["event_type"] == "journey_alert"
    assert top["metadata"]["event_payload"]["alert_key"] == KEY
    assert top["metadata"]["event_payload"]["status"] == "resolved"  # edited (chat.update) to the current status
    assert top["blocks"][0]["text"]["text"].startswith("✅ Resolved")
    assert "edited" in top
    replies = slack.replies(slack.channel_id, top["ts"])
    assert [r["metadata"]["event_payload"]["status"] for r in replies] == ["ongoing", "resolved"]
    assert replies[0]["text"].startswith("↕️ Now warning on 2026-09-25")
    assert len(slack.calls("chat.update")) == 2
    assert {r["status"] for r in rows(engine).values()} == {SENT}


def test_queueing_and_delivering_a_day_again_sends_nothing_twice(engine: Engine, slack: FakeSlack,
                                                                 tmp_path: Path) -> None:
    assert len(queue(engine, day(0, "opened", "open"))) == 1
    deliver(engine, client(slack), tmp_path)
    assert queue(engine, day(0, "opened", "open")) == []  # the same day's news is keyed by what it says
    deliver(engine, client(slack), tmp_path)
    assert slack.posts == 1


def test_a_500_keeps_the_message_and_the_next_run_sends_it_once(engine: Engine, slack: FakeSlack,
                                                               tmp_path: Path) -> None:
    queue(engine, day(0, "opened", "open"))
    slack.fail_next("chat.postMessage", status=500)
    first = deliver(engine, client(slack), tmp_path)
    assert first.error is not None
    assert "HTTP 500" in first.error
    assert first.waiting == 1
    assert slack.posts == 0
    second = deliver(engine, client(slack), tmp_path)  # the next run: looked up first (not there), then posted
    assert second.error is None
    assert slack.posts == 1
    assert slack.calls("conversations.history")  # it looked before posting again


def test_a_429_is_retried_after_retry_after_and_beyond_the_retries_waits_for_the_next_run(
        engine: Engine, slack: FakeSlack, tmp_path: Path) -> None:
    queue(engine, day(0, "opened", "open"))
    slack.fail_next("chat.postMessage", status=429, retry_after=1, times=2)
    first = deliver(engine, client(slack, retries=1), tmp_path)  # one retry, then still rate limited
    assert first.error is not None
    assert "rate limiting" in first.error
    assert slack.posts == 0
    queue(engine, day(2, "updated", "ongoing", severity="warning"))
    slack.fail_next("chat.postMessage", status=429, retry_after=1, times=1)
    second = deliver(engine, client(slack, retries=1), tmp_path)  # the SDK's retry absorbs this one
    assert second.error is None
    assert slack.posts == 2  # the top message, then its reply: each once
    assert len(slack.replies(slack.channel_id, slack.messages()[0]["ts"])) == 1


def test_no_double_post_after_a_crash_between_slacks_answer_and_the_commit(engine: Engine, slack: FakeSlack,
                                                                           tmp_path: Path) -> None:
    queue(engine, day(0, "opened", "open"))
    armed = {"crash": True}

    def power_cut(conn: Any) -> None:  # the commit that would record the answer fails, as if the process died
        if armed["crash"] and slack.posts == 1:
            armed["crash"] = False
            raise RuntimeError("power cut")
    event.listen(engine, "commit", power_cut)
    with pytest.raises(RuntimeError, match="power cut"):
        deliver(engine, client(slack), tmp_path)
    event.remove(engine, "commit", power_cut)
    assert rows(engine)[f"alert|{KEY}|{DAY}|{DAY}|opened"]["status"] == PENDING
    deliver(engine, client(slack), tmp_path)
    assert slack.posts == 1  # found by the key in its metadata, not posted again
    assert rows(engine)[f"alert|{KEY}|{DAY}|{DAY}|opened"]["ts"] == slack.messages()[0]["ts"]


def test_no_double_post_after_a_dropped_answer(engine: Engine, slack: FakeSlack, tmp_path: Path) -> None:
    queue(engine, day(0, "opened", "open"))
    slack.drop_next("chat.postMessage")  # Slack posts it, the answer never arrives
    first = deliver(engine, client(slack), tmp_path)
    assert first.error is not None
    assert "no answer from Slack" in first.error
    assert slack.posts == 1
    deliver(engine, client(slack), tmp_path)
    assert slack.posts == 1


def test_a_reply_waits_for_its_thread_and_a_refused_message_does_not_block_the_rest(
        engine: Engine, slack: FakeSlack, tmp_path: Path) -> None:
    queue(engine, day(0, "opened", "open"))
    slack.fail_next("chat.postMessage", status=503, retry_after=None)
    deliver(engine, client(slack), tmp_path)
    queue(engine, day(2, "updated", "ongoing", severity="warning"))
    too_big = {"text": "x", "blocks": [{"type": "divider"}] * 51}
    with engine.begin() as conn:
        enqueue(conn, [Outgoing("bad", "bad", "top", "#journey-alerts", as_body(too_big))])
    result = deliver(engine, client(slack), tmp_path)
    assert result.rejected == ["bad: Slack refused the message: invalid_blocks (no more than 50 items allowed "
                               "[json-pointer:/blocks])"]
    assert rows(engine)["bad"]["status"] == FAILED  # kept, never retried
    [top] = slack.messages()
    assert len(slack.replies(slack.channel_id, top["ts"])) == 1  # the reply went into the thread, after its top
    assert result.waiting == 0


def test_a_file_is_uploaded_after_its_message_and_never_twice(engine: Engine, slack: FakeSlack,
                                                              tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    with engine.begin() as conn:
        enqueue(conn, [Outgoing("s", "s", "top", slack.channel_id, as_body({"text": "Map update"})),
                       Outgoing("s|chart", "s", "file", slack.channel_id,
                                as_body({"filename": "map.png", "title": "Map", "comment": "Funnel per stage",
                                         "in_thread": False}), png)])
    slack.drop_next("files.completeUploadExternal")  # shared, but the answer is lost
    first = deliver(engine, client(slack), tmp_path)
    assert first.error is not None
    deliver(engine, client(slack), tmp_path)
    [shared] = slack.files.values()
    assert shared.data == png
    assert shared.name == "map.png"
    assert [m["text"] for m in slack.messages()] == ["Map update", "Funnel per stage"]
    assert rows(engine)["s|chart"]["ts"] == next(iter(slack.files))


def test_a_data_alert_opens_once_and_resolves_in_its_thread(engine: Engine, slack: FakeSlack, tmp_path: Path) -> None:
    reason = "ga4: blocking data-quality check(s) failed (ga4 has data for every matured day)"
    for offset, data in ((0, {"ga4": reason}), (1, {"ga4": reason}), (2, {})):
        queue(engine, day(offset, "", "open", data=data))
        deliver(engine, client(slack), tmp_path)
    [top] = slack.messages()
    assert top["metadata"]["event_payload"]["alert_key"] == "data|ga4"
    assert top["blocks"][0]["text"]["text"] == "✅ Data usable again · ga4"  # edited when it resolved
    [reply] = slack.replies(slack.channel_id, top["ts"])
    assert reply["text"].startswith("✅ Resolved on 2026-09-25")


def test_a_setup_error_stops_delivery_names_the_fix_and_keeps_everything(engine: Engine, slack: FakeSlack,
                                                                         tmp_path: Path) -> None:
    queue(engine, day(0, "opened", "open"))
    wrong = "xoxb-0000-wrong-token"
    result = deliver(engine, client(slack, token=wrong), tmp_path)
    assert result.error is not None
    assert "invalid_auth" in result.error
    assert "SLACK_BOT_TOKEN" in result.error
    assert wrong not in result.error
    assert result.waiting == 1
    assert slack.posts == 0
    with engine.begin() as conn:
        enqueue(conn, [Outgoing("lost", "lost", "top", "#no-such-channel", as_body({"text": "hello"}))])
    stopped = deliver(engine, client(slack), tmp_path)  # the first message goes; the second names the channel
    assert slack.posts == 1
    assert stopped.error is not None
    assert "SLACK_CHANNEL" in stopped.error
    assert "#no-such-channel" in stopped.error
    assert stopped.waiting == 1


def test_without_a_token_messages_are_written_as_block_kit_json(engine: Engine, tmp_path: Path) -> None:
    queue(engine, day(0, "opened", "open"))
    result = deliver(engine, None, tmp_path / "outbox")
    [(path, text)] = result.written
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written["metadata"]["event_payload"]["alert_key"] == KEY
    assert written["blocks"][0]["type"] == "header"
    assert text.startswith("Critical: Purchase › Stripe Checkout")
    assert deliver(engine, None, tmp_path / "outbox").written == []  # shown once


def test_a_journey_with_its_own_channel_gets_its_alerts_there(engine: Engine, slack: FakeSlack,
                                                              tmp_path: Path) -> None:
    course = MAP.journeys[0].model_copy(update={"slack_channel": "#course-alerts"})
    journey_map = MAP.model_copy(update={"journeys": [course, *MAP.journeys[1:]]})
    slack.add_channel("C0COURSE01", "course-alerts")
    with engine.begin() as conn:
        alert_outbox(conn, journey_map, day(0, "opened", "open", data={"ga4": "ga4: no rows"}), links,
                     "#journey-alerts")
    deliver(engine, client(slack), tmp_path)
    assert [m["metadata"]["event_payload"]["alert_key"] for m in slack.messages("C0COURSE01")] == [KEY]
    assert [m["metadata"]["event_payload"]["alert_key"] for m in slack.messages()] == ["data|ga4"]  # the default


def test_messages_hold_no_secrets_or_email_addresses(engine: Engine, slack: FakeSlack, tmp_path: Path) -> None:
    payload = {**PAYLOAD, "top_segments": "persona=mobile-social (21 %)"}
    outcome = day(0, "opened", "open")
    outcome.events[0] = Event(KEY, DAY, "opened", "open", "critical", True, payload)
    queue(engine, outcome)
    deliver(engine, client(slack), tmp_path)
    shown = json.dumps([r.params for r in slack.requests], ensure_ascii=False)
    assert slack.token not in shown
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", shown)  # no email address anywhere in what was sent
