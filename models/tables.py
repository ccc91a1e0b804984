"""SQLAlchemy 2.0 tables: the map, raw landing tables, facts and operational state.

Every table has a natural primary key, so that loading the same window twice
leaves the database exactly as loading it once (the Mailchimp activity table gets
the same from replacing what a read covers). Timestamps are stored as naive
UTC; no column records the wall-clock time of a run.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def table_of(model: type[Base]) -> Table:
    """The Core table of a mapped class (typed, for bulk statements)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


# --- the map, as journey.yaml defines it (rewritten from the file on every run) ---


class JourneyRow(Base):
    __tablename__ = "journeys"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    goal: Mapped[str] = mapped_column(Text)
    value: Mapped[float] = mapped_column(Float)
    position: Mapped[int] = mapped_column(Integer)


class StageRow(Base):
    __tablename__ = "stages"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)


class TouchpointRow(Base):
    __tablename__ = "touchpoints"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    journey_id: Mapped[str] = mapped_column(ForeignKey("journeys.id", ondelete="CASCADE"))
    stage_id: Mapped[str] = mapped_column(ForeignKey("stages.id"))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)  # order inside the journey


class RuleRow(Base):
    __tablename__ = "touchpoint_rules"
    touchpoint_id: Mapped[str] = mapped_column(ForeignKey("touchpoints.id", ondelete="CASCADE"),
                                               primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    stream: Mapped[str] = mapped_column(String(32))  # GA4 report or source stream the rule reads
    match_json: Mapped[str] = mapped_column(Text)
    volume_metric: Mapped[str] = mapped_column(String(64))
    success_metric: Mapped[str | None] = mapped_column(String(64))


class PersonaRow(Base):
    __tablename__ = "personas"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    description: Mapped[str] = mapped_column(Text)
    segment: Mapped[str] = mapped_column(String(300))  # the segment key of touchpoint_daily


# --- raw landing tables (natural keys, idempotent upserts) ---


class Ga4Row(Base):
    __tablename__ = "raw_ga4_rows"
    property_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    report: Mapped[str] = mapped_column(String(16), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    row_key: Mapped[str] = mapped_column(String(40), primary_key=True)  # sha1 of the dimension values
    item: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(200))
    medium: Mapped[str] = mapped_column(String(100))
    device: Mapped[str] = mapped_column(String(32))
    user_type: Mapped[str] = mapped_column(String(16))
    country: Mapped[str] = mapped_column(String(64))
    sessions: Mapped[int] = mapped_column(Integer)
    screen_page_views: Mapped[int] = mapped_column(Integer)
    event_count: Mapped[int] = mapped_column(Integer)
    key_events: Mapped[float] = mapped_column(Float)
    purchase_revenue: Mapped[float] = mapped_column(Float)


class SearchConsoleRow(Base):
    """A row of a Search Console report (`pages`: page × device × country; `queries`: page × query) of a day, as
    last read: a read replaces its days whole, so a row Search Console no longer reports goes."""

    __tablename__ = "raw_search_console_rows"
    site_url: Mapped[str] = mapped_column(String(200), primary_key=True)  # the property
    report: Mapped[str] = mapped_column(String(16), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    row_key: Mapped[str] = mapped_column(String(40), primary_key=True)  # sha1 of the dimension values
    page: Mapped[str] = mapped_column(Text)
    query: Mapped[str] = mapped_column(Text)  # "" in the pages report
    device: Mapped[str] = mapped_column(String(16))  # DESKTOP / MOBILE / TABLET; "" in the queries report
    country: Mapped[str] = mapped_column(String(8))  # ISO 3166-1 alpha-3, lower case; "" in the queries report
    clicks: Mapped[int] = mapped_column(Integer)
    impressions: Mapped[int] = mapped_column(Integer)
    position_sum: Mapped[float] = mapped_column(Float)  # position × impressions: additive, unlike position
    final: Mapped[bool] = mapped_column(Boolean)  # False while Search Console was still counting the day


class MailchimpCampaign(Base):
    __tablename__ = "raw_mailchimp_campaigns"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)  # the Mailchimp account ("demo" for the demo)
    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    list_id: Mapped[str] = mapped_column(String(64))
    workflow_id: Mapped[str] = mapped_column(String(64))
    workflow_title: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)
    send_time: Mapped[dt.datetime | None] = mapped_column(DateTime)
    web_id: Mapped[int] = mapped_column(Integer, server_default="0")  # its report in the web app: summary?id=…


class MailchimpActivity(Base):
    """Per-subscriber actions (the address as a hash only): by far the biggest table. It keeps no unique index
    to check on every insert: the sync replaces what a read covers (the campaigns it read, over its window),
    so a re-read still leaves one row per campaign, subscriber, action and time."""

    __tablename__ = "raw_mailchimp_activity"
    __table_args__ = (Index("ix_raw_mailchimp_activity_scope", "account", "campaign_id", "timestamp"),)
    __mapper_args__ = {  # noqa: RUF012 - SQLAlchemy's own declaration
        "primary_key": ["account", "campaign_id", "email_hash", "action", "timestamp"]}
    account: Mapped[str] = mapped_column(String(64))
    campaign_id: Mapped[str] = mapped_column(String(64))
    email_hash: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    timestamp: Mapped[dt.datetime] = mapped_column(DateTime)


