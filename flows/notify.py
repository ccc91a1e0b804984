"""The Slack step of a run (queue the judged days' news in the outbox, deliver everything pending) and the failure
notice of a flow run."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Collection, Mapping, Sequence
from typing import Any
from urllib.parse import quote
from uuid import UUID

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError
from sqlalchemy import Engine

from checks.detection import DetectionOutcome, load_series
from connectors.registry import BY_NAME as CONNECTORS
from connectors.slack.client import SlackClient
from flows.settings import Settings, load_settings
from flows.slack import Delivery, deliver
from models.config import JourneyMap
from models.db import make_engine, migrate
from models.outbox import Outgoing, enqueue
from models.sources.registry import PARTS
from reports.news import RATE_DAYS, LinksFor, alert_outbox, as_body, chart_outbox, source_outbox
from reports.slack import Links, failure_message
from reports.source_links import Accounts

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


def links_for(ui_url: str | None, flow_run_id: str | None, deployment_id: str | None, *,
              map_url: str | None = None, accounts: Accounts | None = None,
              business: str | None = None) -> LinksFor:
    """Alert key → its buttons: the flow run, acknowledge / snooze through the incident-action form (of the
    alert's business, in a warehouse of several), the rendered map (`map_url`, else the run's artifacts in the
    UI) and the touchpoint's own report in its source."""
    whose: dict[str, object] = {"business": business} if business else {}
    ui = ui_url.rstrip("/") if ui_url else None
    run = f"{ui}/runs/flow-run/{flow_run_id}" if ui and flow_run_id else None
    the_map = map_url or (f"{run}?tab=Artifacts" if run else None)

    def of(key: str) -> Links:
        if ui is None or deployment_id is None or key.startswith("data|"):
            return Links(run, map=the_map, accounts=accounts)
        return Links(run, _form(ui, deployment_id, {"key": key, "action": "ack", **whose}),
                     _form(ui, deployment_id, {"key": key, "action": "snooze", "days": SNOOZE_DAYS, **whose}),
                     the_map, accounts)
    return of


def alert_accounts(engine: Engine, settings: Settings) -> Accounts:
    """The accounts behind the map, per source, for links to each source's own reports: what its connector reads
    of the account from the settings, completed from the warehouse where the source needs it."""
    out: dict[str, object] = {}
    with engine.connect() as conn:
        for name, parts in PARTS.items():
            if parts.link is None:
                continue
            spec = CONNECTORS[name]
            known = (spec.web_account or spec.account_of)(settings)
            context = parts.link_context(conn, known or None) if parts.link_context is not None else known
            if context:
                out[name] = context
    return out


def run_links(settings: Settings, accounts: Accounts | None = None) -> LinksFor:
    """Links for this flow run (the run's and the actions' buttons only when PREFECT_UI_URL is set)."""
    from prefect.runtime import flow_run

    if not settings.prefect_ui_url:
        return links_for(None, None, None, map_url=settings.journey_map_url, accounts=accounts)
    return links_for(settings.prefect_ui_url, str(flow_run.id) if flow_run.id else None, _action_deployment_id(),
                     map_url=settings.journey_map_url, accounts=accounts, business=settings.journey_business)


def _failed_step(flow_run_id: UUID) -> str:
    """The names of the run's failed tasks, or "the flow itself" when no task failed."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        TaskRunFilter,
        TaskRunFilterState,
        TaskRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    with get_client(sync_client=True) as client:
        failed = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
            task_run_filter=TaskRunFilter(state=TaskRunFilterState(type=TaskRunFilterStateType(
                any_=[StateType.FAILED, StateType.CRASHED]))))
    return ", ".join(sorted({t.name for t in failed})) or "the flow itself"


def notify_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """A flow's on_failure hook: queue a short Slack message naming the flow, the failed step and the run, and
    deliver the outbox. It never raises: a failing notice must not hide the failure it reports (nor does a run
    refused for its parameters, which fails before its logger exists)."""
    try:
        logger: logging.Logger | logging.LoggerAdapter[logging.Logger] = get_run_logger()
    except MissingContextError:
        logger = logging.getLogger("journeymap.notify")
    try:
        settings = load_settings(getattr(flow_run, "parameters", {}).get("business") or None)
        ui = settings.prefect_ui_url.rstrip("/") if settings.prefect_ui_url else None
        try:
            step = _failed_step(flow_run.id)
        except Exception:  # no server to ask: the state's message still says why
            step = "the flow itself"
        reason = str(getattr(state, "message", "") or "failed")[:500]
        key = f"run|{flow.name}|{flow_run.id}"
        body = failure_message(flow.name, str(flow_run.name), step, reason,
                               run_url=f"{ui}/runs/flow-run/{flow_run.id}" if ui else None, message_key=key)
        engine = make_engine(settings.journey_database_url)
        migrate(engine)
        with engine.begin() as conn:
            enqueue(conn, [Outgoing(key, key, "top", settings.slack_channel or "", as_body(body))])
        deliver(engine, slack_client(settings), settings.journey_outbox_dir)
        engine.dispose()
    except Exception as exc:  # reported in the log, never raised
        logger.error("could not queue the failure notice for Slack: %s", exc)


@task(cache_policy=NO_CACHE)
def tell_slack(engine: Engine, journey_map: JourneyMap, settings: Settings,
               outcomes: Sequence[DetectionOutcome], failures: Mapping[str, tuple[str, str]] | None = None,
               read: Collection[str] = ()) -> Delivery:
    """Queue each judged day's alerts (in day order) and the sources that could not be read (`failures`: source →
    (cause, reason); threads of sources `read` again are resolved), and deliver the outbox; what cannot be sent
    waits."""
    links = run_links(settings, alert_accounts(engine, settings))
    channel = settings.slack_channel or ""
    with engine.begin() as conn:
        for outcome in outcomes:
            alert_outbox(conn, journey_map, outcome, links, channel)
        opened = [o for o in outcomes if any(e.message and e.action == "opened" for e in o.events)]
        if opened:  # each new alert's thread gets the step's rate of the last RATE_DAYS days as a picture
            series = load_series(engine, journey_map, opened[0].as_of - dt.timedelta(days=RATE_DAYS),
                                 outcomes[-1].as_of, page_cells=False)  # an incident's segment is never a page cell
            for outcome in opened:
                chart_outbox(conn, journey_map, outcome, series)
        source_outbox(conn, failures or {}, read, outcomes[-1].as_of, links, channel)
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
