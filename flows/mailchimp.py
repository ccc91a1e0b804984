"""Mailchimp sync: campaigns, then each campaign's activity committed on its own (a stop keeps what was read),
the audiences' growth, today's report snapshots, and the rebuilt history of automation emails' sends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from prefect import get_run_logger
from sqlalchemy import Engine, select

from connectors.errors import AccessDenied
from connectors.mailchimp import Reader
from connectors.mailchimp.records import EmailCampaign
from connectors.mailchimp.sends import chain_delays, estimate_sends
from connectors.pii import EmailHasher
from flows.progress import tracked
from flows.settings import Settings
from flows.sync import (
    SourceResult,
    StreamResult,
    hasher_for,
    land_covered,
    refused_writes,
    skipped_warning,
    stored_days,
    sync_stream,
)
from models.config import JourneyMap, SourceSettings
from models.ledger import Stream, after_read, days_between, history, read_marks, write_marks
from models.sources.mailchimp.landing import rebuilt_emails, replace_send_estimate
from models.sources.mailchimp.streams import (
    MAILCHIMP_ACTIVITY,
    MAILCHIMP_CAMPAIGNS,
    MAILCHIMP_LIST_GROWTH,
    MAILCHIMP_REPORTS,
)
from models.store import set_cursor
from models.tables import SyncState, table_of

# optional streams: (stream, what it gives the map)
MAILCHIMP_OPTIONAL = {"list_growth": "audience growth", "reports": "automation emails' daily sends",
                      "send_estimates": "automation emails' sends before the first run"}
CURSOR = "activity/"  # a campaign's activity cursor: the last day whose actions were read once settled


def sync_mailchimp(engine: Engine, journey_map: JourneyMap, reader: Reader, settings: Settings, as_of: dt.date,
                   window: tuple[dt.date, dt.date] | None) -> SourceResult:
    """Campaigns and automation emails, then their activity, the audiences' growth, (daily runs) today's report
    snapshots, and the sends of automation emails not yet rebuilt."""
    logger = get_run_logger()
    reader.on_retry = lambda n, e, w: logger.warning("mailchimp retry %d in %.0f s: %s", n, w, e)
    account = reader.account_id()
    hasher = hasher_for(settings, account)
    reader.salt = hasher.salt
    source = journey_map.source_settings("mailchimp")
    since, until = window or history(as_of, source)
    emails = reader.campaigns(since)
    result = SourceResult("mailchimp", account=account)
    with tracked(len(emails) + 3, "sync-mailchimp", f"Loading Mailchimp account {account}") as progress:
        result.streams.append(sync_stream(engine, MAILCHIMP_CAMPAIGNS, lambda s, u: iter([emails]), account, as_of,
                                          source, hasher=hasher, window=(since, until), ledger=False))
        progress.step(f"mailchimp campaigns ({len(emails)})")
        result.streams.append(sync_activity(engine, reader, emails, account, as_of, source, hasher, window, result,
                                            lambda r: progress.step(f"mailchimp activity ({r.rows:,})")))
        _optional(result, "list_growth", lambda: result.streams.append(sync_stream(
            engine, MAILCHIMP_LIST_GROWTH, lambda s, u: reader.list_growth(), account, as_of, source, hasher=hasher,
            window=(since, until), ledger=False)))
        progress.step("mailchimp audiences")
        automation = [e for e in emails if e.kind == "automation"]
        if window is None:  # a snapshot is today's state: only a daily run takes one
            _optional(result, "reports", lambda: result.streams.append(sync_stream(
                engine, MAILCHIMP_REPORTS, lambda s, u: iter([reader.reports(automation, as_of)]), account, as_of,
                source, hasher=hasher, window=(as_of, as_of), ledger=False)))
        progress.step("mailchimp report snapshots")
        _optional(result, "send_estimates", lambda: result.warnings.extend(
            rebuild_sends(engine, reader, automation, account, as_of)))
    if result.skipped:
        result.warnings.append(skipped_warning("Mailchimp", result.skipped, MAILCHIMP_OPTIONAL))
    for done in result.streams:
        logger.info("mailchimp/%s: %s..%s, %d rows, %d quarantined", done.stream, done.since, done.until, done.rows,
                    done.quarantined)
    return result


def _optional(result: SourceResult, stream: str, run: Callable[[], object]) -> None:
    """Run an optional stream; one the key may not read is left out (named in the result), the rest goes on."""
    try:
        run()
    except AccessDenied as exc:
        result.skipped[stream] = str(exc)


def campaign_windows(engine: Engine, emails: list[EmailCampaign], account: str, as_of: dt.date,
                     settings: SourceSettings, window: tuple[dt.date, dt.date] | None,
                     ) -> tuple[list[tuple[EmailCampaign, dt.date]], dt.date]:
    """Each campaign's first day to read, and the last: a backfill's window for all; otherwise from the day after
    the campaign's cursor (its actions up to there were read once settled), within the history."""
    first, until = window or history(as_of, settings)
    if window is not None:
        return [(e, first) for e in emails], until
    t = table_of(SyncState)
    with engine.connect() as conn:
        stmt = select(t.c.stream, t.c.cursor).where(t.c.source == "mailchimp", t.c.account == account,
                                                     t.c.stream.startswith(CURSOR))
        cursors: dict[str, str] = {stream: cursor for stream, cursor in conn.execute(stmt)}
    out = []
    for email in emails:
        cursor = cursors.get(CURSOR + email.campaign_id)
        since = first if cursor is None else max(first, dt.date.fromisoformat(cursor) + dt.timedelta(days=1))
        if since <= until:
            out.append((email, since))
    return out, until


