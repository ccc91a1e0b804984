"""Slack delivery: the outbox (what `reports.news` wrote of a run) is delivered — posted, threaded, edited,
uploaded — or, without a Slack token, written to a folder and shown."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, RowMapping

from connectors.errors import PermanentError, TransientError
from connectors.slack.client import MessageRejected, SlackClient
from models.outbox import (
    SENT,
    mark_attempt,
    mark_error,
    mark_sent,
    mark_written,
    pending,
    top_of,
)

LOOKBACK_SECONDS = 300  # how far before an unanswered attempt to look for the message it may have posted


@dataclass
class Delivery:
    """What delivering the outbox did."""

    sent: list[str] = field(default_factory=list)  # fallback text of each message sent
    written: list[tuple[Path, str]] = field(default_factory=list)  # (file, text) when there is no token
    rejected: list[str] = field(default_factory=list)  # Slack refused the message itself (kept, not retried)
    waiting: int = 0  # still in the outbox for the next run
    error: str | None = None  # why delivery stopped early (the rest waits for the next run)


def deliver(engine: Engine, client: SlackClient | None, folder: Path,
            now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC).replace(tzinfo=None)) -> Delivery:
    """Send every pending outbox message in queue order; a reply waits for its thread's top message.

    Without a client (no SLACK_BOT_TOKEN) each message is written to `folder` as Block Kit JSON instead.
    A message attempted before without a recorded answer is first looked up in Slack (by the key in its
    metadata, or a file by name), so a crash between Slack's answer and the commit never posts it twice.
    A setup error (token, channel, scope) or Slack trouble stops delivery; the rest waits for the next run.
    """
    result = Delivery()
    with engine.connect() as conn:
        rows = pending(conn)
    for row in rows:
        if client is None:
            result.written.append(_write(engine, row, folder, now()))
            continue
        try:
            text = _send(engine, client, row, now)
        except MessageRejected as exc:
            with engine.begin() as conn:
                mark_error(conn, row["key"], str(exc), final=True)
            result.rejected.append(f"{row['key']}: {exc}")
            continue
        except (PermanentError, TransientError) as exc:
            with engine.begin() as conn:
                mark_error(conn, row["key"], str(exc), final=False)
            result.error = str(exc)
            break
        if text is None:
            continue  # its thread's top message is not sent yet
        result.sent.append(text)
    with engine.connect() as conn:
        result.waiting = len(pending(conn))
    return result


def _send(engine: Engine, client: SlackClient, row: RowMapping,
          now: Callable[[], dt.datetime]) -> str | None:
    """Deliver one message; its notification text, or None when it must wait for its thread."""
    body = json.loads(row["body"])
    role, key = str(row["role"]), str(row["key"])
    top: RowMapping | None = None
    if role != "top":
        with engine.connect() as conn:
            top = top_of(conn, str(row["thread"]))
        if top is None or top["status"] != SENT:
            return None
    channel = client.channel_id(str(top["channel"] if top is not None else row["channel"]))
    thread_ts = str(top["ts"]) if top is not None else None
    if row["attempts"] and row["attempted_at"] is not None and role != "update":
        since = row["attempted_at"].replace(tzinfo=dt.UTC).timestamp() - LOOKBACK_SECONDS
        found = (client.find_file(channel, body["filename"], since) if role == "file" else
                 client.find_message(channel, key, since, thread_ts if role == "reply" else None))
        if found is not None:
            with engine.begin() as conn:
                mark_sent(conn, key, found, now(), channel)
            return str(body.get("text") or body.get("title") or key)
    with engine.begin() as conn:
        mark_attempt(conn, key, now())
    if role == "top":
        ts = client.post(channel, body)
    elif role == "reply":
        ts = client.post(channel, body, thread_ts=thread_ts)
    elif role == "update":
        client.update(channel, str(thread_ts), body)
        ts = str(thread_ts)
    else:
        ts = client.upload(channel, row["attachment"] or b"", body["filename"], body["title"], body["comment"],
                           thread_ts if body.get("in_thread") else None)
    with engine.begin() as conn:
        mark_sent(conn, key, ts, now(), channel)
    return str(body.get("text") or body.get("title") or key)


def _write(engine: Engine, row: RowMapping, folder: Path, when: dt.datetime) -> tuple[Path, str]:
    """The message as Block Kit JSON in `folder` (a file's bytes beside it)."""
    folder.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", str(row["key"]))[:150].strip("-")
    path = folder / f"{int(row['seq']):05d}-{slug}.json"
    body = json.loads(row["body"])
    document = {"channel": row["channel"], "thread": row["thread"], "role": row["role"], **body}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if row["role"] == "file" and row["attachment"]:
        (folder / str(body["filename"])).write_bytes(row["attachment"])
    with engine.begin() as conn:
        mark_written(conn, str(row["key"]), when)
    return path, str(body.get("text") or body.get("title") or row["key"])
