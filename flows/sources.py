"""The sync task: each source's streams, from the demo business or the real API, into the landing tables."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import replace
from enum import StrEnum
from zoneinfo import ZoneInfo

import stripe
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine

from connectors.demo import DEMO_PROPERTY_ID
from connectors.errors import AccessDenied, ConnectorError, PermanentError, RetryPolicy, TransientError
from connectors.ga4 import make_client
from connectors.mailchimp import Reader as MailchimpReader
from connectors.mailchimp import make_client as make_mailchimp_client
from connectors.pii import EmailHasher
from connectors.stripe import account_id as stripe_account_id
from connectors.stripe import make_client as make_stripe_client
from connectors.stripe import read_checkout_sessions, read_payment_intents, read_refunds, read_subscriptions
from connectors.stripe.settings import PAGE_SIZE as STRIPE_PAGE_SIZE
from connectors.surveys import Columns, SurveyFileError, read_survey_file
from flows.ga4 import Ga4Job, days_to_read, plans_for, sync_days
from flows.mailchimp import sync_mailchimp
from flows.progress import tracked
from flows.search_console import sync_search_console
from flows.settings import Settings, SettingsError, load_settings
from flows.sync import (
    LandingError,
    Pages,
    Reader,
    SourceNotConfigured,
    SourceResult,
    StreamResult,
    demo_streams,
    hasher_for,
    skipped_warning,
    source_policy,
    sync_stream,
)
from models.config import JourneyMap
from models.ledger import history
from models.rows import RawStream
from models.sources import NAMES
from models.sources.stripe.streams import STRIPE_CHECKOUTS, STRIPE_PAYMENT_INTENTS, STRIPE_REFUNDS, STRIPE_SUBSCRIPTIONS
from models.sources.surveys.streams import SURVEY_RESPONSES

REAL_SOURCES = NAMES  # sources with a connector to a real API in this version
CONFIG_ERRORS = (PermanentError, SettingsError, SourceNotConfigured)  # failures whose fix is configuration
KNOWN_ERRORS = (ConnectorError, SettingsError, SourceNotConfigured, LandingError)  # said in one line, no traceback


class Source(StrEnum):
    """The sources a run can sync."""

    ga4 = "ga4"
    search_console = "search_console"
    mailchimp = "mailchimp"
    stripe = "stripe"
    surveys = "surveys"


def ga4_job(settings: Settings, journey_map: JourneyMap) -> Ga4Job:
    """A GA4 job from the settings; raises with the variable to set when one is missing or wrong."""
    property_id = (settings.ga4_property_id or "").strip()
    if not property_id:
        raise SettingsError("GA4_PROPERTY_ID is not set; set it to the numeric id of the GA4 property "
                            "(GA4 Admin › Property details), or run with --demo")
    if not property_id.isdigit():
        raise SettingsError(f"GA4_PROPERTY_ID {property_id!r} is not a property id; use the number shown in "
                            "GA4 Admin › Property details (not the G-… measurement id)")
    client = make_client(settings.ga4_credentials_file, settings.ga4_api_endpoint)
    source = journey_map.source_settings("ga4")
    return Ga4Job(client, property_id, plans_for(journey_map), source, source_policy(source))


def account_of(source: str, settings: Settings, demo: bool) -> str | None:
    """The account whose raw rows the map reads (the GA4 property, the Search Console site; "demo" for the demo),
    or None for every account (a source whose account is only known once its API answered: its sync reports it)."""
    if source == "surveys":
        return None  # answers are kept per survey, and every survey of the map counts
    if demo:
        return DEMO_PROPERTY_ID
    if source == "ga4":
        return (settings.ga4_property_id or "").strip()
    if source == "search_console":
        return (settings.search_console_site_url or "").strip()
    return None


def stripe_client(settings: Settings) -> stripe.StripeClient:
    """A Stripe client from the settings; raises with the variable to set when the key is missing or wrong."""
    key = settings.stripe_api_key.get_secret_value().strip() if settings.stripe_api_key else ""
    if not key:
        raise SettingsError("STRIPE_API_KEY is not set; set it to a secret or restricted key (Stripe Dashboard › "
                            "Developers › API keys), or run with --demo")
    return make_stripe_client(key, settings.stripe_api_base)


@task(cache_policy=NO_CACHE, task_run_name="sync-{source}")
def sync_source(engine: Engine, journey_map: JourneyMap, source: str, as_of: dt.date, demo: bool,
                window: tuple[dt.date, dt.date] | None = None, demo_outage: dt.date | None = None) -> SourceResult:
    """Load every stream of one source: its days to read, or `window` for a backfill. A failure after the
    retries is the result's `failure` (one line, no traceback): what was read before it stays committed."""
    try:
        return load_source(engine, journey_map, source, as_of, demo, window, demo_outage)
    except KNOWN_ERRORS as exc:
        return SourceResult(source, failure=str(exc), misconfigured=isinstance(exc, CONFIG_ERRORS))
    except Exception as exc:  # a bug: one line for the user, the traceback in the debug log
        logging.getLogger("journeymap.sync").debug("source %s failed", source, exc_info=True)
        return SourceResult(source, failure=f"{type(exc).__name__}: {exc} (an internal error; please report it)")


