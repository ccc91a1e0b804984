"""The incident-action flow: acknowledge or snooze an incident — what `journeymap incident ack|snooze` runs and what
an alert's Slack buttons open (the Prefect UI's run form of this flow's deployment, pre-filled)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from prefect import flow, get_run_logger

from checks.incident_store import incident_keys, set_action
from flows.days import today_in
from flows.notify import slack_client
from flows.pipeline import prepare_database
from flows.settings import load_settings
from flows.slack import Delivery, deliver
from models.mapfile import load_map
from models.outbox import Outgoing, enqueue, top_of
from reports.blocks import message, sections
from reports.news import as_body

MAX_SNOOZE_DAYS = 90


class UnknownIncident(ValueError):
    """No incident has that key; the message lists the open ones."""


def check_action(action: str, days: int) -> None:
    if action not in ("ack", "snooze"):
        raise ValueError(f"action {action!r}: use ack or snooze")
    if not 1 <= days <= MAX_SNOOZE_DAYS:
        raise ValueError(f"days {days}: snooze for 1 to {MAX_SNOOZE_DAYS} days")


@flow(name="incident-action", log_prints=True)
def incident_action(key: str, action: Literal["ack", "snooze"] = "ack", days: int = 7,
                    as_of: dt.date | None = None, business: str | None = None) -> Delivery:
    """Acknowledge an incident (no more messages about it) or snooze it for `days` days, and say so in its thread.

    Args:
        key: the alert key, as in the message (journey|touchpoint|segment|type).
        action: ack or snooze.
        days: how long a snooze lasts.
        as_of: the day it counts from (default: today in the map's timezone).
        business: in a warehouse of several businesses, the incident's (empty: the one map).
    """
    check_action(action, days)
    settings = load_settings(business or None)
    journey_map = load_map(settings.journey_map_file)
    day = as_of or today_in(journey_map)
    engine = prepare_database(settings.journey_database_url, journey_map)
    with engine.begin() as conn:
        incident = (set_action(conn, key, acknowledged=True) if action == "ack" else
                    set_action(conn, key, snoozed_until=day + dt.timedelta(days=days)))
        if incident is None:
            known = incident_keys(conn)
            raise UnknownIncident(f"no incident {key!r}; open ones: {', '.join(known) or 'none'} "
                                  "(the key is in the alert's context line)")
        thread = f"alert|{key}|{incident.opened_on}"
        top = top_of(conn, thread)
        text = (f"👍 *Acknowledged* on {day}: no more messages about this incident." if action == "ack" else
                f"💤 *Snoozed* until {incident.snoozed_until}: quiet until then, unless it is still open after.")
        if top is not None:
            news_key = f"{thread}|{day}|{action}"
            payload = {"alert_key": key, "journey": incident.journey, "stage": "", "touchpoint": "",
                       "segment": incident.segment, "metric": "", "status": incident.status,
                       "severity": incident.severity, "message_key": news_key}
            enqueue(conn, [Outgoing(news_key, thread, "reply", str(top["channel"]),
                                    as_body(message(text.replace("*", ""), sections(text), "journey_alert", payload,
                                                    "see the flow run")))])
    delivery = deliver(engine, slack_client(settings), settings.journey_outbox_dir)
    get_run_logger().info("%s: %s", key, text.replace("*", ""))
    engine.dispose()
    return delivery