def sync_activity(engine: Engine, reader: Reader, emails: list[EmailCampaign], account: str, as_of: dt.date,
                  settings: SourceSettings, hasher: EmailHasher, window: tuple[dt.date, dt.date] | None,
                  source: SourceResult, on_campaign: Callable[[StreamResult], None]) -> StreamResult:
    """Every campaign's actions of its days to read, each campaign replaced and its cursor moved in one
    transaction as soon as it is read whole: a failure keeps the campaigns before it, and the next run reads only
    what is still missing. The stream's days are marked in the ledger once every campaign is in."""
    windows, until = campaign_windows(engine, emails, account, as_of, settings, window)
    result = StreamResult("mailchimp", "activity", min((s for _, s in windows), default=until), until)
    settled_through = as_of - dt.timedelta(days=settings.settle_days)
    for read in reader.campaign_reads(windows, until):
        if read.gone:
            source.warnings.append(f"Mailchimp campaign {read.campaign_id}: {read.gone}; its stored activity is kept")
            continue
        with refused_writes(MAILCHIMP_ACTIVITY), engine.begin() as conn:
            land_covered(conn, MAILCHIMP_ACTIVITY, [read.records], account, read.since, until, {read.campaign_id},
                         as_of, result, hasher)
            if window is None:
                set_cursor(conn, "mailchimp", CURSOR + read.campaign_id, account, settled_through.isoformat())
        on_campaign(result)
    ledger = Stream("mailchimp", "activity", account)
    with engine.begin() as conn:
        previous = read_marks(conn, ledger, result.since, until)
        stored = stored_days(conn, MAILCHIMP_ACTIVITY, account, result.since, until)
        write_marks(conn, ledger, [after_read(previous.get(d), d, stored[d], as_of, settings)
                                   for d in days_between(result.since, until)])
    return result


def rebuild_sends(engine: Engine, reader: Reader, automation: list[EmailCampaign], account: str,
                  as_of: dt.date) -> list[str]:
    """Rebuild, once per automation email, its daily sends from before the report snapshots began (its recipients'
    subscribe times plus the workflow's delays); returns a warning for each whose total misses its report's
    `emails_sent` by more than 1 %."""
    with engine.connect() as conn:
        done = rebuilt_emails(conn, account)
    todo = [e for e in automation if e.campaign_id not in done]
    if not todo:
        return []
    delays = chain_delays(automation)
    members: dict[str, dict[str, dt.datetime]] = {}
    now = dt.datetime.combine(as_of, dt.time(), dt.UTC)
    warnings = []
    with tracked(len(todo), "mailchimp-send-history", "Rebuilding automation emails' sends") as progress:
        for email in todo:
            if email.list_id not in members:
                members[email.list_id] = reader.subscribe_times(email.list_id)
            try:
                recipients: list[str] | None = reader.recipients(email.campaign_id)
            except AccessDenied:
                recipients = None
            estimate = estimate_sends(email, delays[email.campaign_id], members[email.list_id], recipients,
                                      reader.emails_sent(email.campaign_id), now)
            with engine.begin() as conn:
                replace_send_estimate(conn, account, email.campaign_id, estimate.hours, {
                    "built_on": as_of, "emails_sent": estimate.emails_sent, "placed": estimate.placed,
                    "method": estimate.method})
            if (problem := estimate.problem(email.title)) is not None:
                warnings.append(problem)
            progress.step(email.title)
    return warnings