def load_source(engine: Engine, journey_map: JourneyMap, source: str, as_of: dt.date, demo: bool,
                window: tuple[dt.date, dt.date] | None = None, demo_outage: dt.date | None = None, *,
                snapshots: bool = True, connections: int | None = None) -> SourceResult:
    """Load one source's streams for its days to read or `window`. `snapshots=False` leaves out the streams
    that are a whole list rather than days (Stripe subscriptions: a backfill's chunks read them once);
    `connections` overrides the source's `concurrency` (chunks running side by side share it)."""
    if connections is not None:
        shared = journey_map.source_settings(source)
        journey_map = journey_map.model_copy(update={"sources": {
            **journey_map.sources, source: shared.model_copy(update={"concurrency": connections})}})
    if demo:
        return _sync_demo(engine, journey_map, source, as_of, window, demo_outage)
    if source == "ga4":
        return _sync_ga4(engine, journey_map, as_of, window)
    if source == "search_console":
        return sync_search_console(engine, journey_map, load_settings(), as_of, window)
    if source == "stripe":
        return _sync_stripe(engine, journey_map, as_of, window, snapshots)
    if source == "surveys":
        return _sync_surveys(engine, journey_map, as_of)
    if source == "mailchimp":
        settings = load_settings()
        return sync_mailchimp(engine, journey_map, mailchimp_reader(settings, journey_map), settings, as_of, window)
    raise SourceNotConfigured(f"the {source} connector is not part of this version yet; "
                              f"run with --demo, or with --sources {','.join(REAL_SOURCES)}")


def mailchimp_reader(settings: Settings, journey_map: JourneyMap) -> MailchimpReader:
    """A Mailchimp reader from the settings; raises with the variable to set when the key is missing or wrong."""
    key = settings.mailchimp_api_key.get_secret_value().strip() if settings.mailchimp_api_key else ""
    if not key:
        raise SettingsError("MAILCHIMP_API_KEY is not set; set it to an API key with its data-centre suffix "
                            "(Mailchimp › Account › Extras › API keys, e.g. …-us6), or run with --demo")
    source = journey_map.source_settings("mailchimp")
    return MailchimpReader(make_mailchimp_client(key, settings.mailchimp_api_url), salt="",
                           page_size=source.page_size, connections=source.concurrency, policy=source_policy(source))


def _sync_surveys(engine: Engine, journey_map: JourneyMap, as_of: dt.date) -> SourceResult:
    """Load every survey export of the map whole (exports are small; answers upsert by id, so a re-import
    changes nothing). Bad rows are quarantined and named; the good rows of the same file still load."""
    logger = get_run_logger()
    settings = load_settings()
    folder = settings.journey_map_file.resolve().parent
    tz = ZoneInfo(journey_map.business.timezone)
    source = journey_map.source_settings("surveys")
    result = SourceResult("surveys")
    for survey in journey_map.surveys:
        columns = Columns(**survey.columns.model_dump())
        try:
            pages = read_survey_file((folder / survey.file).resolve(), survey.name, columns, tz=tz,
                                     delimiter=survey.delimiter, date_format=survey.date_format)
        except SurveyFileError as exc:
            result.bad_input.append(str(exc))
            continue
        done = sync_stream(engine, replace(SURVEY_RESPONSES, stream=survey.name), _whole_file(pages),
                           survey.name, as_of, source, hasher=hasher_for(settings, survey.name), ledger=False)
        result.bad_input += done.reasons
        logger.info("surveys/%s: %d answers, %d quarantined", survey.name, done.rows, done.quarantined)
        result.streams.append(done)
    if not result.streams:
        result.streams.append(StreamResult("surveys", "responses", *history(as_of, source)))
    return result


def _whole_file(pages: Pages) -> Reader:
    """A reader that ignores the window: an export is read whole."""
    return lambda since, until: pages


# Stripe's optional streams: (stream, what it gives the map). Checkout sessions are the source's reason to be
# read; a key that may not read one of these (a restricted key, 403) or an account without it (404) leaves it out.
STRIPE_OPTIONAL = {"subscriptions": "subscriptions_started / _canceled",
                   "refunds": "refunds", "payment_intents": "payments_succeeded / _failed"}


def stripe_account(settings: Settings, client: stripe.StripeClient, policy: RetryPolicy) -> tuple[str, str]:
    """The account the rows are stored under, and a warning when it had to be guessed: STRIPE_ACCOUNT_ID, else
    what Stripe says (/v1/account, or the account its refusal names), else one derived from the key."""
    if settings.stripe_account_id:
        return settings.stripe_account_id.strip(), ""
    found = stripe_account_id(client, policy=policy)
    if found:
        return found, ""
    key = settings.stripe_api_key.get_secret_value() if settings.stripe_api_key else ""
    guessed = "key_" + hashlib.sha256(key.strip().encode()).hexdigest()[:16]
    return guessed, (f"Stripe did not say which account the key belongs to; its rows are stored under {guessed}. "
                     "Set STRIPE_ACCOUNT_ID (acct_…, Stripe Dashboard › Settings › Account details) so that a new "
                     "key keeps the same account")