class MailchimpReport(Base):
    """A campaign's cumulative report as read on a day; consecutive days' differences are its daily numbers."""

    __tablename__ = "raw_mailchimp_reports"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    taken_on: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    emails_sent: Mapped[int] = mapped_column(Integer)
    unique_opens: Mapped[int] = mapped_column(Integer)
    unique_clicks: Mapped[int] = mapped_column(Integer)
    hard_bounces: Mapped[int] = mapped_column(Integer)
    unsubscribed: Mapped[int] = mapped_column(Integer)


class MailchimpListGrowth(Base):
    """An audience's month as Mailchimp's growth history reports it."""

    __tablename__ = "raw_mailchimp_list_growth"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    list_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    list_name: Mapped[str] = mapped_column(Text)
    existing: Mapped[int] = mapped_column(Integer)
    imports: Mapped[int] = mapped_column(Integer)
    optins: Mapped[int] = mapped_column(Integer)
    subscribed: Mapped[int] = mapped_column(Integer)
    unsubscribed: Mapped[int] = mapped_column(Integer)
    cleaned: Mapped[int] = mapped_column(Integer)


class StripeCheckoutSession(Base):
    __tablename__ = "raw_stripe_checkout_sessions"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)  # the Stripe account (acct_…, or "demo")
    session_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    created: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    status: Mapped[str] = mapped_column(String(16))
    payment_status: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(16))
    amount_total: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    product_id: Mapped[str] = mapped_column(String(100))
    product_name: Mapped[str] = mapped_column(Text)
    customer_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    payment_intent: Mapped[str] = mapped_column(String(100), server_default="", index=True)


class SurveyResponseRow(Base):
    """One survey answer: score 0–10, where on the map it belongs, and its comment with PII stripped."""

    __tablename__ = "raw_survey_responses"
    survey: Mapped[str] = mapped_column(String(64), primary_key=True)
    response_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    submitted: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    score: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(64))
    touchpoint: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str] = mapped_column(Text)
    persona: Mapped[str] = mapped_column(String(200))


class StripeSubscription(Base):
    """A subscription as last read: its start and (churn) its cancellation."""

    __tablename__ = "raw_stripe_subscriptions"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    created: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    status: Mapped[str] = mapped_column(String(24))
    customer: Mapped[str] = mapped_column(String(100))
    product_id: Mapped[str] = mapped_column(String(100))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    interval: Mapped[str] = mapped_column(String(8))
    canceled_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class StripeRefund(Base):
    """A refund as last read, dated by its creation; its payment intent names the checkout it undoes."""

    __tablename__ = "raw_stripe_refunds"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    refund_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    created: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    status: Mapped[str] = mapped_column(String(24))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    payment_intent: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(64))


class StripePaymentIntent(Base):
    """A payment attempt as last read, dated by its creation; a checkout session names it (`payment_intent`)."""

    __tablename__ = "raw_stripe_payment_intents"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    payment_intent_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    created: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    status: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column(BigInteger)
    amount_received: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    customer: Mapped[str] = mapped_column(String(100))
    failure_code: Mapped[str] = mapped_column(String(64))
    decline_code: Mapped[str] = mapped_column(String(64))
    canceled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Ga4ReportMeta(Base):
    """What GA4 said about a report of a day: row count, (other) roll-up, thresholding, sampling."""

    __tablename__ = "ga4_report_meta"
    property_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    report: Mapped[str] = mapped_column(String(16), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    row_count: Mapped[int] = mapped_column(Integer)
    data_loss_from_other_row: Mapped[bool] = mapped_column(Boolean)
    subject_to_thresholding: Mapped[bool] = mapped_column(Boolean)
    sampled: Mapped[bool] = mapped_column(Boolean)
    samples_read: Mapped[int] = mapped_column(BigInteger)
    sampling_space: Mapped[int] = mapped_column(BigInteger)
    currency_code: Mapped[str] = mapped_column(String(3))
    time_zone: Mapped[str] = mapped_column(String(64))


# --- facts ---


class TouchpointDaily(Base):
    """date × touchpoint × segment. `success` is the touchpoint's own success metric, if it has one."""

    __tablename__ = "touchpoint_daily"
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    touchpoint_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    segment: Mapped[str] = mapped_column(String(300), primary_key=True)
    journey_id: Mapped[str] = mapped_column(String(64), index=True)
    volume: Mapped[float] = mapped_column(Float)
    success: Mapped[float | None] = mapped_column(Float)
    events: Mapped[float] = mapped_column(Float)
    revenue: Mapped[float] = mapped_column(Float)


class TouchpointMetricDaily(Base):
    """Every metric a touchpoint's source offers, per day (whole audience): the rates beside the step's own."""

    __tablename__ = "touchpoint_metrics_daily"
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    touchpoint_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    journey_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)


