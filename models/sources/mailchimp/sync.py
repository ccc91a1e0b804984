"""Mailchimp's sync: campaigns, then each campaign's activity committed on its own (a stop keeps what was read),
the audiences' growth, today's report snapshots, and the rebuilt history of automation emails' sends.

It knows no API client and no orchestrator: the readers are what the connector's `SPEC.open` built (typed here by
`MailchimpReaders`), errors are the run's kinds (`run.errors`), logging and progress the run's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Protocol, TypeVar

from sqlalchemy import Engine, select

from models.config import SourceSettings
from models.sources.mailchimp.landing import rebuilt_emails, replace_send_estimate
from models.sources.mailchimp.streams import (
    MAILCHIMP_ACTIVITY,
    MAILCHIMP_CAMPAIGNS,
    MAILCHIMP_LIST_GROWTH,
    MAILCHIMP_REPORTS,
)
from models.sync.engine import (
    SourceResult,
    StreamResult,
    land_covered,
    refused_writes,
    skipped_warning,
    stored_days,
    sync_stream,
)
from models.sync.ledger import Stream, after_read, days_between, history, read_marks, write_marks
from models.sync.rows import Hasher
from models.sync.run import SyncRun
from models.sync.state import set_cursor
from models.tables import SyncState, table_of

# optional streams: (stream, what it gives the map)
MAILCHIMP_OPTIONAL = {"list_growth": "audience growth", "reports": "automation emails' daily sends",
                      "send_estimates": "automation emails' sends before the first run"}
CURSOR = "activity/"  # a campaign's activity cursor: the last day whose actions were read once settled


class EmailCampaign(Protocol):
    """A campaign or automation email as the readers list it (the connector's `EmailCampaign`)."""

    @property
    def campaign_id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def kind(self) -> str: ...  # "regular" or "automation"
    @property
    def list_id(self) -> str: ...


class CampaignRead(Protocol):
    """One campaign's actions read whole from its first day `since` on (`gone`: why nothing could be read)."""

    @property
    def campaign_id(self) -> str: ...
    @property
    def since(self) -> dt.date: ...
    @property
    def records(self) -> Sequence[object]: ...
    @property
    def gone(self) -> str: ...


class SendEstimate(Protocol):
    """An automation email's rebuilt sends per UTC hour, and how they add up against its report."""

    @property
    def hours(self) -> Mapping[dt.datetime, int]: ...
    @property
    def emails_sent(self) -> int: ...
    @property
    def placed(self) -> int: ...
    @property
    def method(self) -> str: ...
    def problem(self, title: str) -> str | None: ...


C = TypeVar("C", bound=EmailCampaign)


class MailchimpReaders(Protocol[C]):
    """What the sync reads of one Mailchimp account (the connector's `Reader`, as `SPEC.open` builds it).

    Attributes:
        on_retry: told (attempt, error, wait in seconds) before each retry.
        hasher: how the readers hash the addresses they read (the run's hasher of the account).
    """

    on_retry: Callable[[int, Exception, float], None] | None
    hasher: Hasher | None

    def account_id(self) -> str: ...
    def campaigns(self, since: dt.date) -> list[C]: ...
    def campaign_reads(self, windows: list[tuple[C, dt.date]], until: dt.date) -> Iterator[CampaignRead]: ...
    def list_growth(self) -> Iterator[Sequence[object]]: ...
    def reports(self, campaigns: list[C], taken_on: dt.date) -> Sequence[object]: ...
    def subscribe_times(self, list_id: str) -> Mapping[str, dt.datetime]: ...
    def recipients(self, campaign_id: str) -> Sequence[str]: ...
    def emails_sent(self, campaign_id: str) -> int: ...
    def chain_delays(self, emails: list[C]) -> Mapping[str, dt.timedelta]: ...
    def estimate_sends(self, email: C, delay: dt.timedelta, subscribed: Mapping[str, dt.datetime],
                       recipients: Sequence[str] | None, emails_sent: int, now: dt.datetime) -> SendEstimate: ...


def sync_mailchimp(run: SyncRun, readers: MailchimpReaders[C]) -> SourceResult:
    """Campaigns and automation emails, then their activity, the audiences' growth, (daily runs) today's report
    snapshots, and the sends of automation emails not yet rebuilt."""
    log = run.log
    readers.on_retry = lambda n, e, w: log.warning("mailchimp retry %d in %.0f s: %s", n, w, e)
    account = readers.account_id()
    hasher = run.hasher(account)
    readers.hasher = hasher
    engine, as_of, window, source = run.engine, run.as_of, run.window, run.settings
    since, until = window or history(as_of, source)
    emails = readers.campaigns(since)
    result = SourceResult("mailchimp", account=account)
    with run.tracked(len(emails) + 3, "sync-mailchimp", f"Loading Mailchimp account {account}") as progress:
        result.streams.append(sync_stream(engine, MAILCHIMP_CAMPAIGNS, lambda s, u: iter([emails]), account, as_of,
                                          source, hasher=hasher, window=(since, until), ledger=False))
        progress.step(f"mailchimp campaigns ({len(emails)})")
        result.streams.append(sync_activity(engine, readers, emails, account, as_of, source, hasher, window, result,
                                            lambda r: progress.step(f"mailchimp activity ({r.rows:,})")))
        _optional(run, result, "list_growth", lambda: result.streams.append(sync_stream(
            engine, MAILCHIMP_LIST_GROWTH, lambda s, u: readers.list_growth(), account, as_of, source, hasher=hasher,
            window=(since, until), ledger=False)))
        progress.step("mailchimp audiences")
        automation = [e for e in emails if e.kind == "automation"]
        if window is None:  # a snapshot is today's state: only a daily run takes one
            _optional(run, result, "reports", lambda: result.streams.append(sync_stream(
                engine, MAILCHIMP_REPORTS, lambda s, u: iter([readers.reports(automation, as_of)]), account, as_of,
                source, hasher=hasher, window=(as_of, as_of), ledger=False)))
        progress.step("mailchimp report snapshots")
        _optional(run, result, "send_estimates", lambda: result.warnings.extend(
            rebuild_sends(run, readers, automation, account)))
    if result.skipped:
        result.warnings.append(skipped_warning("Mailchimp", result.skipped, MAILCHIMP_OPTIONAL))
    for done in result.streams:
        log.info("mailchimp/%s: %s..%s, %d rows, %d quarantined", done.stream, done.since, done.until, done.rows,
                 done.quarantined)
    return result


def _optional(run: SyncRun, result: SourceResult, stream: str, read: Callable[[], object]) -> None:
    """Run an optional stream; one the key may not read is left out (named in the result), the rest goes on."""
    try:
        read()
    except run.errors.refused as exc:
        result.skipped[stream] = str(exc)


def campaign_windows(engine: Engine, emails: list[C], account: str, as_of: dt.date, settings: SourceSettings,
                     window: tuple[dt.date, dt.date] | None) -> tuple[list[tuple[C, dt.date]], dt.date]:
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


def sync_activity(engine: Engine, readers: MailchimpReaders[C], emails: list[C], account: str, as_of: dt.date,
                  settings: SourceSettings, hasher: Hasher, window: tuple[dt.date, dt.date] | None,
                  source: SourceResult, on_campaign: Callable[[StreamResult], None]) -> StreamResult:
    """Every campaign's actions of its days to read, each campaign replaced and its cursor moved in one
    transaction as soon as it is read whole: a failure keeps the campaigns before it, and the next run reads only
    what is still missing. The stream's days are marked in the ledger once every campaign is in."""
    windows, until = campaign_windows(engine, emails, account, as_of, settings, window)
    result = StreamResult("mailchimp", "activity", min((s for _, s in windows), default=until), until)
    settled_through = as_of - dt.timedelta(days=settings.settle_days)
    for read in readers.campaign_reads(windows, until):
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


def rebuild_sends(run: SyncRun, readers: MailchimpReaders[C], automation: list[C], account: str) -> list[str]:
    """Rebuild, once per automation email, its daily sends from before the report snapshots began (its recipients'
    subscribe times plus the workflow's delays); returns a warning for each whose total misses its report's
    `emails_sent` by more than 1 %."""
    engine, as_of = run.engine, run.as_of
    with engine.connect() as conn:
        done = rebuilt_emails(conn, account)
    todo = [e for e in automation if e.campaign_id not in done]
    if not todo:
        return []
    delays = readers.chain_delays(automation)
    members: dict[str, Mapping[str, dt.datetime]] = {}
    now = dt.datetime.combine(as_of, dt.time(), dt.UTC)
    warnings = []
    with run.tracked(len(todo), "mailchimp-send-history", "Rebuilding automation emails' sends") as progress:
        for email in todo:
            if email.list_id not in members:
                members[email.list_id] = readers.subscribe_times(email.list_id)
            try:
                recipients: Sequence[str] | None = readers.recipients(email.campaign_id)
            except run.errors.refused:
                recipients = None
            estimate = readers.estimate_sends(email, delays[email.campaign_id], members[email.list_id], recipients,
                                              readers.emails_sent(email.campaign_id), now)
            with engine.begin() as conn:
                replace_send_estimate(conn, account, email.campaign_id, estimate.hours, {
                    "built_on": as_of, "emails_sent": estimate.emails_sent, "placed": estimate.placed,
                    "method": estimate.method})
            if (problem := estimate.problem(email.title)) is not None:
                warnings.append(problem)
            progress.step(email.title)
    return warnings