def _sync_stripe(engine: Engine, journey_map: JourneyMap, as_of: dt.date,
                 window: tuple[dt.date, dt.date] | None, snapshots: bool = True) -> SourceResult:
    logger = get_run_logger()
    settings = load_settings()
    client = stripe_client(settings)
    source = journey_map.source_settings("stripe")
    policy = source_policy(source)
    account, guessed = stripe_account(settings, client, policy)
    hasher = hasher_for(settings, account)
    result = SourceResult("stripe", account=account, warnings=[guessed] if guessed else [])

    def retry(attempt: int, error: TransientError, wait: float) -> None:
        logger.warning("stripe retry %d in %.0f s: %s", attempt, wait, error)

    def sessions(since: dt.date, until: dt.date) -> Pages:
        return read_checkout_sessions(client, since, until, salt=hasher.salt, policy=policy,
                                      page_size=min(source.page_size, STRIPE_PAGE_SIZE), on_retry=retry)

    optional: list[tuple[RawStream, Reader]] = [
        (STRIPE_REFUNDS, lambda s, u: read_refunds(client, s, u, policy=policy, on_retry=retry)),
        (STRIPE_PAYMENT_INTENTS, lambda s, u: read_payment_intents(client, s, u, policy=policy, on_retry=retry))]
    if snapshots:
        optional.insert(0, (STRIPE_SUBSCRIPTIONS, lambda s, u: read_subscriptions(client, policy=policy,
                                                                                on_retry=retry)))
    with tracked(source.history_days, "sync-stripe-checkout-sessions",
                 f"Loading Stripe checkout sessions ({account})") as progress:
        result.streams.append(sync_stream(engine, STRIPE_CHECKOUTS, sessions, account, as_of, source, hasher=hasher,
                                          on_page=lambda r: progress.step(f"stripe checkout sessions ({r.rows:,})"),
                                          window=window))
        for stream, reader in optional:
            try:
                result.streams.append(sync_stream(engine, stream, reader, account, as_of, source, hasher=hasher,
                                                  window=window))
            except AccessDenied as exc:
                result.skipped[stream.stream] = str(exc)
    if result.skipped:
        result.warnings.append(skipped_warning("Stripe", result.skipped, STRIPE_OPTIONAL))
    for done in result.streams:
        logger.info("stripe/%s: %s..%s, %d rows, %d quarantined", done.stream, done.since, done.until, done.rows,
                    done.quarantined)
    return result


def _sync_demo(engine: Engine, journey_map: JourneyMap, source: str, as_of: dt.date,
               window: tuple[dt.date, dt.date] | None, outage: dt.date | None = None) -> SourceResult:
    logger = get_run_logger()
    settings = journey_map.source_settings(source)
    hasher = EmailHasher(DEMO_PROPERTY_ID)
    result = SourceResult(source)
    for stream, reader in demo_streams(source, outage):
        with tracked(settings.history_days // 7 + 1, f"sync-{source}-{stream.stream}".replace("_", "-"),
                     f"Loading {source} {stream.stream}") as progress:
            done: StreamResult = sync_stream(engine, stream, reader, DEMO_PROPERTY_ID, as_of, settings,
                                             hasher=hasher, window=window, ledger=source != "surveys",
                                             on_page=lambda r: progress.step(f"{r.source} {r.stream} ({r.rows:,})"))
        logger.info("%s/%s: %s..%s, %d rows, %d quarantined", source, stream.stream, done.since, done.until,
                    done.rows, done.quarantined)
        result.streams.append(done)
    return result


def _sync_ga4(engine: Engine, journey_map: JourneyMap, as_of: dt.date,
              window: tuple[dt.date, dt.date] | None) -> SourceResult:
    logger = get_run_logger()
    job = ga4_job(load_settings(), journey_map)
    since, until = window or history(as_of, job.settings)
    days = days_to_read(engine, job, since, until, as_of, backfill=window is not None)
    with tracked(len(days), "sync-ga4", f"Loading GA4 property {job.property_id}") as progress:
        done = sync_days(engine, job, days, as_of,
                         on_day=lambda r: progress.step(f"ga4 {r.days}/{len(days)} days ({r.rows:,} rows)"))
    logger.info("ga4/rows: %s..%s, %d days, %d rows, %d quarantined, %d requests", done.since, done.until,
                done.days, done.rows, done.quarantined, done.requests)
    read = (done.since, done.until) if days else (until, until)
    stream = StreamResult("ga4", "rows", *read, done.rows, done.quarantined, done.days)
    warnings = [f"GA4 property {job.property_id}: {len(done.empty)} day(s) came back empty "
                f"({', '.join(map(str, done.empty[:5]))}{' …' if len(done.empty) > 5 else ''}); they are asked again "
                f"for {job.settings.empty_retry_days} days, then recorded as gaps"] if done.empty else []
    return SourceResult("ga4", [stream], note=done.stopped, warnings=warnings)
