"""GA4's landing tables (natural keys, idempotent upserts)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.tables import Base


class Ga4Row(Base):
    __tablename__ = "raw_ga4_rows"
    property_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    report: Mapped[str] = mapped_column(String(16), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True, index=True)  # a window of every report
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
