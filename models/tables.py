"""SQLAlchemy 2.0 tables: the map, facts and operational state (each source's raw landing tables are in its own
package, `models/sources/<source>/tables.py`, on the same `Base`).

Every table has a natural primary key, so that loading the same window twice
leaves the database exactly as loading it once (a table whose stream is replaced
by what a read covers gets the same from the replacement). Timestamps are stored as naive
UTC; no column records the wall-clock time of a run.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
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
    stream: Mapped[str] = mapped_column(String(32))  # the source's stream (or report) the rule reads
    match_json: Mapped[str] = mapped_column(Text)
    volume_metric: Mapped[str] = mapped_column(String(64))
    success_metric: Mapped[str | None] = mapped_column(String(64))


class PersonaRow(Base):
    __tablename__ = "personas"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    description: Mapped[str] = mapped_column(Text)
    segment: Mapped[str] = mapped_column(String(300))  # the segment key of touchpoint_daily


# --- raw landing tables (natural keys, idempotent upserts) ---


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
    __table_args__ = (Index("ix_synced_days_source_day", "source", "day"),)  # a window of every stream and account
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
    seen_on: Mapped[dt.date] = mapped_column(Date, index=True)  # the quality check reads a window of it


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
    as_of: Mapped[dt.date] = mapped_column(Date, primary_key=True, index=True)  # a day's events, of every key
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