class UnmappedDaily(Base):
    """Source volume that no touchpoint rule matched, by item (page, event, campaign, product)."""

    __tablename__ = "unmapped_daily"
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    stream: Mapped[str] = mapped_column(String(32), primary_key=True)
    item: Mapped[str] = mapped_column(String(500), primary_key=True)
    volume: Mapped[float] = mapped_column(Float)


# --- operational state ---


class SyncState(Base):
    """A stream's cursor: the last day whose rows are committed. Moves only after the commit."""

    __tablename__ = "sync_state"
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    cursor: Mapped[str] = mapped_column(String(64))


class SyncedDay(Base):
    """The ledger of a stream's days: when each was last read (the run's as-of day), whether it had settled then
    (read `settle_days` or more after it: late data no longer changes it), how many rows it had, and whether it
    came back empty (asked again for `empty_retry_days`, then a confirmed gap). A day that is not settled, or
    whose request plan changed, is read again by the next run."""

    __tablename__ = "synced_days"
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    plan: Mapped[str] = mapped_column(String(64))
    read_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    settled: Mapped[bool] = mapped_column(Boolean)
    rows: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(8))  # ok | empty (asked again) | gap (confirmed: no data)
    empty_since: Mapped[dt.date | None] = mapped_column(Date, nullable=True)  # the first empty read, while empty


class MailchimpSendEstimate(Base):
    """Sends of an automation email before its report snapshots began, rebuilt per hour (UTC) from its recipients'
    subscribe times and the workflow's delays: Mailchimp keeps no send time per subscriber for these emails."""

    __tablename__ = "raw_mailchimp_send_estimates"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour: Mapped[dt.datetime] = mapped_column(DateTime, primary_key=True)
    sends: Mapped[int] = mapped_column(Integer)


class MailchimpSendCheck(Base):
    """How well an automation email's rebuilt sends add up: placed sends against the report's `emails_sent`."""

    __tablename__ = "raw_mailchimp_send_checks"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    built_on: Mapped[dt.date] = mapped_column(Date)  # the run's as-of day
    emails_sent: Mapped[int] = mapped_column(Integer)
    placed: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(16))  # sent-to (the recipients) or members (subscribe times only)


class QualityResultRow(Base):
    """One data-quality check of the run judged on `as_of`: what it read, whether it held, and which rows failed."""

    __tablename__ = "quality_results"
    as_of: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    check_name: Mapped[str] = mapped_column(String(300), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(32))
    table_name: Mapped[str] = mapped_column(String(64))
    since: Mapped[dt.date] = mapped_column(Date)
    until: Mapped[dt.date] = mapped_column(Date)
    severity: Mapped[str] = mapped_column(String(16))
    success: Mapped[bool] = mapped_column(Boolean)
    observed: Mapped[str] = mapped_column(Text)
    unexpected_count: Mapped[int] = mapped_column(BigInteger)
    sample: Mapped[str] = mapped_column(Text)  # JSON: the first failing rows, by the check's key columns
    fix: Mapped[str] = mapped_column(Text)


class Quarantine(Base):
    """A record that could not be parsed or mapped, kept whole with the reason."""

    __tablename__ = "quarantine"
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    record_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    reason: Mapped[str] = mapped_column(String(500), primary_key=True)
    payload: Mapped[str] = mapped_column(Text)
    seen_on: Mapped[dt.date] = mapped_column(Date)


class IncidentRow(Base):
    """One incident per key (journey|step|segment|type) with its current state."""

    __tablename__ = "incidents"
    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    journey: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(64))
    segment: Mapped[str] = mapped_column(String(300))
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    opened_on: Mapped[dt.date] = mapped_column(Date)
    last_seen_on: Mapped[dt.date] = mapped_column(Date)
    resolved_on: Mapped[dt.date | None] = mapped_column(Date)
    good_days: Mapped[int] = mapped_column(Integer)
    flaps: Mapped[int] = mapped_column(Integer)
    digest_only: Mapped[bool] = mapped_column(Boolean)
    snoozed_until: Mapped[dt.date | None] = mapped_column(Date)
    acknowledged: Mapped[bool] = mapped_column(Boolean)
    payload: Mapped[str] = mapped_column(Text)


class IncidentEvent(Base):
    """The history: what happened to an incident on a day, and whether it is news for Slack."""

    __tablename__ = "incident_events"
    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    as_of: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    action: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    message: Mapped[bool] = mapped_column(Boolean)
    payload: Mapped[str] = mapped_column(Text)
    before: Mapped[str | None] = mapped_column(Text)  # the incident's state before this day; None: new that day


class DetectionDay(Base):
    """Which series were candidates on a day (the "2 of the last 3 runs" rule reads it)."""

    __tablename__ = "detection_days"
    as_of: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    key: Mapped[str] = mapped_column(String(400), primary_key=True)


class Annotation(Base):
    """An optimization recorded on the map ("one-page checkout since 2026-05-02")."""

    __tablename__ = "annotations"
    touchpoint_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    note: Mapped[str] = mapped_column(String(500), primary_key=True)
