"""The Slack step of a run: queue the judged days' news in the outbox and deliver everything pending."""

from __future__ import annotations

import json
from collections.abc import Sequence
from urllib.parse import quote

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine

from connectors.slack.client import SlackClient
from flows.detection import DetectionOutcome
from flows.settings import Settings
from flows.slack import Delivery, LinksFor, alert_outbox, deliver
from models.config import JourneyMap
from reports.slack import Links

ACTION_DEPLOYMENT = "incident-action/incident-action"
SNOOZE_DAYS = 7


def slack_client(settings: Settings) -> SlackClient | None:
    """The Slack client of the settings, or None without SLACK_BOT_TOKEN (messages are then written to files)."""
    if settings.slack_bot_token is None:
        return None
    return SlackClient(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)


def _action_deployment_id() -> str | None:
    """The id of the incident-action deployment on the Prefect server, if it is deployed."""
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            return str(client.read_deployment_by_name(ACTION_DEPLOYMENT).id)
    except Exception:  # not deployed (or no server): the messages name the CLI command instead
        return None


def _form(ui: str, deployment_id: str, parameters: dict[str, object]) -> str:
    """The Prefect UI's custom-run form of a deployment, pre-filled (the UI reads a JSON, URI-encoded twice)."""
    encoded = quote(quote(json.dumps(parameters, separators=(",", ":")), safe=""), safe="")
    return f"{ui}/deployments/deployment/{deployment_id}/run?parameters={encoded}"


def links_for(ui_url: str | None, flow_run_id: str | None, deployment_id: str | None) -> LinksFor:
    """Alert key → its buttons: the flow run, and acknowledge / snooze through the incident-action form."""
    ui = ui_url.rstrip("/") if ui_url else None
    run = f"{ui}/runs/flow-run/{flow_run_id}" if ui and flow_run_id else None

    def of(key: str) -> Links:
        if ui is None or deployment_id is None or key.startswith("data|"):
            return Links(run)
        return Links(run, _form(ui, deployment_id, {"key": key, "action": "ack"}),
                     _form(ui, deployment_id, {"key": key, "action": "snooze", "days": SNOOZE_DAYS}))
    return of


def run_links(settings: Settings) -> LinksFor:
    """Links for this flow run (buttons only when PREFECT_UI_URL is set)."""
    from prefect.runtime import flow_run

    if not settings.prefect_ui_url:
        return links_for(None, None, None)
    return links_for(settings.prefect_ui_url, str(flow_run.id) if flow_run.id else None, _action_deployment_id())


@task(cache_policy=NO_CACHE)
def tell_slack(engine: Engine, journey_map: JourneyMap, settings: Settings,
               outcomes: Sequence[DetectionOutcome]) -> Delivery:
    """Queue each judged day's alerts (in day order) and deliver the outbox; what cannot be sent waits."""
    links = run_links(settings)
    channel = settings.slack_channel or ""
    with engine.begin() as conn:
        for outcome in outcomes:
            alert_outbox(conn, journey_map, outcome, links, channel)
    result = deliver(engine, slack_client(settings), settings.journey_outbox_dir)
    logger = get_run_logger()
    if result.written:
        logger.info("Slack: no SLACK_BOT_TOKEN; %d message(s) written to %s/", len(result.written),
                    settings.journey_outbox_dir)
    if result.sent:
        logger.info("Slack: %d message(s) sent", len(result.sent))
    for rejected in result.rejected:
        logger.error("Slack refused a message (kept in the outbox, not retried): %s", rejected)
    if result.error:
        logger.warning("Slack delivery stopped: %s; %d message(s) wait for the next run", result.error,
                       result.waiting)
    return result
